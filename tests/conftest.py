"""Shared fixtures: a throwaway Postgres database per test run, and Temporal environments.

Nothing here is mocked: tests run against the machine's PostgreSQL and Temporal's own server binaries
(`temporal-test-server` for time-skipping, the CLI dev server for everything with Updates or real time).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from db.pool import create_pool
from workflows import search_attributes as sa

BIN = Path(sys.executable).parent
ADMIN_DSN = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_db(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


@asynccontextmanager
async def throwaway_database() -> AsyncIterator[str]:
    """A fresh, empty database (migrated on first use by whoever opens a pool), dropped afterwards."""
    name = f"support_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_db(ADMIN_DSN, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """The test run's database, shared by its tests."""
    async with throwaway_database() as url:
        yield url


@pytest.fixture
async def own_database() -> AsyncIterator[str]:
    """A database for one test alone: for commands that scan every row, which the shared one has many of."""
    async with throwaway_database() as url:
        yield url


@pytest.fixture
def cli_database(own_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of the test's own that supportctl uses (its settings come from the environment)."""
    from settings import get_settings

    monkeypatch.setenv("DATABASE_URL", own_database)
    get_settings.cache_clear()
    yield own_database
    get_settings.cache_clear()


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, min_size=1, max_size=10)
    yield p
    await p.close()


async def register_search_attributes(client: Client) -> None:
    """The test server knows no custom search attributes until they are added, like a real cluster."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in sa.ALL},
        )
    )


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def dev_client(dev_env: WorkflowEnvironment) -> Client:
    return dev_env.client


from tests.api_stack import PAYLOAD_KEYS_ENV, stack  # noqa: E402, F401 - stack: the API tests' shared stack

# One payload master key for every process and every Settings() of the run, as every container of a
# deployment shares PAYLOAD_KEYS: the tests share one database, so a customer's data key sealed by one
# test's stack must open in the next one's.
os.environ.update(PAYLOAD_KEYS_ENV)
