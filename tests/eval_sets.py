"""What the checks of the written eval sets (tests/test_eval_*_set.py) share: the demo's help articles, a
set loaded against the demo customers, and the facts a set expects that its articles do not state."""

from __future__ import annotations

from pathlib import Path

from demo.customers import demo_customers
from evals.grading import EvalTicket, fact_present
from evals.tickets import load_tickets

ROOT = Path(__file__).resolve().parents[1]
SETS = ROOT / "evals" / "sets"
KB = {p.stem: p.read_text(encoding="utf-8") for p in (ROOT / "demo" / "kb").glob("*.md")}


def load(path: Path) -> list[EvalTicket]:
    return load_tickets(path, {c.customer_id for c in demo_customers()})


def facts_not_in_articles(tickets: list[EvalTicket]) -> list[str]:
    """`key: fact` for each must-mention fact none of the ticket's expected articles states."""
    return [
        f"{t.key}: {fact!r}"
        for t in tickets
        for fact in t.expect.must_mention
        if not any(fact_present(option, KB[a]) for option in fact.split("|") for a in t.expect.articles)
    ]
