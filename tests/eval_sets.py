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


def check_loads(tickets: list[EvalTicket], *, n: int, groups: set[str], prefix: str | None = None) -> None:
    """The set's size, unique keys (with the set's prefix), its groups, every help article asked about and
    only known ones, and all three channels."""
    assert len(tickets) == n
    assert len({t.key for t in tickets}) == len(tickets)
    if prefix is not None:
        assert all(t.key.startswith(prefix) for t in tickets)
    assert {t.group for t in tickets} == groups
    cited = {a for t in tickets for a in t.expect.articles}
    assert cited <= set(KB), sorted(cited - set(KB))
    assert set(KB) <= cited, f"help articles no ticket asks about: {sorted(set(KB) - cited)}"
    assert {t.channel for t in tickets} == {"chat", "email", "api"}


def check_facts_are_stated(tickets: list[EvalTicket]) -> None:
    """Every fact is stated by an expected article, and written in lower case."""
    assert not facts_not_in_articles(tickets)
    assert all(f == f.lower() for t in tickets for f in t.expect.must_mention)


def check_must_not_is_customer_text(tickets: list[EvalTicket]) -> None:
    """Text a reply must not echo (a pasted key, a signature, a disclaimer) is really in the ticket."""
    guarded = [t for t in tickets if t.expect.must_not]
    assert guarded
    assert all(s.lower() in t.body.lower() for t in guarded for s in t.expect.must_not)
