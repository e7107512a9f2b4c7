"""Connections every process builds once: the Temporal client and the Postgres pool."""

from __future__ import annotations

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from db.pool import create_pool, ensure_database
from settings import Settings


async def connect_temporal(settings: Settings) -> Client:
    # The pydantic converter lets workflows and activities exchange our pydantic models as-is.
    return await Client.connect(
        settings.TEMPORAL_ADDRESS,
        namespace=settings.TEMPORAL_NAMESPACE,
        data_converter=pydantic_data_converter,
    )


async def open_pool(settings: Settings) -> asyncpg.Pool:
    """Create the database if needed, migrate it, and return the pool."""
    await ensure_database(settings.DATABASE_URL)
    return await create_pool(settings.DATABASE_URL, min_size=settings.DB_POOL_MIN, max_size=settings.DB_POOL_MAX)
