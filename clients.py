"""Connections every process builds once: the Temporal client and the Postgres pool."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from db.pool import create_pool, ensure_database
from settings import Settings
from telemetry import temporal_interceptors


async def connect_temporal(settings: Settings) -> Client:
    # The pydantic converter lets workflows and activities exchange our pydantic models as-is.
    return await Client.connect(
        settings.TEMPORAL_ADDRESS,
        namespace=settings.TEMPORAL_NAMESPACE,
        data_converter=pydantic_data_converter,
        interceptors=temporal_interceptors(),  # tracing, when configured (telemetry/); workers inherit it
    )


log = logging.getLogger("clients")
# Errors that mean "PostgreSQL is not there yet" (down, restarting, recovering), not "misconfigured".
_NOT_YET = (OSError, asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError)


async def open_pool(settings: Settings) -> asyncpg.Pool:
    """Create the database if needed, migrate it, and return the pool.

    A PostgreSQL that is down or still recovering is waited for (up to `DB_CONNECT_WAIT_S`): a worker
    restarted during a database restart must come up once the database does, not crash-loop.
    Wrong credentials or a missing server name fail at once."""
    deadline = time.monotonic() + settings.DB_CONNECT_WAIT_S
    delay = 0.5
    while True:
        try:
            await ensure_database(settings.DATABASE_URL)
            return await create_pool(
                settings.DATABASE_URL, min_size=settings.DB_POOL_MIN, max_size=settings.DB_POOL_MAX
            )
        except _NOT_YET as e:
            if isinstance(e, socket.gaierror) or time.monotonic() + delay > deadline:
                raise  # an unknown host name will not start to exist
            log.warning("PostgreSQL not reachable yet (%s: %s); retrying in %.1fs", type(e).__name__, e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
