"""Hand-over example rows taken from spent eval sets by rule, with no hand-picking.

``python -m evals.handover_set_rows --sets blind8 … [--write]`` prints, per set, how many rows it would
add to ``triage/handover_examples_sets.jsonl`` and, with ``--write``, replaces those sets' rows there.
The rows of dev, blind and blind2 to blind7 were chosen by hand (``docs/knowledge-and-triage.md``,
"Learning from the spent sets"); these come from each ticket's group and key alone, so a set can be
learned from without anyone reading it:

- a ticket that must reach a person: its whole message as the detector reads it, labelled with the
  reason its key names (a VIP's as unhappy); another language is the language detector's job, so skipped;
- a calm ticket: its whole message and its follow-up, and every sentence of them the shipped detector
  scores 0.4 or more for some reason, all labelled calm. From a customer who is neither VIP nor
  enterprise, an unhappy or angry score of 0.4 or more adds no sentence and drops the message: such a
  customer may be unhappy in truth, and that alone never hands a ticket over
  (``domain.policy.important_and_unhappy``).

The sets' tickets are only read here to build rows, and the sets named become training data: a set
learned from no longer measures the detectors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from demo.customers import demo_customers
from domain.customer_text import prepared_text
from domain.models import Customer, ticket_text
from domain.policy import important
from evals.grading import EvalTicket
from evals.precedent_examples import set_path
from evals.tickets import load_tickets
from triage.handover import SET_EXAMPLES, HandoverDetector, shared_detector, units

KIND_REASONS = {
    "person": "person",
    "legal": "legal",
    "sec": "security",
    "out": "outage",
    "loss": "data_loss",
    "vip": "unhappy",
}
CALM_SCORE = 0.4  # a calm sentence this close to some reason teaches where that reason's edge is
UNHAPPY = frozenset({"unhappy", "angry"})


def _row(text: str, reasons: Sequence[str], source: str, key: str, unit: str) -> dict[str, Any]:
    return {"text": text, "reasons": list(reasons), "source": source, "key": key, "unit": unit}


def ticket_rows(detector: HandoverDetector, t: EvalTicket, customer: Customer, source: str) -> Iterator[dict[str, Any]]:
    """The rows one ticket gives (see the module's docstring)."""
    opening = prepared_text(ticket_text(t.subject, t.body))
    if "escalate" in t.expect.decisions:
        reason = KIND_REASONS.get(t.key.split("-")[2])
        if reason is not None:
            yield _row(opening, [reason], source, t.key, "message")
        return

    def near(text: str) -> set[str]:
        return {r for r, p in detector.probabilities(text).items() if p >= CALM_SCORE}

    # A plain customer's unhappiness may be real (see above): taught neither as a sentence nor as a message.
    ignored = frozenset() if important(customer) else UNHAPPY
    for text in [opening, *([prepared_text(t.follow_up)] if t.follow_up else [])]:
        for part in units(text)[1:]:
            if near(part) - ignored:
                yield _row(part, [], source, t.key, "sentences")
        if not near(text) & ignored:
            yield _row(text, [], source, t.key, "message")


def set_rows(name: str, detector: HandoverDetector, customers: Mapping[str, Customer]) -> list[dict[str, Any]]:
    tickets = load_tickets(set_path(name), set(customers))
    rows = [row for t in tickets for row in ticket_rows(detector, t, customers[t.customer_id], name)]
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["text"], row)
    return list(unique.values())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sets", nargs="+", required=True)
    parser.add_argument("--write", action="store_true", help=f"replace these sets' rows in {SET_EXAMPLES.name}")
    args = parser.parse_args(argv)
    customers = {c.customer_id: c for c in demo_customers()}
    detector = shared_detector()
    new: list[dict[str, Any]] = []
    for name in args.sets:
        rows = set_rows(name, detector, customers)
        positive = sum(bool(r["reasons"]) for r in rows)
        sys.stdout.write(f"{name}: {len(rows)} rows ({positive} must reach a person, {len(rows) - positive} calm)\n")
        new += rows
    if args.write:
        kept = [
            line
            for line in SET_EXAMPLES.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["source"] not in args.sets
        ]
        lines = [*kept, *(json.dumps(r, ensure_ascii=False) for r in new)]
        SET_EXAMPLES.write_text("\n".join(lines) + "\n", encoding="utf-8")
        sys.stdout.write(f"{SET_EXAMPLES.name}: {len(lines)} rows\n")


if __name__ == "__main__":
    main()
