"""The customer outbox: written with each message to the customer, delivered in order, at least once.

Real Postgres throughout; the gateway is an httpx MockTransport (it records what it was sent and can be
told to fail), except in the end-to-end test, where a local HTTP server receives a real ticket's reply.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.outbox import CustomerOutboxDispatcher, backoff_s
from activities.store import CreateTicketInput, RecordMessageInput, StoreActivities
from db.customers import upsert_customers
from db.live import live_samples
from db.pool import create_pool
from domain.models import Customer, Plan, Sender
from supportctl.main import main as supportctl_main

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    """A store of the test's own: the dispatcher takes every due row, so it must see only this test's."""
    p = await create_pool(own_database, min_size=1, max_size=8)
    await upsert_customers(p, [Customer(customer_id="cus_1", email="ada@example.com", name="Ada", plan=Plan.PRO)])
    yield p
    await p.close()


async def _ticket(pool: asyncpg.Pool, senders: list[Sender], *, customer: str = "cus_1") -> str:
    """A ticket whose messages 1..n are written by the store activity, as the workflow writes them."""
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    store, env = StoreActivities(pool), ActivityEnvironment()
    await env.run(store.create_ticket, CreateTicketInput(tid, f"ticket-{tid}", customer, "email", "Export", T0))
    for seq, sender in enumerate(senders, start=1):
        author = customer if sender == Sender.CUSTOMER else "ana"
        body = f"message {seq}"
        await env.run(store.record_message, RecordMessageInput(tid, seq, sender, author, body, T0 + timedelta(seq)))
    return tid


class Gateway:
    """The channel gateway's side: what it received, in order; answers `status` (500 = it is down)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.received: list[httpx.Request] = []
        self.status = 200
        self.delay_s = delay_s

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.received.append(request)
        return httpx.Response(self.status)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def keys(self) -> list[str]:
        return [r.headers["Idempotency-Key"] for r in self.received]


def _dispatcher(pool: asyncpg.Pool, http: httpx.AsyncClient, **kw: Any) -> CustomerOutboxDispatcher:
    return CustomerOutboxDispatcher(pool, "http://gateway.test/messages", http, **kw)


async def _rows(pool: asyncpg.Pool, tid: str) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM customer_outbox WHERE ticket_id = $1 ORDER BY seq", tid)


async def test_a_message_to_the_customer_is_queued_once_and_a_customer_message_not_at_all(
    store: asyncpg.Pool,
) -> None:
    tid = await _ticket(store, [Sender.CUSTOMER, Sender.AGENT, Sender.HUMAN, Sender.SYSTEM])
    env, activities = ActivityEnvironment(), StoreActivities(store)
    retry = RecordMessageInput(tid, 2, Sender.AGENT, "ana", "message 2", T0 + timedelta(2))
    assert await env.run(activities.record_message, retry) is False  # a retried activity: already stored
    rows = await _rows(store, tid)
    assert [(r["seq"], r["sender"]) for r in rows] == [(2, "agent"), (3, "human"), (4, "system")]
    first = rows[0]
    assert (first["channel"], first["customer_id"], first["customer_email"]) == ("email", "cus_1", "ada@example.com")
    assert (first["author"], first["body"], first["created_at"]) == ("ana", "message 2", T0 + timedelta(2))
    assert (first["delivered_at"], first["attempts"], first["last_error"]) == (None, 0, None)


async def test_a_retry_writes_the_outbox_row_a_message_is_missing(store: asyncpg.Pool) -> None:
    """The row is copied from the stored message, so a retry that finds the message stored still
    queues it (as after a deployment in the middle of a ticket's write)."""
    tid = await _ticket(store, [Sender.CUSTOMER, Sender.AGENT])
    await store.execute("DELETE FROM customer_outbox WHERE ticket_id = $1", tid)
    env, activities = ActivityEnvironment(), StoreActivities(store)
    await env.run(activities.record_message, RecordMessageInput(tid, 2, Sender.AGENT, "ana", "message 2", T0))
    assert [r["seq"] for r in await _rows(store, tid)] == [2]


async def test_the_dispatcher_delivers_in_order_with_the_key_and_backs_off_while_the_gateway_fails(
    store: asyncpg.Pool,
) -> None:
    tid = await _ticket(store, [Sender.CUSTOMER, Sender.AGENT, Sender.SYSTEM, Sender.HUMAN])
    gateway = Gateway()
    async with gateway.client() as http:
        d = _dispatcher(store, http, max_backoff_s=300)
        gateway.status = 500
        assert await d.dispatch_once() == 1  # only the head of the ticket: seq 3 must wait for seq 2
        assert gateway.keys() == [f"{tid}:2"]
        head = (await _rows(store, tid))[0]
        assert (head["delivered_at"], head["attempts"], head["last_error"]) == (None, 1, "HTTP 500: ")
        wait = (head["next_attempt_at"] - datetime.now(UTC)).total_seconds()
        assert 0 < wait <= 1.0
        assert await d.dispatch_once() == 0  # backing off: nothing is due, and seq 3 is held back

        gateway.status = 200
        await store.execute("UPDATE customer_outbox SET next_attempt_at = now() WHERE ticket_id = $1", tid)
        while await d.dispatch_once():
            pass
        assert await d.dispatch_once() == 0  # delivered rows are never sent again

    assert gateway.keys() == [f"{tid}:2", f"{tid}:2", f"{tid}:3", f"{tid}:4"]
    last = gateway.received[-1]
    assert last.headers["Idempotency-Key"] == f"{tid}:4"
    assert json.loads(last.content) == {
        "ticket_id": tid, "seq": 4, "channel": "email", "customer_id": "cus_1",
        "customer_email": "ada@example.com", "sender": "human", "author": "ana", "body": "message 4",
        "created_at": (T0 + timedelta(4)).isoformat(), "key": f"{tid}:4",
    }  # fmt: skip
    rows = await _rows(store, tid)
    assert all(r["delivered_at"] is not None and r["last_error"] is None for r in rows)
    assert [r["attempts"] for r in rows] == [2, 1, 1]


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_s(n, 300) for n in (1, 2, 3, 4, 9, 10, 100)] == [1, 2, 4, 8, 256, 300, 300]


async def test_an_unreachable_gateway_is_a_failure_recorded_on_the_row(store: asyncpg.Pool) -> None:
    tid = await _ticket(store, [Sender.AGENT])

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        assert await _dispatcher(store, http).dispatch_once() == 1
    row = (await _rows(store, tid))[0]
    assert row["delivered_at"] is None and row["attempts"] == 1 and "ConnectError" in row["last_error"]


async def test_a_cancelled_delivery_leaves_the_row_to_be_sent_again_with_the_same_key(store: asyncpg.Pool) -> None:
    """A worker that dies mid-POST: its claim rolls back, and the next dispatcher sends the row again."""
    tid = await _ticket(store, [Sender.AGENT])
    slow = Gateway(delay_s=30)
    async with slow.client() as http:
        attempt = asyncio.create_task(_dispatcher(store, http).dispatch_once())
        await asyncio.sleep(0.5)
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
    row = (await _rows(store, tid))[0]
    assert row["delivered_at"] is None and row["attempts"] == 0
    gateway = Gateway()
    async with gateway.client() as http:
        assert await _dispatcher(store, http).dispatch_once() == 1
    assert gateway.keys() == [f"{tid}:1"]


async def test_two_dispatchers_at_once_send_each_message_once_and_in_order(store: asyncpg.Pool) -> None:
    senders = [Sender.CUSTOMER, Sender.AGENT, Sender.AGENT, Sender.CUSTOMER, Sender.HUMAN, Sender.SYSTEM]
    tids = [await _ticket(store, senders) for _ in range(8)]
    gateway = Gateway(delay_s=0.02)  # slow enough that the two overlap
    stop = asyncio.Event()
    async with gateway.client() as http:
        runs = [
            asyncio.create_task(_dispatcher(store, http, batch_size=3, poll_interval_s=0.05).run(stop))
            for _ in range(2)
        ]
        await _until(lambda: len(gateway.received) >= 8 * 4)
        await asyncio.sleep(0.3)  # anything sent twice would arrive now
        stop.set()
        await asyncio.gather(*runs)
    keys = gateway.keys()
    assert sorted(keys) == sorted(f"{t}:{s}" for t in tids for s in (2, 3, 5, 6))
    for t in tids:
        assert [k for k in keys if k.startswith(t)] == [f"{t}:{s}" for s in (2, 3, 5, 6)]
    pending = await store.fetchval("SELECT count(*) FROM customer_outbox WHERE delivered_at IS NULL")
    assert pending == 0


async def _until(cond: Callable[[], bool], within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_message_the_gateway_refuses_for_good_is_set_aside_and_the_next_ones_go_on(
    store: asyncpg.Pool, cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 422 (say, an address the gateway cannot deliver to) would have been retried for ever, holding the
    ticket's later messages back; a 429 is "not now" and is retried."""
    tid = await _ticket(store, [Sender.CUSTOMER, Sender.AGENT, Sender.SYSTEM])
    gateway = Gateway()
    async with gateway.client() as http:
        d = _dispatcher(store, http)
        gateway.status = 429
        assert await d.dispatch_once() == 1
        head = (await _rows(store, tid))[0]
        assert head["refused_at"] is None and head["next_attempt_at"] > datetime.now(UTC)  # backing off

        await store.execute("UPDATE customer_outbox SET next_attempt_at = now() WHERE ticket_id = $1", tid)
        gateway.status = 422
        assert await d.dispatch_once() == 1
        refused = (await _rows(store, tid))[0]
        assert refused["refused_at"] is not None and refused["last_error"] == "HTTP 422: "
        gateway.status = 200
        assert await d.dispatch_once() == 1  # the ticket's next message is not held back by it
        assert await d.dispatch_once() == 0  # and the refused one is not tried again
        assert gateway.keys() == [f"{tid}:2", f"{tid}:2", f"{tid}:3"]

        samples = {(s.name, tuple(s.labels.values())): s.value for s in await live_samples(store, datetime.now(UTC))}
        assert samples[("support_customer_outbox_messages", ("refused",))] == 1
        assert samples[("support_customer_outbox_messages", ("pending",))] == 0

        # the operator fixes the address and puts it back: it is delivered, once
        assert await asyncio.to_thread(supportctl_main, ["outbox", "status"]) == 0
        assert f"{tid} #2 email to ada@example.com: HTTP 422" in capsys.readouterr().out
        assert await asyncio.to_thread(supportctl_main, ["outbox", "retry", "--ticket", tid]) == 0
        assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"retried": 1}
        assert await d.dispatch_once() == 1 and await d.dispatch_once() == 0
    assert gateway.keys() == [f"{tid}:2", f"{tid}:2", f"{tid}:3", f"{tid}:2"]
    assert all(r["delivered_at"] is not None for r in await _rows(store, tid))
