"""The Postgres layer: migrations apply once, and every store activity is safe to retry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

from activities.crm import CrmActivities, GetCustomerInput
from activities.store import (
    AuditEvent,
    CreateTicketInput,
    RecordMessageInput,
    RecordStatusInput,
    RecordTriageInput,
    StoreActivities,
    SyncTicketInput,
)
from db import tickets
from db.customers import upsert_customers
from db.migrate import discover, migrate
from domain.models import Citation, Customer, Plan, Sender, Sentiment

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


async def _customer(pool: asyncpg.Pool) -> Customer:
    c = Customer(
        customer_id=f"cus_{uuid.uuid4().hex[:8]}",
        email=f"{uuid.uuid4().hex[:8]}@example.com",
        name="Ada Lovelace",
        plan=Plan.PRO,
        is_vip=True,
        lifetime_value=1200.5,
    )
    await upsert_customers(pool, [c])
    return c


async def test_migrations_apply_once_and_record_their_version(pool: asyncpg.Pool, database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrate(conn) == []  # the pool fixture already migrated
        versions = await conn.fetch("SELECT version, name FROM schema_version ORDER BY version")
    finally:
        await conn.close()
    assert [(r["version"], r["name"]) for r in versions] == [(m.version, m.name) for m in discover()]


def test_badly_named_or_gapped_migrations_are_refused(tmp_path: Path) -> None:
    (tmp_path / "V1__a.sql").write_text("SELECT 1;")
    (tmp_path / "V3__c.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="without gaps"):
        discover(tmp_path)
    (tmp_path / "oops.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="V<n>__<name>"):
        discover(tmp_path)


async def test_a_failed_migration_leaves_nothing_behind(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "V1__ok.sql").write_text("CREATE TABLE mig_probe_a (id int);")
    (tmp_path / "V2__broken.sql").write_text("CREATE TABLE mig_probe_b (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA mig_probe; SET search_path TO mig_probe")
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrate(conn, tmp_path)
        assert await conn.fetchval("SELECT max(version) FROM mig_probe.schema_version") == 1
        assert await conn.fetchval("SELECT to_regclass('mig_probe.mig_probe_b')") is None
    finally:
        await conn.execute("DROP SCHEMA mig_probe CASCADE")
        await conn.close()


async def test_store_activities_are_idempotent(pool: asyncpg.Pool) -> None:
    c = await _customer(pool)
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    store, env = StoreActivities(pool), ActivityEnvironment()
    create = CreateTicketInput(tid, f"ticket-{tid}", c.customer_id, "email", "Invoice", T0)
    triage = RecordTriageInput(tid, "billing", "high", "negative", T0 + timedelta(hours=1), T0 + timedelta(hours=4), T0)
    question = RecordMessageInput(
        tid, 1, Sender.CUSTOMER, c.customer_id, "Where is my invoice?", T0, sentiment=Sentiment.NEUTRAL
    )
    reply_at = T0 + timedelta(seconds=3)
    reply = RecordMessageInput(
        tid,
        2,
        Sender.AGENT,
        "BillingAgent",
        "Here it is.",
        reply_at,
        citations=[Citation(article_id="kb-invoices", title="Invoices")],
        counts_as_response=True,
    )
    status = RecordStatusInput(
        tid, "waiting_customer", reply_at, "status:waiting_customer:2", assigned_agent="BillingAgent"
    )
    for _ in range(2):  # the second round is what a Temporal retry after a crash would do
        await env.run(store.create_ticket, create)
        await env.run(store.record_triage, triage)
        await env.run(store.record_message, question)
        await env.run(store.record_message, reply)
        await env.run(store.record_status, status)

    row = await tickets.get_ticket(pool, tid)
    assert row is not None
    assert (row.status, row.category, row.priority, row.assigned_agent) == (
        "waiting_customer",
        "billing",
        "high",
        "BillingAgent",
    )
    assert row.first_response_at == reply_at
    messages = await tickets.get_messages(pool, tid)
    assert [(m.seq, m.sender) for m in messages] == [(1, "customer"), (2, "agent")]
    assert messages[1].citations[0].article_id == "kb-invoices"
    events = await tickets.get_events(pool, tid)
    assert [e.kind for e in events] == ["created", "triaged", "status:waiting_customer"]

    # a later reply never moves the first-response time
    later = RecordMessageInput(
        tid,
        3,
        Sender.AGENT,
        "BillingAgent",
        "Anything else?",
        T0 + timedelta(hours=1),
        counts_as_response=True,
    )
    await env.run(store.record_message, later)
    row = await tickets.get_ticket(pool, tid)
    assert row is not None and row.first_response_at == reply_at


async def test_a_snapshot_that_lands_late_does_not_roll_the_ticket_back(pool: asyncpg.Pool) -> None:
    """The workflow writes the "opened" snapshot beside the agent's turn; the agent's later snapshot may land
    first. The ticket keeps the newest state, and both audit events are kept."""
    c = await _customer(pool)
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    store, env = StoreActivities(pool), ActivityEnvironment()
    await env.run(store.create_ticket, CreateTicketInput(tid, f"ticket-{tid}", c.customer_id, "chat", "Export", T0))
    opened = tickets.TicketSnapshot(ticket_id=tid, version=2, status="in_progress", category="technical")
    replied = opened.model_copy(update={"version": 3, "status": "waiting_customer", "assigned_agent": "TechnicalAgent"})

    await env.run(store.sync_ticket, SyncTicketInput(replied, AuditEvent("0003:agent_replied", "agent_replied", T0)))
    await env.run(store.sync_ticket, SyncTicketInput(opened, AuditEvent("0002:opened", "opened", T0)))

    row = await tickets.get_ticket(pool, tid)
    assert row is not None
    assert (row.status, row.assigned_agent) == ("waiting_customer", "TechnicalAgent")
    assert {"opened", "agent_replied"} <= {e.kind for e in await tickets.get_events(pool, tid)}


async def test_crm_lookup_finds_customers_and_rejects_unknown_ones(pool: asyncpg.Pool) -> None:
    c = await _customer(pool)
    crm, env = CrmActivities(pool), ActivityEnvironment()
    found = await env.run(crm.get_customer, GetCustomerInput(c.customer_id))
    assert found == c
    from temporalio.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as err:
        await env.run(crm.get_customer, GetCustomerInput("cus_missing"))
    assert err.value.type == "CustomerNotFoundError" and err.value.non_retryable


async def test_a_nul_character_is_dropped_on_write_instead_of_jamming_the_ticket(pool: asyncpg.Pool) -> None:
    """PostgreSQL text and jsonb cannot hold U+0000; a write carrying one used to fail on every retry
    (CharacterNotInRepertoireError), so the ticket's workflow stopped there for good. The pool's
    codecs drop it, whatever path the text came by."""
    c = await _customer(pool)
    tid = f"tkt_{uuid.uuid4().hex[:16]}"
    store, env = StoreActivities(pool), ActivityEnvironment()
    create = CreateTicketInput(tid, f"ticket-{tid}", c.customer_id, "chat", "Sub\x00ject", T0)
    await env.run(store.create_ticket, create)
    message = RecordMessageInput(tid, 1, Sender.CUSTOMER, c.customer_id, "before \x00 end", T0)
    assert await env.run(store.record_message, message) is True
    assert await env.run(store.record_message, message) is False  # a retry is still a no-op
    stored = await tickets.insert_message(
        pool, tid, seq=2, sender="human", author="a\x00na", body="\x00reply\x00", sentiment=None,
        citations=[Citation(article_id="kb-\x00x", title="T\x00")], created_at=T0,
    )  # fmt: skip
    await tickets.insert_event(
        pool, tid, event_key="nul\x00", kind="decided", data={"note\x00": "no\x00te", "list": ["\x00"]}, created_at=T0
    )

    assert stored is True
    row = await tickets.get_ticket(pool, tid)
    assert row is not None and row.subject == "Subject"
    messages = await tickets.get_messages(pool, tid)
    assert [(m.author, m.body) for m in messages] == [(c.customer_id, "before  end"), ("ana", "reply")]
    assert (messages[1].citations[0].article_id, messages[1].citations[0].title) == ("kb-x", "T")
    event = next(e for e in await tickets.get_events(pool, tid) if e.kind == "decided")
    assert (event.event_key, event.data) == ("nul", {"note": "note", "list": [""]})


async def test_the_human_queue_puts_the_nearest_deadline_first_counting_an_owed_first_response(
    pool: asyncpg.Pool,
) -> None:
    """An escalated ticket nobody has answered owes its first response, due long before its resolution.
    The queue used to sort by next reply, else resolution, so an unanswered hand-over whose first response
    was due within the hour sat below answered tickets due hours later, and an agent took those first."""
    c = await _customer(pool)
    product = f"Queue {uuid.uuid4().hex[:8]}"  # this test's tickets only

    async def escalated(
        name: str, *, first_response_due: datetime, resolution_due: datetime, next_reply_due: datetime | None = None,
        answered: bool,
    ) -> str:  # fmt: skip
        tid = f"tkt_{uuid.uuid4().hex[:16]}"
        await tickets.insert_ticket(
            pool, ticket_id=tid, workflow_id=f"ticket-{tid}", customer_id=c.customer_id, channel="chat",
            subject=name, status="new", created_at=T0, product=product,
        )  # fmt: skip
        if answered:
            await tickets.mark_response(pool, tid, T0 + timedelta(minutes=5), "ana")
        await tickets.sync_ticket(
            pool,
            tickets.TicketSnapshot(
                ticket_id=tid, version=1, status="escalated", priority="medium", escalated=True, owner="human",
                first_response_due=first_response_due, next_reply_due=next_reply_due, resolution_due=resolution_due,
            ),
        )  # fmt: skip
        return tid

    h = timedelta(hours=1)
    answered_long_ago = await escalated(
        "answered, due by resolution", first_response_due=T0 - h, resolution_due=T0 + 10 * h, answered=True
    )
    customer_wrote_again = await escalated(
        "answered, next reply owed",
        first_response_due=T0 - 2 * h, next_reply_due=T0 + 4 * h, resolution_due=T0 + 20 * h, answered=True,
    )  # fmt: skip
    unanswered = await escalated(
        "handed over, nobody answered", first_response_due=T0 + h, resolution_due=T0 + 21 * h, answered=False
    )

    queue = await tickets.escalated_queue(pool, product=product)
    assert [t.ticket_id for t in queue] == [unanswered, customer_wrote_again, answered_long_ago]
    assert [t.sla_due for t in queue] == [T0 + h, T0 + 4 * h, T0 + 10 * h]


async def test_the_queue_shows_an_agent_their_own_tickets_or_the_ones_nobody_holds(pool: asyncpg.Pool) -> None:
    c = await _customer(pool)
    product = f"Queue {uuid.uuid4().hex[:8]}"  # this test's tickets only
    held: dict[str | None, str] = {}
    for holder in ("ana", "ben", None):
        tid = f"tkt_{uuid.uuid4().hex[:16]}"
        await tickets.insert_ticket(
            pool, ticket_id=tid, workflow_id=f"ticket-{tid}", customer_id=c.customer_id, channel="chat",
            subject=f"held by {holder}", status="new", created_at=T0, product=product,
        )  # fmt: skip
        snapshot = tickets.TicketSnapshot(
            ticket_id=tid, version=1, status="escalated", priority="high", escalated=True, owner="human",
            assigned_human=holder, resolution_due=T0 + timedelta(hours=8),
        )  # fmt: skip
        await tickets.sync_ticket(pool, snapshot)
        held[holder] = tid

    async def queue(**filters: object) -> set[str]:
        return {t.ticket_id for t in await tickets.escalated_queue(pool, product=product, **filters)}  # type: ignore[arg-type]

    assert await queue() == set(held.values())
    assert await queue(assignee="ana") == {held["ana"]}
    assert await queue(unassigned=True) == {held[None]}
