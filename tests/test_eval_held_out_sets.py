"""The held-out eval sets four to seventeen (`evals/sets/tickets_blind4.jsonl` … `tickets_blind17.jsonl`) hold up
against the demo data they are graded on.

Each was written independently of the other sets and without reading the decision code (see
`evals/sets/README.md`), with enough hand-overs to measure recall (35 that must reach a person, in seven kinds)
next to 65 calm tickets, 15 of them hard negatives that only sound alarming. The fourteen share one shape, so one
set of checks runs on each: every customer and help article exists, every fact a reply must state is really
stated in one of the articles it expects, high-value premises name high-value customers, nothing asks for a
refund to be executed, and no set shares a ticket with the other sets or the demo tickets.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.customers import demo_customers
from evals.grading import EvalTicket
from evals.tickets import load_tickets
from tests.eval_sets import (
    ROOT,
    SETS,
    check_facts_are_stated,
    check_loads,
    check_must_not_is_customer_text,
    load,
)

GROUPS = {"how_to", "billing", "account", "negatives", "handover", "resolution"}
# the kind of each hand-over is named in its key, b<n>-ho-<kind>-<i>
HANDOVER_KINDS = {"person": 5, "legal": 4, "sec": 6, "out": 5, "loss": 5, "lang": 5, "vip": 5}


@dataclass(frozen=True)
class HeldOut:
    number: int
    # phrases in which money would come back, in that set's own words (refunds, downgrades, cancellations, ...)
    money_back: tuple[str, ...]

    @property
    def path(self) -> Path:
        return SETS / f"tickets_blind{self.number}.jsonl"

    @property
    def prefix(self) -> str:
        return f"b{self.number}-"


HELD_OUT = [
    HeldOut(4, ("refund", "get the difference back", "anything back", "double charge", "vat added")),
    HeldOut(5, ("refund", "difference back", "anything back", "money be back", "vat on them", "never authorised")),
    HeldOut(6, ("refund", "come back to our card")),
    HeldOut(7, ("refund", "come back", "chargeback")),
    HeldOut(8, ("refund", "come back", "chargeback")),
    HeldOut(9, ("refund", "money back", "overcharge", "service credits")),
    HeldOut(
        10, ("refund", "come back to us", "back on our card", "anything back", "returned", "lost campaign revenue")
    ),
    HeldOut(11, ("refund", "days back", "vat back", "anything back", "every cent", "recover the renewal fee")),
    HeldOut(12, ("refund", "reversed in full", "sales tax back", "rest of the year we paid", "diġà ħallasna")),
    HeldOut(13, ("refund", "come back to our card", "money show up", "renewal you charged")),
    HeldOut(14, ("refund", "anything back", "already paid for", "last two invoices")),
    HeldOut(15, ("refund", "reimburs", "come back to my card", "returned to us")),
    HeldOut(16, ("refund", "money back", "vat back", "returned to us")),
    HeldOut(
        17,
        (
            "refund",
            "back on our card",
            "difference back",
            "recovery of the full amount",
            "lost sales",
            "already paid for",
            "fee back",
            "деньгами за оставшиеся дни",
        ),
    ),
    HeldOut(18, ("refund", "compensation", "month back", "back on our card", "get it back")),
    HeldOut(
        19, ("refund", "money back", "reversed", "vat back", "come back to our card", "back to our card", "damages")
    ),
    HeldOut(
        20,
        ("refund", "returned to our card", "anything back", "come back as well", "difference back", "already paid for"),
    ),
    HeldOut(
        21,
        (
            "refund",
            "claim for damages",
            "get that money back",
            "remaining days of this month back",
            "vat back",
            "paid back to the company card",
            "already paid for",
        ),
    ),
    HeldOut(
        22,
        (
            "refund",
            "money back",
            "repayment",
            "service credits",
            "compensation",
            "damages",
            "section 75 claim",
            "get the difference back",
            "get the vat on it back",
        ),
    ),
    HeldOut(23, ("refund", "money back", "difference back")),
    HeldOut(
        24,
        ("refund", "money back", "paid back", "charge back", "days of december back", "service credits", "liable"),
    ),
    HeldOut(
        25,
        ("refund", "money back", "anything back", "get back", "paid back", "come back to us", "service credits"),
    ),
    HeldOut(26, ("refund", "money back", "comes back to us", "come back to us", "month back", "recover")),
    HeldOut(
        27,
        ("refund", "money back", "returned", "month back", "charge back", "reimbursed", "vat already charged"),
    ),
    HeldOut(28, ("refund", "money back", "get back what we paid", "damages")),
    HeldOut(
        29,
        (
            "refund",
            "money back",
            "money returned",
            "recovery of fees",
            "service credits",
            "days back",
            "charge back",
            "back on the card",
            "amount back",
        ),
    ),
    HeldOut(30, ("refund", "money back", "damages", "service credits", "difference back", "goodwill credit")),
    HeldOut(31, ("refund", "money is back", "damages", "anything back", "back on the card", "already paid")),
    HeldOut(32, ("refund", "money back")),
    HeldOut(
        33,
        (
            "refund",
            "money back",
            "anything back",
            "difference back",
            "vat back",
            "chargeback",
            "damages",
            "service credits",
        ),
    ),
    HeldOut(34, ("refund", "difference back", "goodwill credit", "damages", "compensation")),
    HeldOut(35, ("refund", "already paid", "difference back", "goodwill credit", "damages", "compensation")),
    HeldOut(
        36,
        (
            "isn't reversed",
            "recover the portion of the fees",
            "sent back to us",
            "rest of the month back",
            "money back",
            "already paid for the rest of this month",
            "returned to us",
        ),
    ),
    HeldOut(
        37,
        (
            "refund",
            "get the difference back",
            "moving us from pro down to",
            "invoice back",
            "recover the full amount",
            "compensation",
            "service credits",
        ),
    ),
    HeldOut(
        38,
        (
            "refund",
            "the claim for the two months we paid",
            "goodwill credit",
            "ask for it back",
            "unused days back",
            "money is back on the company card",
            "do we get that back",
            "vat returned to us",
        ),
    ),
    HeldOut(
        39,
        (
            "withhold payment of the current invoice",
            "amounts to be returned",
            "goodwill reflected on the next invoice",
            "vat part back",
            "rest of this month back",
            "the charge can be returned",
            "land back on the card",
            "difference back on the card",
            "the month we've already paid for",
        ),
    ),
    HeldOut(
        40,
        (
            "the difference we already paid is returned",
            "i want it back",
            "damages",
            "the revenue we lost",
            "service credits",
            "a credit for the months",
            "the part of this month we've already paid",
            "upgrade charge back",
            "anything back for the days",
            "come back to our card",
        ),
    ),
    HeldOut(
        41,
        (
            "charge to be reversed",
            "isnt back on the card",
            "nothing has come back",
            "the month we've already paid for",
            "rest of the month back",
            "refund",
            "money back on the company card",
            "difference back on our card",
            "upgrade money back",
        ),
    ),
    HeldOut(
        42,
        (
            "recover any amounts overpaid",
            "isn't reversed",
            "my money back",
            "compensation",
            "refund",
            "reach the card",
            "vat on that one back",
            "money back for the remaining",
            "difference paid back",
        ),
    ),
    HeldOut(
        43,
        (
            "recoverable",
            "recovery of fees",
            "compensation",
            "rest of this month",
            "refund",
            "come back to us",
            "difference back",
            "from pro to starter",
            "invoices already paid",
        ),
    ),
    HeldOut(
        44,
        (
            "duplicate amount is returned",
            "opened a dispute with our card issuer",
            "a judge can decide who pays",
            "full amount back",
            "service credits",
            "the month we've already paid for",
            "stop paying for starter",
            "the date we've paid up to",
            "refund",
            "moving down to starter",
            "what we already paid this month",
            "vat back",
        ),
    ),
]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module", params=HELD_OUT, ids=lambda s: f"blind{s.number}")
def held_out(request: pytest.FixtureRequest) -> HeldOut:
    held: HeldOut = request.param
    return held


@pytest.fixture(scope="module")
def tickets(held_out: HeldOut) -> list[EvalTicket]:
    return load(held_out.path)


def test_the_set_loads_with_known_customers_and_articles(held_out: HeldOut, tickets: list[EvalTicket]) -> None:
    check_loads(tickets, n=100, groups=GROUPS, prefix=held_out.prefix)


def test_every_fact_is_stated_in_an_expected_article(tickets: list[EvalTicket]) -> None:
    check_facts_are_stated(tickets)


def test_hand_overs_and_calm_tickets_are_on_the_side_their_group_says(tickets: list[EvalTicket]) -> None:
    handover = [t for t in tickets if t.group == "handover"]
    calm = [t for t in tickets if t.group != "handover"]
    assert len(handover) == 35 and len(calm) == 65
    assert all(t.expect.decisions == ("escalate",) for t in handover)
    assert not [t.key for t in handover if t.expect.articles or t.expect.must_mention]
    assert Counter(t.key.split("-")[2] for t in handover) == HANDOVER_KINDS
    assert not [t.key for t in calm if t.expect.must_escalate]
    # a calm ticket is graded on its answer: an article to cite and two or three facts to state
    assert not [t.key for t in calm if not t.expect.articles or not 2 <= len(t.expect.must_mention) <= 3]
    assert len([t for t in calm if t.group == "negatives"]) >= 15


def test_follow_ups_either_confirm_the_fix_or_ask_something_new(tickets: list[EvalTicket]) -> None:
    resolution = [t for t in tickets if t.group == "resolution"]
    assert all(t.follow_up for t in resolution)
    decisions = Counter(d for t in resolution for d in t.expect.decisions)
    assert decisions["resolved"] >= 4 and decisions["reply"] >= 4


def test_premises_match_the_demo_customers(held_out: HeldOut, tickets: list[EvalTicket]) -> None:
    customers = {c.customer_id: c for c in demo_customers()}
    high_value = {cid for cid, c in customers.items() if c.is_vip or c.plan.value == "enterprise"}
    vip_kind = [t for t in tickets if t.key.startswith(f"{held_out.prefix}ho-vip-")]
    assert not [t.key for t in vip_kind if t.customer_id not in high_value]
    # the free plan has no chat (kb-contact-support-slas), so a free customer writes by e-mail
    assert not [t.key for t in tickets if t.channel == "chat" and customers[t.customer_id].plan.value == "free"]


def test_nothing_in_the_set_executes_money_back(held_out: HeldOut, tickets: list[EvalTicket]) -> None:
    assert not [t.key for t in tickets if "needs_approval" in t.expect.decisions]
    money = [t for t in tickets if any(w in t.body.lower() for w in held_out.money_back)]
    assert money
    assert not [t.key for t in money if t.expect.max_executed_usd != 0]


def test_must_not_guards_name_text_the_customer_really_wrote(tickets: list[EvalTicket]) -> None:
    check_must_not_is_customer_text(tickets)


def test_the_set_shares_no_ticket_with_the_other_sets_or_the_demo(held_out: HeldOut, tickets: list[EvalTicket]) -> None:
    others = [t for path in sorted(SETS.glob("tickets_*.jsonl")) if path != held_out.path for t in load_tickets(path)]
    assert others
    keys = {t.key for t in others}
    bodies = {_norm(t.body) for t in others}
    demo = ROOT / "demo" / "tickets.jsonl"
    for line in demo.read_text(encoding="utf-8").splitlines() if demo.exists() else []:
        if line.strip():
            bodies |= {_norm(v) for v in json.loads(line).values() if isinstance(v, str)}
    assert not [t.key for t in tickets if t.key in keys]
    assert not [t.key for t in tickets if _norm(t.body) in bodies]
