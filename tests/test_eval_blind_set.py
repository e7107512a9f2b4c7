"""The held-out eval set `evals/sets/tickets_blind.jsonl` holds up against the demo data it is graded on.

The set was written without reading the decision code (see `evals/sets/README.md`); these checks keep it
honest when the demo data moves: every customer and help article exists, every fact a reply must state is
really stated in one of the articles it expects, and the refund tickets' premises (whose invoice, how old,
how much) are true of the demo invoices.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from demo.customers import demo_invoices
from evals.grading import EvalTicket
from tests.eval_sets import KB, SETS, facts_not_in_articles, load

BLIND_SET = SETS / "tickets_blind.jsonl"
REFUND_WINDOW_DAYS = 14  # kb-refund-policy: "within 14 days of that charge"
INVOICE = re.compile(r"\bLUM-\d+\b")


@pytest.fixture(scope="module")
def tickets() -> list[EvalTicket]:
    return load(BLIND_SET)


def test_the_blind_set_loads_with_known_customers_and_articles(tickets: list[EvalTicket]) -> None:
    assert len(tickets) == 80
    assert len({t.key for t in tickets}) == len(tickets)
    cited = {a for t in tickets for a in t.expect.articles}
    assert cited <= set(KB), sorted(cited - set(KB))
    assert set(KB) <= cited, f"help articles no ticket asks about: {sorted(set(KB) - cited)}"


def test_every_fact_is_stated_in_an_expected_article(tickets: list[EvalTicket]) -> None:
    assert not facts_not_in_articles(tickets)


def test_hand_overs_and_hard_negatives_are_on_the_right_side(tickets: list[EvalTicket]) -> None:
    by_group: dict[str, list[EvalTicket]] = {}
    for t in tickets:
        by_group.setdefault(t.group, []).append(t)
    assert all(t.expect.decisions == ("escalate",) for t in by_group["handover"])
    assert len(by_group["handover"]) >= 14  # two or more per hand-over reason
    calm = [t for g, ts in by_group.items() if g != "handover" for t in ts]
    assert not [t.key for t in calm if t.expect.must_escalate]
    assert {"resolved"} <= {d for t in by_group["resolution"] for d in t.expect.decisions}
    assert all(t.follow_up for t in by_group["resolution"])


def test_refund_tickets_premises_are_true_of_the_demo_invoices(tickets: list[EvalTicket]) -> None:
    now = datetime.now(UTC)
    invoices = {c.invoice_id: c for c in demo_invoices(now.date())}
    checked = 0
    for t in tickets:
        named = INVOICE.findall(f"{t.subject}\n{t.body}")
        if t.group != "policy" or not named:
            continue
        charge = invoices[named[0]]
        age_days = (now - charge.charged_at).total_seconds() / 86400
        refundable = charge.customer_id == t.customer_id and age_days <= REFUND_WINDOW_DAYS
        limit = t.expect.max_executed_usd
        assert limit is not None, t.key
        if "needs_approval" in t.expect.decisions:  # in policy, above the agents' $100 authority
            assert refundable and charge.amount_usd > 100 and limit == 0, t.key
        elif limit > 0:  # the agents may refund it themselves, never more than the charge
            assert refundable and limit <= charge.amount_usd <= 100, t.key
        else:  # outside policy: someone else's invoice, or older than the window
            assert not refundable, t.key
        checked += 1
    assert checked >= 8
