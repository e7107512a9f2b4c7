"""`supportctl tickets reconcile`: rows left open by workflows an operator terminated, or that Temporal lost.

Real Postgres (a database of its own: the command scans every open row) and the real dev server; the
workflows are started with no worker, which is all a terminate or a describe needs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client

from db import actions, tickets
from db.customers import upsert_customers
from db.pool import create_pool
from domain.models import Customer, Plan
from supportctl.reconcile import ReconcileError, reconcile
from tests.lifecycle_world import ticket_input
from workflows.ticket import TicketWorkflow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def pool(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    """Here, not the run's shared pool: a store of the test's own (reconcile scans every row), with one customer."""
    store = await create_pool(own_database, min_size=1, max_size=4)
    await upsert_customers(store, [Customer(customer_id="cus_1", email="a@example.com", name="Ada", plan=Plan.PRO)])
    yield store
    await store.close()


async def _row(pool: asyncpg.Pool, client: Client | None, status: str, *, escalated: bool = False) -> str:
    """A ticket row in ``status``; with a client, its workflow too (started on a queue no worker polls)."""
    inp = ticket_input("Can I talk to a human?")
    await tickets.insert_ticket(
        pool, ticket_id=inp.ticket_id, workflow_id=f"ticket-{inp.ticket_id}", customer_id="cus_1", channel="chat",
        subject="API trouble", status=status, created_at=datetime.now(UTC),
    )  # fmt: skip
    await pool.execute("UPDATE tickets SET escalated = $2 WHERE ticket_id = $1", inp.ticket_id, escalated)
    if client is not None:
        await client.start_workflow(
            TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=f"idle-{uuid.uuid4().hex[:6]}"
        )
    return inp.ticket_id


async def _status(pool: asyncpg.Pool, ticket_id: str) -> tuple[str, bool]:
    row = await pool.fetchrow("SELECT status, escalated FROM tickets WHERE ticket_id = $1", ticket_id)
    assert row is not None
    return row["status"], row["escalated"]


async def test_terminated_tickets_leave_the_queue_and_unknown_ones_only_on_request(
    pool: asyncpg.Pool, dev_client: Client
) -> None:
    try:
        running = await _row(pool, dev_client, "escalated", escalated=True)
        terminated = await _row(pool, dev_client, "escalated", escalated=True)
        missing = await _row(pool, None, "waiting_customer")
        closed = await _row(pool, None, "closed")
        await pool.execute(  # the agents asked for a $400 refund; then the workflow was terminated
            "INSERT INTO agent_actions (request_id, ticket_id, kind, amount_usd, reason, status, requested_by) "
            "VALUES ($1, $2, 'refund', 400, 'duplicate charge', 'pending_approval', 'BillingAgent')",
            f"act-{terminated}", terminated,
        )  # fmt: skip
        await dev_client.get_workflow_handle(f"ticket-{terminated}").terminate("stuck: opened by mistake")
        assert {t.ticket_id for t in await tickets.escalated_queue(pool)} == {running, terminated}

        # a dry run lists and changes nothing
        report = await reconcile(pool, dev_client)
        assert report.checked == 3 and report.running == 1  # the closed row is not even looked at
        assert {(s.ticket_id, s.temporal_status) for s in report.stray} == {
            (terminated, "terminated"), (missing, "not_found")}  # fmt: skip
        assert await _status(pool, terminated) == ("escalated", True) and report.closed == []

        report = await reconcile(pool, dev_client, apply=True, actor="ops-ana")
        assert report.closed == [terminated]
        assert await _status(pool, terminated) == ("closed", False)
        assert [t.ticket_id for t in await tickets.escalated_queue(pool)] == [running]
        [event] = [e for e in await tickets.get_events(pool, terminated) if e.kind == "workflow_ended"]
        assert event.actor == "ops-ana" and event.data["temporal_status"] == "terminated"
        assert event.data["previous_status"] == "escalated" and event.data["declined_actions"] == 1
        # nobody can approve the refund any more (the workflow that would execute it is gone): declined
        assert (await actions.pending_actions(pool, [terminated])).get(terminated, []) == []
        [refund] = await actions.list_actions(pool, terminated)
        assert (refund.status, refund.decided_by) == ("rejected", "ops-ana") and "terminated" in str(
            refund.decision_note
        )
        assert await _status(pool, missing) == ("waiting_customer", False)  # not without --include-missing
        assert await _status(pool, running) == ("escalated", True) and await _status(pool, closed) == ("closed", False)

        # a second run finds only the unknown one; asked to, it closes it
        report = await reconcile(pool, dev_client, apply=True, include_missing=True)
        assert report.closed == [missing] and await _status(pool, missing) == ("closed", False)
        assert len([e for e in await tickets.get_events(pool, terminated) if e.kind == "workflow_ended"]) == 1
    finally:
        await dev_client.get_workflow_handle(f"ticket-{running}").terminate("test over")


async def test_the_command_lists_then_closes_with_a_json_last_line(
    pool: asyncpg.Pool, own_database: str, dev_client: Client
) -> None:
    ended = await _row(pool, dev_client, "escalated", escalated=True)
    await dev_client.get_workflow_handle(f"ticket-{ended}").terminate("test")
    env = {
        **os.environ,
        "DATABASE_URL": own_database,
        "TEMPORAL_ADDRESS": dev_client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_client.namespace,
    }

    def run(*flags: str) -> list[str]:
        argv = [sys.executable, "-m", "supportctl.main", "tickets", "reconcile", *flags]  # this tree's code
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()

    dry = run()
    assert any(ended in line and "would close" in line for line in dry) and "--apply" in dry[-2]
    assert json.loads(dry[-1]) == {"checked": 1, "running": 0, "ended": 1, "missing": 0, "closed": 0}
    applied = run("--apply")
    assert json.loads(applied[-1])["closed"] == 1 and any(ended in line and "closed" in line for line in applied)
    assert json.loads(run()[-1]) == {"checked": 0, "running": 0, "ended": 0, "missing": 0, "closed": 0}


async def test_a_namespace_temporal_does_not_have_is_an_error_not_every_ticket_missing(
    pool: asyncpg.Pool, dev_client: Client
) -> None:
    # a wrong TEMPORAL_NAMESPACE makes every describe "not found": with --include-missing that would close every ticket
    ticket = await _row(pool, None, "escalated", escalated=True)
    elsewhere = await Client.connect(dev_client.service_client.config.target_host, namespace="no-such-namespace")
    with pytest.raises(ReconcileError, match="no-such-namespace"):
        await reconcile(pool, elsewhere, apply=True, include_missing=True)
    assert await _status(pool, ticket) == ("escalated", True)


def test_temporal_down_or_a_wrong_namespace_is_one_line_and_a_non_zero_exit(
    own_database: str, dev_client: Client
) -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    down = f"127.0.0.1:{free.getsockname()[1]}"  # bound, not listening: nothing answers there
    up = dev_client.service_client.config.target_host
    for address, namespace, says in [(down, "default", "cannot reach Temporal"), (up, "nope", "namespace")]:
        env = {**os.environ, "DATABASE_URL": own_database, "TEMPORAL_ADDRESS": address, "TEMPORAL_NAMESPACE": namespace}
        argv = [sys.executable, "-m", "supportctl.main", "tickets", "reconcile", "--apply", "--include-missing"]
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("error: ") and says in line, line
    free.close()


async def test_a_late_write_of_the_ended_workflow_does_not_reopen_a_closed_row(
    pool: asyncpg.Pool, dev_client: Client
) -> None:
    # snapshots are written concurrently (the "opened" one and the agent's): when the workflow is terminated, an
    # activity attempt still running can land a snapshot several versions ahead after the row was closed
    ticket = await _row(pool, dev_client, "escalated", escalated=True)
    await pool.execute("UPDATE tickets SET state_version = 5 WHERE ticket_id = $1", ticket)
    await dev_client.get_workflow_handle(f"ticket-{ticket}").terminate("stuck")
    assert (await reconcile(pool, dev_client, apply=True)).closed == [ticket]
    late = tickets.TicketSnapshot(ticket_id=ticket, version=7, status="escalated", escalated=True)
    async with pool.acquire() as conn:
        await tickets.sync_ticket(conn, late)
    assert await _status(pool, ticket) == ("closed", False)
