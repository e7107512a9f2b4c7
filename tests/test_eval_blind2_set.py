"""The second held-out eval set `evals/sets/tickets_blind2.jsonl` holds up against the demo data it is graded on.

Written independently of the first blind set and without reading the decision code (see
`evals/sets/README.md`), weighted the way a real inbox is: about three calm tickets for every one that must
reach a person. These checks keep it honest when the demo data moves: every customer and help article
exists, every fact a reply must state is really stated in one of the articles it expects, the hand-overs and
the calm tickets are on the sides their group says, and the set shares no ticket with the other sets.
"""

from __future__ import annotations

import pytest

from evals.grading import EvalTicket
from evals.tickets import load_tickets
from tests.eval_sets import (
    SETS,
    check_facts_are_stated,
    check_loads,
    check_must_not_is_customer_text,
    load,
)

BLIND2 = SETS / "tickets_blind2.jsonl"
OTHER_SETS = (SETS / "tickets_dev.jsonl", SETS / "tickets_blind.jsonl")
GROUPS = {"how_to", "billing", "account", "negatives", "handover", "resolution"}


@pytest.fixture(scope="module")
def tickets() -> list[EvalTicket]:
    return load(BLIND2)


def test_the_set_loads_with_known_customers_and_articles(tickets: list[EvalTicket]) -> None:
    check_loads(tickets, n=60, groups=GROUPS)


def test_every_fact_is_stated_in_an_expected_article(tickets: list[EvalTicket]) -> None:
    check_facts_are_stated(tickets)


def test_mostly_calm_and_every_side_is_what_its_group_says(tickets: list[EvalTicket]) -> None:
    handover = [t for t in tickets if t.group == "handover"]
    calm = [t for t in tickets if t.group != "handover"]
    assert all(t.expect.decisions == ("escalate",) for t in handover)
    assert not [t.key for t in handover if t.expect.articles or t.expect.must_mention]
    assert 14 <= len(handover) <= 16 and 44 <= len(calm) <= 46
    assert not [t.key for t in calm if t.expect.must_escalate]
    # a calm ticket is graded on its answer: an article to cite and facts to state
    assert not [t.key for t in calm if not (t.expect.articles and t.expect.must_mention)]
    resolution = [t for t in tickets if t.group == "resolution"]
    assert all(t.follow_up for t in resolution)
    assert {"resolved", "reply"} <= {d for t in resolution for d in t.expect.decisions}


def test_must_not_guards_name_text_the_customer_really_wrote(tickets: list[EvalTicket]) -> None:
    check_must_not_is_customer_text(tickets)


def test_the_set_shares_no_ticket_with_the_dev_or_first_blind_set(tickets: list[EvalTicket]) -> None:
    others = [t for path in OTHER_SETS if path.exists() for t in load_tickets(path)]
    keys = {t.key for t in others}
    bodies = {" ".join(t.body.lower().split()) for t in others}
    assert not [t.key for t in tickets if t.key in keys]
    assert not [t.key for t in tickets if " ".join(t.body.lower().split()) in bodies]
