"""The agents' ledger on real Postgres: authority limit, idempotent execution, approvals, bug reports."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.actions import ActionActivities, ExecuteActionInput, PgActionLedger, RejectActionInput
from agents.actions import AUTHORITY_LIMIT_USD, BugReport, MemoryLedger, action_request_id, make_action
from agents.offline.client import OfflineChatCompletionClient
from agents.team import run_turn
from db import actions as ledger_db
from db import invoices as invoices_db
from db.customers import upsert_customers
from db.invoices import upsert_invoices
from db.tickets import insert_ticket
from domain.models import Category, Channel, Customer, KbHit, Plan, Priority, Sender, Sentiment, TranscriptEntry
from domain.refunds import Charge
from domain.turns import TurnRequest

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def new_ticket(pool: asyncpg.Pool) -> tuple[str, Customer]:
    customer = Customer(
        customer_id=f"cus_{uuid.uuid4().hex[:8]}", email=f"{uuid.uuid4().hex[:8]}@example.com", name="Ines Duarte"
    )
    await upsert_customers(pool, [customer])
    ticket_id = f"tkt_{uuid.uuid4().hex[:12]}"
    await insert_ticket(
        pool,
        ticket_id=ticket_id,
        workflow_id=f"ticket-{ticket_id}",
        customer_id=customer.customer_id,
        channel="email",
        subject="Refund",
        status="new",
        created_at=AT,
    )
    return ticket_id, customer


async def count(pool: asyncpg.Pool, ticket_id: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM agent_actions WHERE ticket_id = $1", ticket_id))


def test_request_id_is_stable_and_ignores_reference_spelling() -> None:
    a = action_request_id("tkt_1", "refund", 49, " lum-20931 ")
    assert (
        a
        == action_request_id("tkt_1", "refund", 49.0, "LUM-20931")
        == action_request_id("tkt_1", "refund", 49.001, "LUM-20931")
    )
    assert a != action_request_id("tkt_2", "refund", 49, "LUM-20931")
    assert a != action_request_id("tkt_1", "refund", 49.01, "LUM-20931")
    assert a != action_request_id("tkt_1", "credit", 49, "LUM-20931")
    assert make_action("tkt_1", "refund", 49, "dup", "lum-20931").request_id == a


async def test_within_authority_executes_once_and_the_limit_is_per_ticket(pool: asyncpg.Pool) -> None:
    ticket_id, _ = await new_ticket(pool)
    led = PgActionLedger(pool)
    first = make_action(ticket_id, "refund", 49, "duplicate charge", "LUM-1")
    done = await led.apply_within_authority(ticket_id, first, agent="BillingAgent", limit_usd=AUTHORITY_LIMIT_USD)
    again = await led.apply_within_authority(ticket_id, first, agent="BillingAgent", limit_usd=AUTHORITY_LIMIT_USD)
    assert (done.status, done.replayed, again.status, again.replayed) == ("executed", False, "executed", True)
    assert await count(pool, ticket_id) == 1

    # 49 + 60 > 100: filed for approval, not executed; 49 + 51 == 100 still fits.
    over = make_action(ticket_id, "credit", 60, "goodwill", None)
    held = await led.apply_within_authority(ticket_id, over, agent="BillingAgent", limit_usd=AUTHORITY_LIMIT_USD)
    fits = make_action(ticket_id, "refund", 51, "second charge", "LUM-2")
    ok = await led.apply_within_authority(ticket_id, fits, agent="BillingAgent", limit_usd=AUTHORITY_LIMIT_USD)
    assert (held.status, ok.status, ok.agent_total_usd) == ("pending_approval", "executed", 100.0)
    rows = {r.request_id: r for r in await ledger_db.list_actions(pool, ticket_id)}
    assert rows[over.request_id].status == "pending_approval" and rows[over.request_id].decided_at is None
    assert rows[first.request_id].authority == "agent" and rows[first.request_id].decided_by == "BillingAgent"
    assert rows[first.request_id].amount_usd == Decimal("49.00")


async def test_concurrent_turns_cannot_both_fit_under_the_limit(pool: asyncpg.Pool) -> None:
    ticket_id, _ = await new_ticket(pool)
    led = PgActionLedger(pool)
    a, b = (make_action(ticket_id, "refund", 60, "charge", ref) for ref in ("LUM-A", "LUM-B"))
    results = await asyncio.gather(
        *(led.apply_within_authority(ticket_id, x, agent="BillingAgent", limit_usd=AUTHORITY_LIMIT_USD) for x in (a, b))
    )
    assert sorted(r.status for r in results) == ["executed", "pending_approval"]


async def test_a_reused_request_id_for_another_amount_is_a_conflict(pool: asyncpg.Pool) -> None:
    ticket_id, _ = await new_ticket(pool)
    action = make_action(ticket_id, "refund", 20, "x", "LUM-9")
    await PgActionLedger(pool).apply_within_authority(ticket_id, action, agent="BillingAgent", limit_usd=Decimal(100))
    forged = action.model_copy(update={"amount_usd": 2000.0})
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(
            ActionActivities(pool).execute_action, ExecuteActionInput(ticket_id, forged, "maria@lumora.example")
        )
    assert err.value.type == "ActionConflictError" and err.value.non_retryable


async def test_execute_action_carries_out_an_approval_once(pool: asyncpg.Pool) -> None:
    ticket_id, _ = await new_ticket(pool)
    action = make_action(ticket_id, "refund", 2539.80, "annual renewal meant to be cancelled", "LUM-20931")
    led = PgActionLedger(pool)
    held = await led.apply_within_authority(ticket_id, action, agent="BillingAgent", limit_usd=AUTHORITY_LIMIT_USD)
    assert held.status == "pending_approval"

    activities, env = ActionActivities(pool), ActivityEnvironment()
    first = await env.run(activities.execute_action, ExecuteActionInput(ticket_id, action, "maria@lumora.example"))
    second = await env.run(activities.execute_action, ExecuteActionInput(ticket_id, action, "maria@lumora.example"))
    assert (first.status, first.replayed, second.replayed) == ("executed", False, True)
    assert first.amount_usd == 2539.8 and first.decided_by == "maria@lumora.example"
    assert first.decided_at == second.decided_at  # the second delivery changed nothing
    record = await ledger_db.get_action(pool, action.request_id)
    assert record is not None and (record.status, record.authority) == ("executed", "human")
    assert await count(pool, ticket_id) == 1
    # An approved action can no longer be rejected (nor a rejected one approved).
    with pytest.raises(ApplicationError) as err:
        await env.run(activities.reject_action, RejectActionInput(ticket_id, action, "lee@lumora.example"))
    assert err.value.type == "ActionConflictError"


async def test_reject_then_approve_is_refused_and_unknown_approvals_are_recorded(pool: asyncpg.Pool) -> None:
    ticket_id, _ = await new_ticket(pool)
    activities, env = ActionActivities(pool), ActivityEnvironment()
    action = make_action(ticket_id, "credit", 300, "SLA credit", None)
    rejected = await env.run(
        activities.reject_action, RejectActionInput(ticket_id, action, "lee@lumora.example", "outside the SLA")
    )
    assert rejected.status == "rejected" and not rejected.replayed
    with pytest.raises(ApplicationError):
        await env.run(activities.execute_action, ExecuteActionInput(ticket_id, action, "maria@lumora.example"))
    # The agent proposing the same request again learns it was declined; nothing new is written.
    res = await PgActionLedger(pool).apply_within_authority(
        ticket_id, action, agent="BillingAgent", limit_usd=AUTHORITY_LIMIT_USD
    )
    assert (res.status, res.replayed) == ("rejected", True)
    with pytest.raises(ApplicationError) as err:
        await env.run(activities.execute_action, ExecuteActionInput(ticket_id, action, "  "))
    assert err.value.type == "ActionInputError"


async def test_bug_reports_are_written_once(pool: asyncpg.Pool) -> None:
    ticket_id, _ = await new_ticket(pool)
    report = BugReport(
        report_id="bug_test_" + uuid.uuid4().hex[:8],
        ticket_id=ticket_id,
        title="Export crashes",
        details="The CSV export crashes since the latest release.",
        severity="high",
        reported_by="TechnicalAgent",
    )
    led = PgActionLedger(pool)
    assert await led.record_bug_report(report) is True
    assert await led.record_bug_report(report) is False
    assert [r.title for r in await ledger_db.list_bug_reports(pool, ticket_id)] == ["Export crashes"]


def _request(ticket_id: str, customer: Customer, body: str) -> TurnRequest:
    return TurnRequest(
        ticket_id=ticket_id,
        customer=customer.model_copy(update={"plan": Plan.STARTER}),
        channel=Channel.EMAIL,
        subject="Charged twice",
        category=Category.BILLING,
        priority=Priority.HIGH,
        sentiment=Sentiment.NEGATIVE,
        transcript=[TranscriptEntry(seq=1, sender=Sender.CUSTOMER, author=customer.customer_id, body=body, at=AT)],
    )


def invoice_no() -> str:
    return f"LUM-{uuid.uuid4().int % 10**9:09d}"  # unique in the session's database


async def add_invoice(pool: asyncpg.Pool, customer_id: str, amount: str, days_ago: float, refunded: str = "0") -> str:
    number = invoice_no()
    charged = datetime.now(UTC) - timedelta(days=days_ago)
    await upsert_invoices(
        pool,
        [Charge(number, customer_id, Decimal(amount), charged, description="Pro plan", refunded_usd=Decimal(refunded))],
    )
    return number


async def test_a_retried_turn_refunds_once_on_postgres(pool: asyncpg.Pool) -> None:
    ticket_id, customer = await new_ticket(pool)
    small = await add_invoice(pool, customer.customer_id, "49.00", days_ago=2)
    annual = await add_invoice(pool, customer.customer_id, "980.00", days_ago=2)
    request = _request(
        ticket_id, customer, f"You charged me $49 twice this month. Please refund the duplicate, {small}."
    )
    led = PgActionLedger(pool)

    async def no_kb(query: str, limit: int, category: str | None) -> list[KbHit]:
        return []

    first = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=no_kb, ledger=led)
    retry = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=no_kb, ledger=led)
    assert first.reply == retry.reply and first.executed_actions == retry.executed_actions
    assert [a.amount_usd for a in first.executed_actions] == [49.0]
    assert await count(pool, ticket_id) == 1

    bigger = _request(ticket_id, customer, f"Actually, please refund the whole $980 annual charge on {annual}.")
    outcome = await run_turn(bigger, model_client=OfflineChatCompletionClient(), kb_search=no_kb, ledger=led)
    assert outcome.decision == "needs_approval" and outcome.action is not None
    assert (outcome.action.amount_usd, outcome.action.reference) == (980.0, annual)
    stored = await ledger_db.get_action(pool, outcome.action.request_id)
    assert stored is not None and stored.status == "pending_approval"


async def test_the_refund_policy_holds_on_postgres(pool: asyncpg.Pool) -> None:
    """Through the real ledger: an old charge, someone else's invoice and an invoice refunded already are
    neither executed nor filed for approval; the customer is told which rule applies."""

    async def no_kb(query: str, limit: int, category: str | None) -> list[KbHit]:
        return []

    led = PgActionLedger(pool)
    ticket_id, customer = await new_ticket(pool)
    _, stranger = await new_ticket(pool)
    old = await add_invoice(pool, customer.customer_id, "49.00", days_ago=15)
    theirs = await add_invoice(pool, stranger.customer_id, "49.00", days_ago=1)
    refunded = await add_invoice(pool, customer.customer_id, "49.00", days_ago=1, refunded="49.00")
    for body, said in (
        (f"Please refund the $49 we paid on {old}.", "more than 14 days old"),
        (f"Please refund the $49 on invoice {theirs}.", "isn't on your account"),
        (f"Please refund the $49 on invoice {refunded}.", "already been refunded in full"),
        ("Please refund $400 for all the trouble.", "invoice"),
    ):
        outcome = await run_turn(
            _request(ticket_id, customer, body), model_client=OfflineChatCompletionClient(), kb_search=no_kb, ledger=led
        )
        assert outcome.decision == "reply" and outcome.action is None and outcome.executed_actions == [], body
        assert said in outcome.reply, body
    assert await count(pool, ticket_id) == 0

    # Inside the policy the authority chain applies; what an agent refunded counts against the charge.
    fresh = await add_invoice(pool, customer.customer_id, "60.00", days_ago=3)
    first = await run_turn(
        _request(ticket_id, customer, f"Please refund $60 on {fresh}."),
        model_client=OfflineChatCompletionClient(), kb_search=no_kb, ledger=led,
    )  # fmt: skip
    assert [a.amount_usd for a in first.executed_actions] == [60.0]
    other_ticket, _ = await new_ticket(pool)
    again = await run_turn(
        _request(other_ticket, customer, f"Please refund $30 on {fresh}."),
        model_client=OfflineChatCompletionClient(), kb_search=no_kb, ledger=led,
    )  # fmt: skip
    assert again.executed_actions == [] and again.action is None and await count(pool, other_ticket) == 0
    [charge] = [c for c in await invoices_db.list_charges(pool, customer.customer_id) if c.invoice_id == fresh]
    assert charge.refunded_usd == Decimal("60.00") and charge.remaining_usd == 0


async def test_memory_ledger_matches_the_postgres_rules() -> None:
    led = MemoryLedger()
    a = make_action("t", "refund", 70, "x", "A")
    b = make_action("t", "refund", 40, "y", "B")
    c = make_action("other", "refund", 40, "z", "C")
    assert (await led.apply_within_authority("t", a, agent="BillingAgent", limit_usd=Decimal(100))).status == "executed"
    assert (await led.apply_within_authority("t", b, agent="BillingAgent", limit_usd=Decimal(100))).status == (
        "pending_approval"
    )
    assert (await led.apply_within_authority("other", c, agent="BillingAgent", limit_usd=Decimal(100))).status == (
        "executed"
    )
    assert (await led.apply_within_authority("t", a, agent="BillingAgent", limit_usd=Decimal(100))).replayed
