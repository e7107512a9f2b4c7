"""The right to be forgotten: `supportctl customers erase` and `DELETE /customers/{id}`.

Real Postgres (a database of its own for the command) and the real dev server: each ticket's workflow is
started on a queue no worker polls and terminated, so it is closed and its history is there to delete.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from db import tickets
from db.customers import upsert_customers
from db.erasure import OpenTickets, erase_customer, erased_email
from db.pool import create_pool
from domain.models import Customer, Plan
from tests.api_stack import Stack
from tests.lifecycle_world import ticket_input
from workflows.ticket import TicketWorkflow

ROOT = Path(__file__).resolve().parents[1]
SECRET = "my card 4111 is charged twice"  # the customer's words, wherever they are copied

# Every column that may carry the customer's words, read for a set of tickets ($1).
TEXTS = {
    "tickets": "SELECT subject, csat_comment, escalation_reason FROM tickets WHERE ticket_id = ANY($1)",
    "messages": "SELECT author, body FROM messages WHERE ticket_id = ANY($1)",
    "ticket_events": "SELECT data::text FROM ticket_events WHERE ticket_id = ANY($1)",
    "notifications": "SELECT payload::text FROM notifications WHERE ticket_id = ANY($1)",
    "customer_outbox": "SELECT customer_email, body FROM customer_outbox WHERE ticket_id = ANY($1)",
    "agent_actions": "SELECT reason, reference FROM agent_actions WHERE ticket_id = ANY($1)",
    "bug_reports": "SELECT title, details FROM bug_reports WHERE ticket_id = ANY($1)",
    "decision_requests": "SELECT fingerprint FROM decision_requests WHERE ticket_id = ANY($1)",
}


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(own_database, min_size=1, max_size=4)
    await upsert_customers(
        pool,
        [
            Customer(customer_id="cus_1", email="ada@example.com", name="Ada Lovelace", company="Engines",
                     plan=Plan.PRO, lifetime_value=1200),
            Customer(customer_id="cus_2", email="bob@example.com", name="Bob", plan=Plan.FREE),
        ],
    )  # fmt: skip
    yield pool
    await pool.close()


async def _ticket(pool: asyncpg.Pool, client: Client | None, customer: str, status: str = "closed") -> str:
    """A ticket with the customer's words in every table that copies them; its workflow (if a client) terminated."""
    inp = ticket_input(SECRET)
    tid, now = inp.ticket_id, datetime.now(UTC)
    await tickets.insert_ticket(
        pool, ticket_id=tid, workflow_id=f"ticket-{tid}", customer_id=customer, channel="email",
        subject=f"Re: {SECRET}", status=status, created_at=now,
    )  # fmt: skip
    await pool.execute(
        "UPDATE tickets SET csat_comment = $2, escalation_reason = $2 WHERE ticket_id = $1", tid, f"angry: {SECRET}"
    )
    for seq, sender, author, body in [(1, "customer", "ada@example.com", SECRET), (2, "agent", "BillingAgent",
                                       f"You wrote: {SECRET}. Refunded.")]:  # fmt: skip
        await tickets.insert_message(
            pool, tid, seq=seq, sender=sender, author=author, body=body, sentiment=None, citations=[], created_at=now
        )
    await pool.execute(
        "INSERT INTO customer_outbox (ticket_id, seq, channel, customer_id, customer_email, sender, author, body, "
        "created_at) VALUES ($1, 2, 'email', $2, 'ada@example.com', 'agent', 'BillingAgent', $3, now())",
        tid, customer, SECRET,
    )  # fmt: skip
    await tickets.insert_audit_event(
        pool, tid, event_key="e1", kind="escalated", data={"reason": SECRET}, created_at=now, actor="agents"
    )
    await pool.execute(
        "INSERT INTO notifications (notification_key, ticket_id, kind, payload, created_at) "
        "VALUES ($1, $2, 'x', $3, now())",
        f"n-{tid}", tid, {"text": SECRET},
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO agent_actions (request_id, ticket_id, kind, amount_usd, reason, reference, status, authority, "
        "requested_by, decided_at) "
        "VALUES ($1, $2, 'refund', 120.50, $3, $3, 'executed', 'agent', 'BillingAgent', now())",
        f"act-{tid}", tid, SECRET,
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO bug_reports (report_id, ticket_id, title, details, severity, reported_by) "
        "VALUES ($1, $2, $3, $3, 'low', 'TechAgent')",
        f"bug-{tid}", tid, SECRET,
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO decision_requests (ticket_id, request_id, fingerprint, kind, agent_id) "
        "VALUES ($1, 'r1', 'f', 'reply', 'ana')",
        tid,
    )
    if client is not None:
        handle = await client.start_workflow(
            TicketWorkflow.run, inp, id=f"ticket-{tid}", task_queue=f"idle-{uuid.uuid4().hex[:6]}"
        )
        await handle.terminate("test: closed")
    return tid


async def _texts(pool: asyncpg.Pool, ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    return {table: sorted(tuple(r) for r in await pool.fetch(q, ids)) for table, q in TEXTS.items()}


async def _exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as e:
        assert e.status == RPCStatusCode.NOT_FOUND
        return False
    return True


async def _gone(client: Client, workflow_id: str, within: float = 90) -> bool:
    """Temporal deletes a workflow asynchronously after accepting the request (the dev server, ~30 s after): wait
    for describe's NOT_FOUND."""
    deadline = asyncio.get_running_loop().time() + within
    while await _exists(client, workflow_id):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True


def _cli(dsn: str, client: Client, *args: str, address: str | None = None, code: int = 0) -> list[str]:
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "TEMPORAL_ADDRESS": address or client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
    }
    argv = [sys.executable, "-m", "supportctl.main", "customers", "erase", *args]  # this tree's code
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return (done.stdout if code == 0 else done.stderr).strip().splitlines()


async def test_erase_dry_run_then_erase_then_again(store: asyncpg.Pool, own_database: str, dev_client: Client) -> None:
    pool = store
    mine = [await _ticket(pool, dev_client, "cus_1") for _ in range(2)]
    other = await _ticket(pool, dev_client, "cus_2")
    before_mine, before_other = await _texts(pool, mine), await _texts(pool, [other])
    assert SECRET in json.dumps(before_mine, default=str)

    dry = _cli(own_database, dev_client, "cus_1")
    assert json.loads(dry[-1]) == {
        "customer_id": "cus_1", "tickets": 2, "messages": 4, "workflows_deleted": 2, "dry_run": True}  # fmt: skip
    assert "--confirm" in dry[-2] and sum(f"ticket-{t}" in line for t in mine for line in dry) == 2
    assert await _texts(pool, mine) == before_mine and all([await _exists(dev_client, f"ticket-{t}") for t in mine])
    assert await pool.fetchval("SELECT count(*) FROM customer_erasures") == 0

    done = _cli(own_database, dev_client, "cus_1", "--confirm", "--actor", "dpo-eve")
    assert json.loads(done[-1]) == {
        "customer_id": "cus_1", "tickets": 2, "messages": 4, "workflows_deleted": 2, "dry_run": False}  # fmt: skip
    assert all([await _gone(dev_client, f"ticket-{t}") for t in mine])
    after = await _texts(pool, mine)
    assert SECRET not in json.dumps(after, default=str) and "ada@example.com" not in json.dumps(after)
    assert after["tickets"] == [("[erased]", "[erased]", "[erased]")] * 2
    assert after["messages"] == sorted([("[erased]", "[erased]"), ("BillingAgent", "[erased]")] * 2)
    assert after["ticket_events"] == [("{}",)] * 2 and after["notifications"] == [("{}",)] * 2
    assert after["customer_outbox"] == [] and after["decision_requests"] == []
    assert after["agent_actions"] == [("[erased]", "[erased]")] * 2
    assert after["bug_reports"] == [("[erased]", "[erased]")] * 2
    # the ledger stays: ids, kinds, amounts, statuses, dates
    ledger = await pool.fetch(
        "SELECT request_id, kind, amount_usd, status, decided_at IS NOT NULL AS decided FROM agent_actions "
        "WHERE ticket_id = ANY($1) ORDER BY request_id",
        mine,
    )
    assert [(r["kind"], float(r["amount_usd"]), r["status"], r["decided"]) for r in ledger] == [
        ("refund", 120.5, "executed", True)] * 2  # fmt: skip
    assert {r["request_id"] for r in ledger} == {f"act-{t}" for t in mine}
    row = await pool.fetchrow("SELECT * FROM customers WHERE customer_id = 'cus_1'")
    assert row is not None and row["email"] == erased_email("cus_1") and row["email"].startswith("erased-")
    assert (row["name"], row["company"], float(row["lifetime_value"]), row["plan"]) == ("[erased]", None, 0, "pro")
    assert await pool.fetchval("SELECT count(*) FROM tickets WHERE customer_id = 'cus_1'") == 2  # rows and ids kept
    [record] = await pool.fetch("SELECT * FROM customer_erasures")
    assert (record["customer_id"], record["actor"], record["tickets"], record["messages"]) == ("cus_1", "dpo-eve", 2, 4)
    assert record["workflows_deleted"] == 2
    # the other customer is untouched, in the store and in Temporal
    assert await _texts(pool, [other]) == before_other and await _exists(dev_client, f"ticket-{other}")
    bob = await pool.fetchrow("SELECT email, name FROM customers WHERE customer_id = 'cus_2'")
    assert bob is not None and tuple(bob) == ("bob@example.com", "Bob")

    again = _cli(own_database, dev_client, "cus_1", "--confirm")
    assert "nothing left to erase" in again[0]
    assert json.loads(again[-1]) == {
        "customer_id": "cus_1", "tickets": 0, "messages": 0, "workflows_deleted": 0, "dry_run": False}  # fmt: skip
    assert await pool.fetchval("SELECT count(*) FROM customer_erasures") == 1 and await _texts(pool, mine) == after


async def test_an_open_ticket_refuses_the_erasure_and_nothing_changes(
    store: asyncpg.Pool, own_database: str, dev_client: Client
) -> None:
    pool = store
    closed = await _ticket(pool, dev_client, "cus_1")
    waiting = await _ticket(pool, None, "cus_1", status="waiting_customer")
    before = await _texts(pool, [closed, waiting])
    with pytest.raises(OpenTickets) as refused:
        await erase_customer(pool, dev_client, "cus_1", apply=True)
    assert refused.value.ticket_ids == [waiting]
    [line] = _cli(own_database, dev_client, "cus_1", "--confirm", code=1)
    assert line.startswith("error: ") and waiting in line and "not closed" in line
    assert await _texts(pool, [closed, waiting]) == before and await _exists(dev_client, f"ticket-{closed}")
    assert (await pool.fetchval("SELECT name FROM customers WHERE customer_id = 'cus_1'")) == "Ada Lovelace"
    assert await pool.fetchval("SELECT count(*) FROM customer_erasures") == 0


async def test_temporal_down_or_an_unknown_customer_is_one_line_and_nothing_changes(
    store: asyncpg.Pool, own_database: str, dev_client: Client
) -> None:
    pool = store
    tid = await _ticket(pool, None, "cus_1")
    before = await _texts(pool, [tid])
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        down = f"127.0.0.1:{free.getsockname()[1]}"  # bound, not listening: nothing answers there
        [line] = _cli(own_database, dev_client, "cus_1", "--confirm", address=down, code=1)
    assert line.startswith("error: cannot reach Temporal") and "nothing was changed" in line
    [line] = _cli(own_database, dev_client, "nobody", "--confirm", code=1)
    assert line == "error: no customer 'nobody' in the CRM"
    assert await _texts(pool, [tid]) == before


async def test_the_api_erases_refuses_an_open_ticket_and_404s_an_unknown_customer(stack: Stack) -> None:
    cid = f"gdpr-{uuid.uuid4().hex[:8]}"
    assert (await stack.http.put(f"/customers/{cid}", json={"email": f"{cid}@example.com"})).status_code == 201
    tid = await _ticket(stack.pool, stack.client, cid)
    waiting = await _ticket(stack.pool, None, cid, status="waiting_customer")

    r = await stack.http.delete(f"/customers/{cid}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "customer_has_open_tickets" and waiting in r.text
    assert await _exists(stack.client, f"ticket-{tid}")

    await stack.pool.execute("UPDATE tickets SET status = 'closed' WHERE ticket_id = $1", waiting)
    r = await stack.http.delete(f"/customers/{cid}")
    assert r.status_code == 200, r.text
    assert r.json() == {"customer_id": cid, "tickets": 2, "messages": 4, "workflows_deleted": 1, "dry_run": False}
    # (that the workflow goes is waited for in the command's test: the dev server takes ~30 s to delete it)
    assert SECRET not in json.dumps(await _texts(stack.pool, [tid, waiting]), default=str)
    got = (await stack.http.get(f"/customers/{cid}")).json()
    assert (got["email"], got["name"], got["ticket_count"]) == (erased_email(cid), "[erased]", 2)
    actor = await stack.pool.fetchval("SELECT actor FROM customer_erasures WHERE customer_id = $1", cid)
    assert actor == "api"

    again = await stack.http.delete(f"/customers/{cid}")
    assert again.status_code == 200 and again.json()["tickets"] == again.json()["messages"] == 0, again.text
    r = await stack.http.delete("/customers/nobody-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "customer_not_found"
