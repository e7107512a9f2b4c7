"""Hand-over rows taken from spent eval sets by rule (`evals.handover_set_rows`): what each ticket gives, and
that no held-out set ever becomes training data."""

from __future__ import annotations

import json

from demo.customers import demo_customers
from evals.grading import EvalTicket, Expect
from evals.handover_set_rows import ticket_rows
from evals.precedent_examples import SPENT
from triage.handover import SET_EXAMPLES, HandoverDetector

CUSTOMERS = {c.customer_id: c for c in demo_customers()}
PLAIN = next(c for c in CUSTOMERS.values() if not c.is_vip and c.plan.value != "enterprise")
VIP = next(c for c in CUSTOMERS.values() if c.is_vip)


class Scores(HandoverDetector):
    """Scores a sentence by its words: "furious" reads as unhappy, "breach" as security."""

    def probabilities(self, text: str) -> dict[str, float]:
        return {"unhappy": 0.9 if "furious" in text else 0.0, "security": 0.8 if "breach" in text else 0.0}


def ticket(key: str, group: str, body: str, decision: str = "reply", follow_up: str | None = None) -> EvalTicket:
    return EvalTicket(
        key, group, PLAIN.customer_id, "email", "subject", body, Expect("general", (decision,)), follow_up
    )


def test_a_must_reach_ticket_gives_its_whole_message_labelled_by_its_kind() -> None:
    rows = list(
        ticket_rows(Scores(), ticket("s1-ho-loss-2", "handover", "Half our events are gone.", "escalate"), PLAIN, "s1")
    )
    assert [(r["reasons"], r["unit"], r["key"], r["source"]) for r in rows] == [
        (["data_loss"], "message", "s1-ho-loss-2", "s1")
    ]
    assert rows[0]["text"].endswith("Half our events are gone.")
    # another language is the language detector's job, not a row
    assert not list(
        ticket_rows(Scores(), ticket("s1-ho-lang-1", "handover", "Olá, preciso de ajuda.", "escalate"), PLAIN, "s1")
    )


def test_a_calm_ticket_teaches_its_alarming_sentences_and_messages_are_calm() -> None:
    body = "We ran a breach drill on our side last week. Everything went fine. How do I export a funnel as CSV?"
    rows = list(ticket_rows(Scores(), ticket("s1-neg-3", "negatives", body, follow_up="Thanks, done."), PLAIN, "s1"))
    assert [r["unit"] for r in rows] == ["sentences", "message", "message"]
    assert rows[0]["text"] == "We ran a breach drill on our side last week."
    assert all(r["reasons"] == [] for r in rows)


def test_an_unhappy_text_is_taught_as_calm_only_from_a_high_value_account() -> None:
    body = "I am furious about the new chart colours, honestly. Where do I change them back for my team?"
    calm = ticket("s1-how-4", "how_to", body)
    plain = [r["unit"] for r in ticket_rows(Scores(), calm, PLAIN, "s1")]
    vip = [r["unit"] for r in ticket_rows(Scores(), calm, VIP, "s1")]
    # a plain customer may be unhappy in truth (that alone never hands over); a VIP's calm ticket is calm
    assert plain == [] and vip == ["sentences", "message"]


def test_rows_come_only_from_spent_sets() -> None:
    rows = [json.loads(line) for line in SET_EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    sources = {r["source"] for r in rows}
    assert sources <= set(SPENT), sorted(sources - set(SPENT))
    assert {"blind36", "blind39", "blind40", "blind41", "blind42", "blind43", "blind44"}.isdisjoint(
        sources
    )  # the held-out sets
