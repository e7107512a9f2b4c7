"""Connections every process builds once: the Temporal client and the Postgres pool."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
from typing import Any

import asyncpg
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from codec.keys import KeyRing, local_keyring
from codec.payload import EncryptionCodec
from db.data_keys import DataKeys
from db.pool import create_pool, ensure_database
from settings import Settings
from telemetry import temporal_interceptors

TICKET_WORKFLOW_PREFIX = "ticket-"  # api/service/ids.workflow_id_for


def payload_keyring(settings: Settings) -> KeyRing:
    """The master keys: PAYLOAD_KEYS, or the local stack's generated key (codec/keys.local_keyring)."""
    if settings.PAYLOAD_KEYS:
        keys = {k: v.get_secret_value() for k, v in settings.PAYLOAD_KEYS.items()}
        return KeyRing.from_base64(keys, settings.PAYLOAD_KEY_ID)
    return local_keyring(settings.DATA_DIR)


def data_converter(settings: Settings, pool: asyncpg.Pool | None = None) -> DataConverter:
    """The pydantic converter (workflows and activities exchange our pydantic models as-is) with, unless
    PAYLOAD_ENCRYPTION is off, the encryption codec, and failures whose message and stack trace are
    payloads too (so the codec encrypts them). `pool`: where the customers' data keys are; without one the
    codec opens a small pool of its own on DATABASE_URL when it first needs a key."""
    if not settings.PAYLOAD_ENCRYPTION:
        return pydantic_data_converter
    keyring = payload_keyring(settings)
    keys = DataKeys(keyring, pool=pool, dsn=settings.DATABASE_URL, cache_s=settings.PAYLOAD_KEY_CACHE_S)
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring, keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def codec_of(client: Client) -> EncryptionCodec | None:
    codec = client.data_converter.payload_codec
    return codec if isinstance(codec, EncryptionCodec) else None


class BindTicketCustomers(Interceptor):
    """Before a ticket's workflow starts, record whose ticket it is (db/data_keys.bind): from its first
    payload on, the codec encrypts it with that customer's data key."""

    def __init__(self, keys: DataKeys) -> None:
        self.keys = keys

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _BindOutbound(next, self.keys)


class _BindOutbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, keys: DataKeys) -> None:
        super().__init__(next)
        self.keys = keys

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        customer = getattr(input.args[0], "customer_id", None) if input.args else None
        if isinstance(customer, str) and input.id.startswith(TICKET_WORKFLOW_PREFIX):
            await self.keys.bind(input.id, customer)
        return await super().start_workflow(input)


async def connect_temporal(settings: Settings, pool: asyncpg.Pool | None = None) -> Client:
    """The client every process uses: the data converter above, and ticket workflows bound to their customer."""
    converter = data_converter(settings, pool)
    codec = converter.payload_codec
    interceptors: list[Interceptor] = []
    if isinstance(codec, EncryptionCodec) and codec.data_keys is not None:
        interceptors.append(BindTicketCustomers(codec.data_keys))
    return await Client.connect(
        settings.TEMPORAL_ADDRESS,
        namespace=settings.TEMPORAL_NAMESPACE,
        data_converter=converter,
        # the codec's customer binding first, then tracing when configured (telemetry/); workers inherit both
        interceptors=[*interceptors, *temporal_interceptors()],
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
