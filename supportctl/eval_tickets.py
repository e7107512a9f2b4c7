"""`supportctl eval tickets --tickets FILE.jsonl [--api URL]`: answers graded as a support lead would.

Without `--api` it starts its own local stack (as `supportctl demo` does, on free ports, demo data) and
stops it afterwards. Progress goes to stderr; stdout gets a table per `group`, the tickets that were not
answered usefully, and as its last line one JSON object (the fixed interface of issue 19):
`n, category_acc, decision_acc, escalation_recall, escalation_precision, article_hit, mention_cov,
violations, answered_usefully, median_reply_words`. A bad ticket file: `FILE:LINE: reason`, exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evals.tickets import SETTLE_TIMEOUT_S
from settings import Settings
from supportctl.console import emit, fail, note, say


def cmd_eval_tickets(args: argparse.Namespace, settings: Settings) -> int:
    from demo.customers import demo_customers
    from evals.grading import Person, failure_line, grade, group_table, summarize
    from evals.tickets import TicketFileError, load_tickets, local_stack, push_all

    customers = demo_customers()
    known = {c.customer_id for c in customers} if args.api is None else None  # another API: its own CRM
    try:
        tickets = load_tickets(Path(args.tickets), known)
    except TicketFileError as e:
        return fail(str(e), 2)
    people = [Person(c.customer_id, c.name, c.email, c.company) for c in customers]
    api_key = args.api_key if args.api_key is not None else settings.API_KEY
    started = time.monotonic()

    def run(url: str) -> list[Any]:
        note(f"==> pushing {len(tickets)} tickets through {url} ({args.concurrency} at a time)")
        return asyncio.run(
            push_all(url, tickets, api_key=api_key, concurrency=args.concurrency, timeout_s=args.timeout, say=note)
        )

    if args.api:
        outcomes = run(args.api)
    else:
        with local_stack(note) as url:
            outcomes = run(url)
    grades = [grade(t, o.ticket, o.events, people, o.error) for t, o in zip(tickets, outcomes, strict=True)]
    note(f"==> {len(tickets)} tickets pushed and graded in {time.monotonic() - started:.0f}s")
    if args.out:
        with Path(args.out).open("w", encoding="utf-8") as f:
            for g, o in zip(grades, outcomes, strict=True):
                f.write(json.dumps({"grade": asdict(g), "ticket": o.ticket, "events": o.events}, default=str) + "\n")
        note(f"==> tickets and grades written to {args.out}")
    say(group_table(grades))
    missed = [g for g in grades if not g.useful]
    if missed:
        say(f"\nnot answered usefully ({len(missed)}):")
        for g in missed:
            say(f"  {failure_line(g)}")
    emit(summarize(grades))
    return 0


def add_parser(eval_subparsers: Any) -> None:
    """`eval tickets` under the `eval` group."""
    p = eval_subparsers.add_parser(
        "tickets", help="push tickets through the API, grade answers and hand-overs (last stdout line: JSON)"
    )
    p.add_argument("--tickets", required=True, metavar="FILE.jsonl", help="one ticket and its expectations per line")
    p.add_argument("--api", default=None, metavar="URL", help="a running API (default: start a local stack)")
    p.add_argument("--api-key", default=None, help="Bearer key for --api (default: the API_KEY setting)")
    p.add_argument("--concurrency", type=int, default=4, help="tickets in flight at once (default 4)")
    p.add_argument(
        "--timeout", type=float, default=SETTLE_TIMEOUT_S,
        help=f"seconds one answer may take to settle (default {SETTLE_TIMEOUT_S:.0f}: a slow real model's turn may "
        "end with a person only after its failure budget)",
    )  # fmt: skip
    p.add_argument("--out", default=None, metavar="FILE.jsonl", help="also write each final ticket and its grade")
    p.set_defaults(func=cmd_eval_tickets)
