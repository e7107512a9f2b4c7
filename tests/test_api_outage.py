"""While Temporal is unreachable the API answers 503 with a reason, never a 500, and a client's retry
with the same idempotency key after the outage opens exactly one ticket."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import uvicorn
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from bench.stack import free_port
from db.customers import upsert_customers
from demo.customers import demo_customers
from settings import Settings
from tests.conftest import BIN
from workflows import search_attributes as sa


async def _dev_server(port: int) -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_local(
        port=port, dev_server_existing_path=str(BIN / "temporal"), search_attributes=sa.ALL
    )


async def test_temporal_outage_is_a_503_and_the_retry_opens_one_ticket(pool: asyncpg.Pool, database_url: str) -> None:
    await upsert_customers(pool, demo_customers())
    temporal_port = free_port()
    env = await _dev_server(temporal_port)
    settings = Settings(
        DATABASE_URL=database_url, TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}", API_KEY=None,
        CUSTOMER_TICKETS_PER_HOUR=0, CUSTOMER_MESSAGES_PER_MINUTE=0,  # the demo customers open many tickets
    )  # fmt: skip
    api_port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=api_port, log_level="error"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        await env.shutdown()  # Temporal goes away after the API connected to it
        ticket = {
            "customer_id": "cus_1001", "channel": "email", "subject": "Export fails",
            "body": "The CSV export fails every time.", "idempotency_key": "outage-1",
        }  # fmt: skip
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}", timeout=120) as http:
            t0 = time.monotonic()
            r = await http.post("/tickets", json=ticket)
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "temporal_unavailable"
            assert time.monotonic() - t0 < 60  # the client is told, not left hanging
            health = await http.get("/health")
            assert health.status_code == 503 and health.json()["status"] == "degraded"

            # Temporal is back on the same address: the same request now opens the ticket, once.
            env = await _dev_server(temporal_port)
            for _ in range(120):  # a client retrying the same request, as a client of a 503 should
                r = await http.post("/tickets", json=ticket)
                if r.status_code != 503:
                    break
                await asyncio.sleep(0.5)
            assert r.status_code == 201, r.text
            again = await http.post("/tickets", json=ticket)
            assert again.status_code == 200 and again.json()["ticket_id"] == r.json()["ticket_id"]
    finally:
        server.should_exit = True
        await serving
        await env.shutdown()
