"""Internal notes, tags and re-categorising (decision kinds `note`, `tag`, `recategorise`) on the
time-skipping server, with the real ticket store: a note is written to the audit trail and nowhere the
customer reads (no message, no `customer_outbox` row, days later too); tags and the category reach the
ticket's state and its row; the agents' next turn comes from the new category's specialist.

The rest of the world (CRM, triage, the agents' turn) is the stub world of tests/lifecycle_world.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.store import StoreActivities
from channels.webhooks.store import event_type
from db import tickets
from db.customers import upsert_customers
from db.pool import create_pool
from domain.lifecycle import HandBack, HumanDecision, InternalNote, Recategorise, Retag
from domain.models import Category, Sender, Status
from tests.lifecycle_world import World, customer, ticket_input
from workflows.ticket import CustomerMessage, TicketResult, TicketState, TicketWorkflow

Handle = WorkflowHandle[TicketWorkflow, TicketResult]
NOTE = "Customer is on the legacy invoice plan; finance (Jo) confirms the credit. Do not promise a date."


@pytest.fixture
async def store(own_database: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(own_database, min_size=1, max_size=4)
    await upsert_customers(p, [customer()])
    yield p
    await p.close()


def _worker(env: WorkflowEnvironment, tq: str, world: World, store: asyncpg.Pool) -> Worker:
    """The stub world, but the ticket store's activities are the real ones on Postgres."""
    real = StoreActivities(store)
    stubs = [
        a for a in world.activities()
        if a.__name__ not in {"create_ticket", "record_triage", "record_message", "sync_ticket"}
    ]  # fmt: skip
    return Worker(
        env.client, task_queue=tq, workflows=[TicketWorkflow],
        activities=[*stubs, real.create_ticket, real.record_triage, real.record_message, real.sync_ticket],
    )  # fmt: skip


async def _state(h: Handle) -> TicketState:
    return await h.query(TicketWorkflow.state)


async def _refused(h: Handle, d: HumanDecision) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(TicketWorkflow.decide, d)
    assert isinstance(err.value.cause, ApplicationError)
    return str(err.value.cause.type)


def _rid() -> str:
    return uuid.uuid4().hex


async def test_a_note_never_reaches_the_customer_and_tags_and_category_are_kept(
    time_env: WorkflowEnvironment, task_queue: str, store: asyncpg.Pool
) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world, store):
        inp = ticket_input("Can I talk to a human? My invoice is wrong")
        h = await time_env.client.start_workflow(
            TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=task_queue
        )
        await time_env.sleep(timedelta(seconds=5))
        before = await _state(h)
        assert before.status == Status.ESCALATED and before.category == Category.BILLING
        seen = before.transcript[-1].seq

        note = InternalNote(request_id=_rid(), agent_id="ana", body=NOTE, seen_seq=seen, expect_assignee="")
        result = await h.execute_update(TicketWorkflow.decide, note)
        assert result.accepted and result.status == "escalated"
        assert await h.execute_update(TicketWorkflow.decide, note) == result  # a retry: the same answer, once
        tag = Retag(request_id=_rid(), agent_id="ana", add=["Billing", "legacy-plan"], seen_seq=seen)
        assert (await h.execute_update(TicketWorkflow.decide, tag)).message == "tags: billing, legacy-plan"
        assert await _refused(h, tag.model_copy(update={"request_id": _rid()})) == "StaleRequestError"
        recat = Recategorise(request_id=_rid(), agent_id="ana", category=Category.ACCOUNT, reason="a login problem")
        await h.execute_update(TicketWorkflow.decide, recat)
        assert await _refused(h, recat.model_copy(update={"request_id": _rid()})) == "StaleRequestError"

        # hours pass (SLA warnings and breaches fire): still nothing of the note anywhere the customer reads
        await time_env.sleep(timedelta(hours=6))
        state = await _state(h)
        # the record changed, the conversation did not: same owner, status and transcript
        assert state.tags == ["billing", "legacy-plan"] and state.category == Category.ACCOUNT
        assert state.status == Status.ESCALATED and state.owner == "human" and state.transcript == before.transcript
        assert all(NOTE not in m.body for m in state.transcript)
        outbox = await store.fetch("SELECT seq, body FROM customer_outbox WHERE ticket_id = $1", inp.ticket_id)
        messages = await tickets.get_messages(store, inp.ticket_id)
        assert [r["seq"] for r in outbox] == [m.seq for m in messages if m.sender != Sender.CUSTOMER]
        assert all(NOTE not in r["body"] for r in outbox) and all(NOTE not in m.body for m in messages)
        # the note is in the audit trail, with who wrote it, and is not a webhook event type
        events = await tickets.get_events(store, inp.ticket_id)
        notes = [e for e in events if e.kind == "note"]
        assert [(e.actor, e.data["note"], e.data["internal"]) for e in notes] == [("ana", NOTE, True)]
        assert event_type("note", notes[0].data) is None
        tagged = next(e for e in events if e.kind == "tagged")
        assert tagged.data["added"] == ["billing", "legacy-plan"] and tagged.actor == "ana"
        recategorised = next(e for e in events if e.kind == "recategorised")
        assert (recategorised.data["from"], recategorised.data["to"]) == ("billing", "account")
        row = await tickets.get_ticket(store, inp.ticket_id)
        assert row is not None and row.tags == ["billing", "legacy-plan"] and row.category == "account"
        assert [t.ticket_id for t in await tickets.list_tickets(store, tag="legacy-plan")] == [inp.ticket_id]
        assert await tickets.list_tickets(store, tag="legacy-plan", category="billing") == []

        # handed back, the agents answer the customer's next message as the new category's specialist
        await h.execute_update(TicketWorkflow.decide, HandBack(request_id=_rid(), agent_id="ana"))
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Still can't log in"))
        await time_env.sleep(timedelta(seconds=5))
        assert world.turns[-1].category == Category.ACCOUNT
        # a note on a stale screen is refused like any decision
        stale = InternalNote(request_id=_rid(), agent_id="ana", body="old news", seen_seq=seen)
        assert await _refused(h, stale) == "TicketChangedError"
        await h.terminate("done")


async def test_tags_are_removed_and_limited_and_a_resolved_ticket_takes_notes(
    time_env: WorkflowEnvironment, task_queue: str, store: asyncpg.Pool
) -> None:
    world = World(customer())
    async with _worker(time_env, task_queue, world, store):
        inp = ticket_input("My webhook fails")
        h = await time_env.client.start_workflow(
            TicketWorkflow.run, inp, id=f"ticket-{inp.ticket_id}", task_queue=task_queue
        )
        await h.signal(TicketWorkflow.add_customer_message, CustomerMessage("m-2", "Yes that fixed it"))
        await time_env.sleep(timedelta(minutes=5))
        assert (await _state(h)).status == Status.RESOLVED  # the survey is out
        turns = (await _state(h)).agent_turns
        many = Retag(request_id=_rid(), agent_id="ana", add=[f"t{i}" for i in range(20)])
        await h.execute_update(TicketWorkflow.decide, many)
        one_more = Retag(request_id=_rid(), agent_id="ana", add=["t20"])
        assert await _refused(h, one_more) == "InvalidDecisionError"  # 20 at most
        swap = Retag(request_id=_rid(), agent_id="ana", add=["t20"], remove=["t0", "t1"])
        assert (await h.execute_update(TicketWorkflow.decide, swap)).accepted
        await h.execute_update(
            TicketWorkflow.decide, InternalNote(request_id=_rid(), agent_id="ana", body="Resolved by the docs fix")
        )
        state = await _state(h)
        assert len(state.tags) == 19 and "t20" in state.tags and "t0" not in state.tags
        assert state.status == Status.RESOLVED and state.agent_turns == turns  # the convergence counter is kept
        blank = InternalNote(request_id=_rid(), agent_id="ana", body="   ")
        assert await _refused(h, blank) == "InvalidDecisionError"
        row = await tickets.get_ticket(store, inp.ticket_id)
        assert row is not None and row.tags == state.tags
        await h.terminate("done")
