"""The API's test stack: Temporal dev server, worker, Postgres and the API over real HTTP.

Activities are the production ones (offline model, demo knowledge base, trained triage model); only
the process layout differs: worker and API run inside the test process. `stack` is registered in
conftest.py, so every API test module shares one.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from qdrant_client import AsyncQdrantClient
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from agents.offline.client import OfflineChatCompletionClient
from api.main import create_app
from clients import connect_temporal
from codec.keys import new_key
from db.customers import upsert_customers
from db.invoices import upsert_invoices
from demo.customers import demo_customers
from domain.refunds import Charge
from kb.index import KnowledgeBase
from settings import Settings
from supportctl.prepare import demo_articles
from triage.classifier import CategoryClassifier
from triage.datasets import DEMO_EXAMPLES, read_examples
from worker import activities_for, build_worker

# The test run's master key: every process of every test stack on the shared test database uses it (a
# customer's data key made by one stack is sealed by it, and another stack must open it).
PAYLOAD_KEYS = {"test-1": new_key()}
PAYLOAD_KEYS_ENV = {"PAYLOAD_KEYS": json.dumps(PAYLOAD_KEYS)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serve_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Run the API with these settings on a free port; yield an HTTP client for it."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        await serving


class Stack:
    def __init__(
        self,
        http: httpx.AsyncClient,
        client: Client,
        pool: asyncpg.Pool,
        task_queue: str,
        settings: Settings,
        activities: Sequence[Any],
    ) -> None:
        self.http, self.client, self.pool, self.task_queue = http, client, pool, task_queue
        self.settings = settings  # the API's settings; a test's own API may change some
        self.activities = activities  # for a test's own worker on its own task queue

    async def invoice(self, customer_id: str, amount_usd: str, days_ago: float = 5) -> str:
        """A fresh paid invoice of the customer's, charged `days_ago` days ago (inside the refund window by
        default): a refund the agents may act on. Its number is new, so nothing has been refunded on it."""
        number = f"LUM-{uuid.uuid4().int % 10**8:08d}"
        charged = datetime.now(UTC) - timedelta(days=days_ago)
        await upsert_invoices(self.pool, [Charge(number, customer_id, Decimal(amount_usd), charged)])
        return number

    async def wait_ticket(
        self, tid: str, until: Callable[[dict[str, Any]], bool], within: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            r = await self.http.get(f"/tickets/{tid}")
            if r.status_code == 200 and until(r.json()):
                data: dict[str, Any] = r.json()
                return data
            if time.monotonic() > deadline:
                raise AssertionError(f"ticket {tid} never reached the expected state: {r.status_code} {r.text}")
            await asyncio.sleep(0.2)


def agent_replies(n: int) -> Callable[[dict[str, Any]], bool]:
    """n agent replies stored and the ticket settled (the status is written just after the reply)."""
    return lambda t: sum(m["sender"] == "agent" for m in t["messages"]) >= n and t["status"] != "in_progress"


@pytest.fixture(scope="session")
async def stack(dev_env: WorkflowEnvironment, pool: asyncpg.Pool, database_url: str) -> AsyncIterator[Stack]:
    await upsert_customers(pool, demo_customers())
    kb = KnowledgeBase(AsyncQdrantClient(location=":memory:"), "kb_test")
    await kb.ensure_collection()
    await kb.ingest(demo_articles())
    classifier = CategoryClassifier.train(*read_examples(DEMO_EXAMPLES))
    task_queue = f"api-{uuid.uuid4().hex[:8]}"
    activities = activities_for(pool, kb, classifier, OfflineChatCompletionClient())
    settings = Settings(
        DATABASE_URL=database_url,
        TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        TEMPORAL_TASK_QUEUE=task_queue,
        API_KEY=None,
        # The API tests open many tickets for the few demo customers; test_api_limits sets its own.
        CUSTOMER_TICKETS_PER_HOUR=0,
        CUSTOMER_MESSAGES_PER_MINUTE=0,
        # Payloads encrypted as in production: this run's own master key, shared by API, worker and tests.
        PAYLOAD_KEYS={k: SecretStr(v) for k, v in PAYLOAD_KEYS.items()},
    )
    # The worker's (and the tests') client has the codec, like every process of the app.
    client = await connect_temporal(settings, pool)
    worker = build_worker(client, task_queue, activities)
    async with worker, serve_api(settings) as http:
        yield Stack(http, client, pool, task_queue, settings, activities)
