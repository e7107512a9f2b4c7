"""Many tickets through the whole team, offline, with asserted outcomes.

- The demo's 30 Lumora tickets (and their follow-ups), against the demo help center indexed in an
  in-memory Qdrant (BM25), with the workflow's own escalation rules deciding the human handoffs.
- 25 action scenarios drawn from tau-bench's retail and airline tasks (read at test time from
  ../shared/datasets; skipped when absent): the customer asks for what the task's gold actions do
  (cancel or return an order, cancel a reservation, a delay compensation, a human agent) and the
  refund, credit or escalation is checked against the amount computed from tau-bench's database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import AsyncQdrantClient

from agents.actions import AUTHORITY_LIMIT_USD, MemoryLedger, make_action
from agents.offline.client import OfflineChatCompletionClient
from agents.team import run_turn
from demo.customers import demo_customers
from domain.models import Category, Channel, Customer, KbHit, Plan, Sender, Sentiment, TranscriptEntry
from domain.policy import effective_priority, escalation_reason, priority_from_text
from domain.refunds import Charge
from domain.turns import TurnOutcome, TurnRequest
from kb import KnowledgeBase
from kb.precedents import Precedents
from supportctl.prepare import demo_articles

ROOT = Path(__file__).resolve().parents[1]
TAU = Path("/work/shared/datasets/tau_bench")
AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
MOOD = {
    "angry": Sentiment.VERY_NEGATIVE,
    "frustrated": Sentiment.NEGATIVE,
    "calm": Sentiment.NEUTRAL,
    "happy": Sentiment.POSITIVE,
}
T, B, P, K, E = "TechnicalAgent", "BillingAgent", "ProductAgent", "KnowledgeAgent", "EscalationManager"
SEARCHED = ["search_knowledge_base", "lookup_customer"]

# key: (agent, decision, escalation reason or the main article the reply must cite), and the same for
# the follow-up message when the ticket has one and was not handed to a human.
DEMO_EXPECTED: dict[str, tuple[tuple[str, str, str], tuple[str, str, str] | None]] = {
    "demo-001": ((T, "reply", "kb-rate-limits"), (T, "reply", "kb-rate-limits")),
    "demo-002": ((E, "escalate", "VIP or enterprise customer unhappy"), None),
    "demo-003": ((E, "escalate", "legal or security concern"), None),
    "demo-004": ((E, "escalate", "VIP or enterprise customer unhappy"), None),
    "demo-005": ((E, "escalate", "very negative sentiment"), None),
    "demo-006": ((E, "escalate", "very negative sentiment"), None),
    "demo-007": ((E, "escalate", "customer asked for a human"), None),
    "demo-008": ((T, "reply", "kb-data-export-failures"), None),
    "demo-009": ((T, "reply", "kb-password-reset"), None),
    "demo-010": ((B, "reply", "kb-vat-tax-ids"), (B, "reply", "kb-vat-tax-ids")),
    "demo-011": ((P, "reply", "kb-funnels"), None),
    "demo-012": ((K, "reply", "kb-security-compliance"), None),
    "demo-013": ((P, "reply", "kb-dashboard-sharing"), None),
    "demo-014": ((B, "reply", "kb-invoices"), None),
    "demo-015": ((E, "escalate", "VIP or enterprise customer unhappy"), None),
    "demo-016": ((K, "reply", "kb-security-compliance"), None),
    "demo-017": ((P, "reply", "kb-funnels"), None),
    "demo-018": ((T, "reply", "kb-sdk-javascript"), None),
    "demo-019": ((P, "reply", "kb-alerts"), None),
    # The follow-up asks for a clean-up of the duplicates: the deduplication job is in kb-duplicate-events.
    "demo-020": ((T, "reply", "kb-integrations-slack-segment"), (T, "reply", "kb-duplicate-events")),
    "demo-021": ((T, "reply", "kb-report-timezones"), None),
    "demo-022": ((T, "reply", "kb-account-deletion-gdpr"), None),
    "demo-023": ((B, "reply", "kb-upgrades-downgrades"), None),
    "demo-024": ((T, "reply", "kb-sdk-python"), (T, "reply", "kb-sdk-python")),
    "demo-025": ((P, "reply", "kb-data-retention"), None),
    "demo-026": ((T, "reply", "kb-webhook-signatures"), None),
    "demo-027": ((T, "reply", "kb-user-roles-invitations"), None),
    "demo-028": ((B, "reply", "kb-failed-payments"), None),
    "demo-029": ((K, "reply", "kb-contact-support-slas"), None),
    "demo-030": ((B, "reply", "kb-cancel-subscription"), None),
}


@pytest.fixture(scope="module")
async def help_center() -> AsyncIterator[KnowledgeBase]:
    # As the worker searches: hybrid, with the shipped precedents' vote (the composer trusts its first hit).
    kb = KnowledgeBase(AsyncQdrantClient(location=":memory:"), "demo_eval", precedents=Precedents.load())
    await kb.ensure_collection()
    await kb.ingest(demo_articles())
    yield kb


def searcher(kb: KnowledgeBase) -> Any:
    async def search(query: str, limit: int, product: str | None) -> list[KbHit]:
        return await kb.search(query, limit=limit, product=product, include_shared=True)

    return search


@dataclass
class Ticket:
    key: str
    customer: Customer
    channel: Channel
    subject: str
    category: Category
    sentiment: Sentiment
    messages: list[str]


def request_for(ticket: Ticket, transcript: list[TranscriptEntry]) -> TurnRequest:
    latest = transcript[-1].body
    priority = effective_priority(priority_from_text(f"{ticket.subject}\n\n{latest}")[0], ticket.customer)
    return TurnRequest(
        ticket_id=ticket.key,
        customer=ticket.customer,
        channel=ticket.channel,
        subject=ticket.subject,
        category=ticket.category,
        priority=priority,
        sentiment=ticket.sentiment,
        transcript=transcript,
        # The workflow applies the brief's escalation rules before every agent turn; so do we.
        handoff_reason=escalation_reason(f"{ticket.subject}\n\n{latest}", ticket.sentiment, ticket.customer),
    )


async def converse(ticket: Ticket, kb: Any, ledger: MemoryLedger) -> list[TurnOutcome]:
    """Every customer message in turn, each answered by one agent turn, until a human takes over."""
    transcript: list[TranscriptEntry] = []
    outcomes: list[TurnOutcome] = []
    for body in ticket.messages:
        seq = len(transcript) + 1
        transcript.append(
            TranscriptEntry(seq=seq, sender=Sender.CUSTOMER, author=ticket.customer.customer_id, body=body, at=AT)
        )
        outcome = await run_turn(
            request_for(ticket, transcript), model_client=OfflineChatCompletionClient(), kb_search=kb, ledger=ledger
        )
        outcomes.append(outcome)
        transcript.append(
            TranscriptEntry(seq=seq + 1, sender=Sender.AGENT, author=outcome.agent, body=outcome.reply, at=AT)
        )
        if outcome.decision in ("escalate", "needs_approval", "resolved"):
            break
    return outcomes


def demo_tickets() -> list[Ticket]:
    customers = {c.customer_id: c for c in demo_customers()}
    tickets = []
    for line in (ROOT / "demo" / "tickets.jsonl").read_text().splitlines():
        t = json.loads(line)
        tickets.append(
            Ticket(
                key=t["key"],
                customer=customers[t["customer_id"]],
                channel=Channel(t["channel"]),
                subject=t["subject"],
                category=Category(t["expected_category"]),
                sentiment=MOOD[t["mood"]],
                messages=[t["body"], *([t["follow_up"]] if t.get("follow_up") else [])],
            )
        )
    return tickets


def check(outcome: TurnOutcome, expected: tuple[str, str, str], key: str) -> None:
    agent, decision, detail = expected
    assert (outcome.agent, outcome.decision) == (agent, decision), key
    assert outcome.reply.startswith(f"Hi {outcome.reply.split()[1]}") and outcome.action is None, key
    if decision == "escalate":
        assert outcome.escalation_reason == detail and outcome.tool_calls == [] and outcome.citations == [], key
        assert "human specialist" in outcome.reply, key
    else:
        assert outcome.tool_calls == SEARCHED and outcome.handoffs == [], key
        assert detail in [c.article_id for c in outcome.citations], key
        assert "Helpful articles:" in outcome.reply and f"articles/{detail})" in outcome.reply, key


async def test_the_30_demo_tickets(help_center: KnowledgeBase) -> None:
    tickets = demo_tickets()
    assert [t.key for t in tickets] == list(DEMO_EXPECTED)
    seen_agents: set[str] = set()
    for ticket in tickets:
        outcomes = await converse(ticket, searcher(help_center), MemoryLedger())
        first, follow_up = DEMO_EXPECTED[ticket.key]
        check(outcomes[0], first, ticket.key)
        if follow_up is None:
            assert len(outcomes) == 1 or first[1] != "escalate", ticket.key
        else:
            assert len(outcomes) == 2, ticket.key
            check(outcomes[1], follow_up, f"{ticket.key} follow-up")
        seen_agents |= {o.agent for o in outcomes}
    assert seen_agents == {T, B, P, K, E}


# ---- tau-bench scenarios -----------------------------------------------------------------------


@dataclass
class Scenario:
    ticket: Ticket
    kind: str  # "refund" | "credit" | "human"
    amount: float = 0.0
    reference: str | None = None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _customer(user_id: str, user: dict[str, Any]) -> Customer:
    name = f"{user['name']['first_name']} {user['name']['last_name']}"
    return Customer(customer_id=user_id, email=user["email"], name=name, plan=Plan.PRO)


def _ticket(key: str, customer: Customer, subject: str, body: str, category: Category) -> Ticket:
    return Ticket(key, customer, Channel.CHAT, subject, category, Sentiment.NEUTRAL, [body])


def tau_scenarios() -> list[Scenario]:
    retail, airline = TAU / "retail", TAU / "airline"
    orders = json.loads((retail / "db" / "orders.json").read_text())
    users = json.loads((retail / "db" / "users.json").read_text())
    reservations = json.loads((airline / "db" / "reservations.json").read_text())
    flyers = json.loads((airline / "db" / "users.json").read_text())
    out: list[Scenario] = []
    tasks = _jsonl(retail / "tasks_dev.jsonl") + [
        t for t in _jsonl(retail / "tasks_test.jsonl") if t["task_index"] in (5, 19, 69)
    ]
    for task in tasks:
        names = [a["name"] for a in task["actions"]]
        customer = _customer(task["user_id"], users[task["user_id"]])
        key = f"tau-retail-{task['split']}-{task['task_index']}"
        for action in task["actions"]:
            args = action["kwargs"]
            if action["name"] == "cancel_pending_order" and names.count(action["name"]) == 1:
                order = orders[args["order_id"]]
                paid = sum(p["amount"] for p in order["payment_history"] if p["transaction_type"] == "payment")
                body = (
                    f"Hi, this is {customer.name}. Please cancel my order {args['order_id']} ({args['reason']}) "
                    f"and refund the ${paid:,.2f} I paid."
                )
                out.append(
                    Scenario(
                        _ticket(key, customer, "Cancel and refund", body, Category.BILLING),
                        "refund",
                        round(paid, 2),
                        args["order_id"],
                    )
                )
            elif action["name"] == "return_delivered_order_items" and names.count(action["name"]) == 1:
                order = orders[args["order_id"]]
                items = [i for i in order["items"] if i["item_id"] in args["item_ids"]]
                total = round(sum(i["price"] for i in items), 2)
                what = ", ".join(i["name"] for i in items)
                body = (
                    f"Hi, this is {customer.name}. I'd like to return the {what} from order {args['order_id']} "
                    f"and get a refund of ${total:,.2f}."
                )
                out.append(
                    Scenario(
                        _ticket(key, customer, "Return for refund", body, Category.BILLING),
                        "refund",
                        total,
                        args["order_id"],
                    )
                )
    for task in _jsonl(airline / "tasks_test.jsonl"):
        key = f"tau-airline-{task['task_index']}"
        for action in task["actions"]:
            args = action["kwargs"]
            if action["name"] == "send_certificate":
                customer = _customer(args["user_id"], flyers[args["user_id"]])
                body = (
                    f"Hi, {customer.name} here. My last flight was delayed for hours. I'd like the ${args['amount']} "
                    "compensation certificate for the delay."
                )
                out.append(
                    Scenario(
                        _ticket(key, customer, "Delay compensation", body, Category.BILLING),
                        "credit",
                        float(args["amount"]),
                    )
                )
            elif action["name"] == "cancel_reservation" and task["task_index"] in (1, 10, 31):
                booking = reservations[args["reservation_id"]]
                customer = _customer(booking["user_id"], flyers[booking["user_id"]])
                paid = float(sum(p["amount"] for p in booking["payment_history"]))
                body = (
                    f"Hi, {customer.name} here. Please cancel reservation {args['reservation_id']} "
                    f"and refund the ${paid:,.2f} I paid."
                )
                out.append(
                    Scenario(
                        _ticket(key, customer, "Cancel my trip", body, Category.BILLING),
                        "refund",
                        paid,
                        args["reservation_id"],
                    )
                )
            elif action["name"] == "transfer_to_human_agents":
                customer = _customer(task["user_id"], flyers[task["user_id"]])
                body = f"Hi, {customer.name} here. {args['summary']} Please let me talk to a human agent."
                out.append(Scenario(_ticket(key, customer, "Need a person", body, Category.GENERAL), "human"))
    return out


@pytest.mark.skipif(not TAU.is_dir(), reason="tau-bench data not present in ../shared/datasets")
async def test_tau_bench_action_scenarios(help_center: KnowledgeBase) -> None:
    scenarios = tau_scenarios()
    assert len(scenarios) >= 25
    counts = {"executed": 0, "needs_approval": 0, "escalate": 0}
    for s in scenarios:
        ledger = MemoryLedger()
        if s.reference is not None:  # the order or reservation is a charge on the customer's account, paid today
            paid = Decimal(str(s.amount)).quantize(Decimal("0.01"))
            ledger.add_invoices(Charge(s.reference, s.ticket.customer.customer_id, paid, datetime.now(UTC)))
        [outcome] = await converse(s.ticket, searcher(help_center), ledger)
        key = s.ticket.key
        if s.kind == "human":
            assert (outcome.agent, outcome.decision) == (E, "escalate"), key
            assert outcome.escalation_reason == "customer asked for a human" and outcome.tool_calls == [], key
            counts["escalate"] += 1
            continue
        tool = "request_refund" if s.kind == "refund" else "grant_credit"
        assert outcome.agent == B and outcome.tool_calls == [*SEARCHED, tool], key
        expected = make_action(key, s.kind, s.amount, "", s.reference)  # type: ignore[arg-type]
        if s.amount <= AUTHORITY_LIMIT_USD:
            assert outcome.decision == "reply" and outcome.action is None, key
            [done] = outcome.executed_actions
            assert (done.request_id, done.amount_usd, done.reference) == (expected.request_id, s.amount, s.reference), (
                key
            )
            counts["executed"] += 1
        else:
            assert outcome.decision == "needs_approval" and outcome.executed_actions == [], key
            assert outcome.action is not None and outcome.action.request_id == expected.request_id, key
            assert (outcome.action.kind, outcome.action.amount_usd) == (s.kind, s.amount), key
            assert "billing manager" in outcome.reply, key
            counts["needs_approval"] += 1
    assert all(n >= 3 for n in counts.values()), counts
