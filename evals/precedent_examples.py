"""Regenerate ``kb/precedents.jsonl``: the spent eval sets' calm tickets and the articles that answer them.

``python -m evals.precedent_examples`` writes one row per calm ticket graded on its answer (``answerable``)
of every spent set: ``text`` is the subject and the customer's new words (``prepared_text``), as the offline
model's first search sends them (``domain.models.ticket_text``); ``articles`` the ticket's expected articles;
``source`` the set, so ``evals.precedents_leave_one_out`` can leave a set out. Only the spent sets are
opened: the held-out ones are never read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from domain.customer_text import prepared_text
from domain.models import ticket_text
from evals.answers_check import answerable
from evals.tickets import load_tickets
from kb.precedents import PRECEDENTS_FILE

SETS_DIR = Path(__file__).with_name("sets")
# Spent: read, tuned on and reported, so their tickets may be examples. Held-out sets never appear here.
SPENT = (
    "dev",
    "blind",
    "blind2",
    "blind3",
    "blind4",
    "blind5",
    "blind6",
    "blind7",
    "blind8",
    "blind9",
    "blind10",
    "blind11",
    "blind12",
    "blind13",
    "blind14",
    "blind15",
    "blind16",
    "blind17",
    "blind18",
    "blind19",
    "blind20",
    "blind21",
    "blind22",
    "blind23",
    "blind24",
    "blind25",
    "blind26",
    "blind27",
    "blind28",
    "blind29",
    "blind30",
    "blind31",
    "blind32",
    "blind33",
    "blind34",
    "blind35",
    "blind37",
    "blind38",
)
MAX_TEXT_CHARS = 1000  # what the offline model's search sends at most (agents.offline.policy.MAX_QUERY_CHARS)


def set_path(name: str) -> Path:
    if name not in SPENT:
        raise SystemExit(f"{name}: not a spent set ({', '.join(SPENT)})")
    return SETS_DIR / f"tickets_{name}.jsonl"


def rows(sets: Sequence[str] = SPENT) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in sets:
        for t in load_tickets(set_path(name)):
            if not answerable(t):
                continue
            text = ticket_text(t.subject, prepared_text(t.body) or t.body.strip())[:MAX_TEXT_CHARS]
            out.append({"text": text, "articles": list(t.expect.articles), "source": name, "key": t.key})
    return out


def write_rows(argv: Sequence[str] | None, default: Path, found: Sequence[dict[str, Any]], what: str) -> None:
    """Write ``found`` as JSONL to the path on the command line (``default`` without one) and say so."""
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else default
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in found), encoding="utf-8")
    sys.stdout.write(f"{path}: {len(found)} {what} from {len(SPENT)} spent sets\n")


def main(argv: Sequence[str] | None = None) -> None:
    write_rows(argv, PRECEDENTS_FILE, rows(), "precedents")


if __name__ == "__main__":
    main()
