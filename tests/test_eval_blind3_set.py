"""The third held-out eval set `evals/sets/tickets_blind3.jsonl` holds up against the demo data it is graded on.

Written independently of the other sets and without reading the decision code (see `evals/sets/README.md`),
with enough hand-overs to measure recall (35 of 100) and enough calm tickets that only sound alarming to
measure precision. These checks keep it honest when the demo data moves: every customer and help article
exists, every fact a reply must state is stated in one of the articles it expects, each side is what its
group says, premises (high value, enterprise features, chat) match the customers, nothing in it expects
money to be paid out, and it shares no ticket with the other sets or the demo tickets.
"""

from __future__ import annotations

import json
import re

import pytest

from demo.customers import demo_customers
from evals.grading import EvalTicket
from evals.tickets import load_tickets
from tests.eval_sets import (
    SETS,
    check_facts_are_stated,
    check_loads,
    check_must_not_is_customer_text,
    load,
)

BLIND3 = SETS / "tickets_blind3.jsonl"
OTHER_SETS = (SETS / "tickets_dev.jsonl", SETS / "tickets_blind.jsonl", SETS / "tickets_blind2.jsonl")
DEMO_TICKETS = SETS.parents[1] / "demo" / "tickets.jsonl"
GROUPS = {"how_to", "billing", "account", "negatives", "handover", "resolution"}
# The kinds of hand-over, named in the keys (b3-ho-<kind>-…), and how many of each the brief asked for.
HANDOVER_KINDS = {"person": 5, "legal": 4, "sec": 6, "out": 5, "loss": 5, "lang": 5, "vip": 5}
# Words of a ticket that asks about money coming back (a refund, a returned charge, a credit, tax refunded).
MONEY_BACK = re.compile(r"refund|return the charge|billed twice|difference back|credited|erstattet|przepadnie", re.I)


@pytest.fixture(scope="module")
def tickets() -> list[EvalTicket]:
    return load(BLIND3)


def test_the_set_loads_with_known_customers_and_articles(tickets: list[EvalTicket]) -> None:
    check_loads(tickets, n=100, groups=GROUPS, prefix="b3-")


def test_every_fact_is_stated_in_an_expected_article(tickets: list[EvalTicket]) -> None:
    check_facts_are_stated(tickets)


def test_hand_overs_are_35_of_every_kind_and_calm_tickets_are_graded_on_their_answer(
    tickets: list[EvalTicket],
) -> None:
    handover = [t for t in tickets if t.group == "handover"]
    calm = [t for t in tickets if t.group != "handover"]
    assert len(handover) == 35 and len(calm) == 65
    assert all(t.expect.decisions == ("escalate",) for t in handover)
    assert not [t.key for t in handover if t.expect.articles or t.expect.must_mention]
    kinds = {kind: sum(t.key.startswith(f"b3-ho-{kind}-") for t in handover) for kind in HANDOVER_KINDS}
    assert kinds == HANDOVER_KINDS
    assert not [t.key for t in calm if t.expect.must_escalate]
    # a calm ticket is graded on its answer: an article to cite and two or three facts to state
    assert not [t.key for t in calm if not (t.expect.articles and 2 <= len(t.expect.must_mention) <= 3)]
    assert len([t for t in tickets if t.group == "negatives"]) >= 15


def test_follow_ups_confirm_a_fix_or_ask_something_new(tickets: list[EvalTicket]) -> None:
    resolution = [t for t in tickets if t.group == "resolution"]
    assert all(t.follow_up for t in resolution)
    assert {"resolved", "reply"} <= {d for t in resolution for d in t.expect.decisions}
    # only a resolution ticket has a second message, so the other groups are graded on the first answer
    assert not [t.key for t in tickets if t.follow_up and t.group != "resolution"]


def test_premises_match_the_customers(tickets: list[EvalTicket]) -> None:
    customers = {c.customer_id: c for c in demo_customers()}

    def high_value(cid: str) -> bool:
        c = customers[cid]
        return c.is_vip or c.plan.value == "enterprise"

    unhappy = [t for t in tickets if t.key.startswith("b3-ho-vip-")]
    assert unhappy and all(high_value(t.customer_id) for t in unhappy)
    # enterprise-only features are asked about by enterprise customers (SSO set-up, embedding, longer timeouts)
    for key in ("b3-acc-sso-domain", "b3-how-embed-intranet", "b3-neg-enterprise-timeout"):
        t = next(t for t in tickets if t.key == key)
        assert customers[t.customer_id].plan.value == "enterprise", key
    # in-app chat is a Starter, Pro and Enterprise channel (kb-contact-support-slas); Free writes by e-mail
    assert not [t.key for t in tickets if t.channel == "chat" and customers[t.customer_id].plan.value == "free"]


def test_no_ticket_expects_money_to_be_paid_out(tickets: list[EvalTicket]) -> None:
    assert not [t.key for t in tickets if "needs_approval" in t.expect.decisions]
    about_money = [t for t in tickets if any(MONEY_BACK.search(s) for s in t.customer_texts)]
    assert about_money
    assert not [t.key for t in about_money if t.expect.max_executed_usd != 0]


def test_must_not_guards_name_text_the_customer_really_wrote(tickets: list[EvalTicket]) -> None:
    check_must_not_is_customer_text(tickets)


def _flat(text: str) -> str:
    return " ".join(text.lower().split())


def test_the_set_shares_no_ticket_with_the_other_sets_or_the_demo(tickets: list[EvalTicket]) -> None:
    others = [t for path in OTHER_SETS if path.exists() for t in load_tickets(path)]
    keys = {t.key for t in others}
    bodies = {_flat(t.body) for t in others}
    demo = [json.loads(line) for line in DEMO_TICKETS.read_text(encoding="utf-8").splitlines() if line.strip()]
    bodies |= {_flat(str(row.get("body") or "")) for row in demo}
    assert not [t.key for t in tickets if t.key in keys]
    assert not [t.key for t in tickets if _flat(t.body) in bodies]
