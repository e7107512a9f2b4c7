"""Regenerate ``triage/triage_examples_sets.jsonl``: the spent eval sets' tickets and their categories.

``python -m evals.triage_examples`` writes one row per ticket of every spent set that has no follow-up (a
follow-up's expected category is its last question's, not the opening message's): ``text`` is what triage
classifies, the subject and the customer's new words (``prepared_text`` of ``domain.models.ticket_text``);
``category`` the ticket's expected category; ``source`` the set, so ``evals.triage_leave_one_out`` can leave a
set out. The demo triage model trains on these beside ``demo/triage_examples.jsonl``: written by a dozen people
as customers write (signatures, quoted mail, other languages, incidents told indirectly), where the demo
examples are one line each. Only the spent sets are opened: the held-out ones are never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.customer_text import prepared_text
from domain.models import ticket_text
from evals.precedent_examples import SPENT, set_path, write_rows
from evals.tickets import load_tickets
from triage.datasets import SET_EXAMPLES


def rows(sets: Sequence[str] = SPENT) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in sets:
        for t in load_tickets(set_path(name)):
            if t.follow_up:
                continue
            text = prepared_text(ticket_text(t.subject, t.body))
            out.append({"text": text, "category": t.expect.category, "source": name, "key": t.key})
    return out


def main(argv: Sequence[str] | None = None) -> None:
    write_rows(argv, SET_EXAMPLES, rows(), "examples")


if __name__ == "__main__":
    main()
