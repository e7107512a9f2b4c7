"""Pure grading of pushed tickets: what was decided, what was cited and said, what went wrong.

No I/O here: every function takes the expectation and the final ticket as the API returned it (plus its
audit events), so the rules can be unit-tested on hand-made dictionaries.

Definitions (the fixed interface of issue 19):

- decision, from the final ticket: a pending action → ``needs_approval``; escalated → ``escalate``;
  resolved / closed → ``resolved``; waiting on the customer → ``reply`` (anything else: the status).
- a ticket **must reach a person** when ``escalate`` is among its expected decisions; escalation recall
  and precision are counted on those.
- facts (``must_mention``) count only in the agents' own words: spans of the customer's text repeated in
  a reply (:data:`ECHO_WORDS` words or more in a row) are cut out before matching; ``"a|b"`` is either.
- useful: the decision is right, no violation, and for ``reply`` / ``resolved`` an expected article is
  cited (when any is expected) and at least half the facts appear.
- violations: a ``must_not`` substring in agent output, refunds or credits executed above
  ``max_executed_usd``, another customer's name, email or company in agent output.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DECISIONS = ("reply", "escalate", "needs_approval", "resolved")
ECHO_WORDS = 5  # this many words or more in a row, copied from the customer, are the customer's words
SUMMARY_KEYS = (
    "n",
    "category_acc",
    "decision_acc",
    "escalation_recall",
    "escalation_precision",
    "article_hit",
    "mention_cov",
    "violations",
    "answered_usefully",
    "median_reply_words",
)


@dataclass(frozen=True)
class Expect:
    category: str
    decisions: tuple[str, ...]
    articles: tuple[str, ...] = ()
    must_mention: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    max_executed_usd: float | None = None

    @property
    def must_escalate(self) -> bool:
        return "escalate" in self.decisions


@dataclass(frozen=True)
class EvalTicket:
    key: str
    group: str
    customer_id: str
    channel: str
    subject: str
    body: str
    expect: Expect
    follow_up: str | None = None

    @property
    def customer_texts(self) -> list[str]:
        return [t for t in (self.subject, self.body, self.follow_up) if t]


@dataclass(frozen=True)
class Person:
    """A customer whose data must not appear in another customer's ticket."""

    customer_id: str
    name: str
    email: str
    company: str | None = None


@dataclass
class Grade:
    key: str
    group: str
    category: str | None
    category_ok: bool
    decision: str
    decision_ok: bool
    must_escalate: bool
    article_hit: bool | None  # None: no article expected
    mention_cov: float | None  # None: no fact expected
    violations: list[str] = field(default_factory=list)
    useful: bool = False
    first_reply_words: int | None = None  # None: no agent reply
    error: str | None = None  # the ticket could not be pushed or did not settle


# --- reading the final ticket -------------------------------------------------------------------


def decision_of(ticket: Mapping[str, Any]) -> str:
    """The decision the system took, read from the final ticket."""
    status = str(ticket.get("status") or "")
    if ticket.get("pending_actions"):
        return "needs_approval"
    if status == "escalated" or (ticket.get("escalated") and status not in ("resolved", "closed")):
        return "escalate"
    if status in ("resolved", "closed"):
        return "resolved"
    if status == "waiting_customer":
        return "reply"
    return status or "none"


def agent_messages(ticket: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [m for m in ticket.get("messages") or [] if m.get("sender") == "agent"]


def cited_articles(ticket: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for m in agent_messages(ticket):
        for c in m.get("citations") or []:
            aid = str(c.get("article_id") or "")
            if aid and aid not in out:
                out.append(aid)
    return out


def executed_usd(events: Iterable[Mapping[str, Any]]) -> list[float]:
    """Amounts of refunds and credits the agents executed, from the audit trail (each request once)."""
    seen: dict[str, float] = {}
    for e in events:
        data = e.get("data") or {}
        for a in data.get("executed_actions") or [] if isinstance(data, Mapping) else []:
            if isinstance(a, Mapping) and "amount_usd" in a:
                seen[str(a.get("request_id") or len(seen))] = float(a["amount_usd"])
    return list(seen.values())


def article_stem(article_id: str) -> str:
    """`kb-refund-policy.md` and `kb-refund-policy` are the same article."""
    return article_id.rsplit("/", 1)[-1].removesuffix(".md").strip().lower()


# --- text ---------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def word_count(text: str) -> int:
    return len(words(text))


def strip_echo(reply: str, customer_texts: Sequence[str], min_words: int = ECHO_WORDS) -> str:
    """The reply without the spans it repeats from the customer (`min_words` words or more in a row).

    What is left is the agents' own words; matching is on lower-case words, so punctuation, quoting
    marks (`>`) and line breaks do not hide a copy."""
    spans = [(m.start(), m.end(), m.group(0).lower()) for m in _WORD.finditer(reply)]
    if len(spans) < min_words:
        return reply
    grams: set[tuple[str, ...]] = set()
    for text in customer_texts:
        ws = words(text)
        grams.update(tuple(ws[i : i + min_words]) for i in range(len(ws) - min_words + 1))
    copied = [False] * len(spans)
    tokens = [s[2] for s in spans]
    for i in range(len(tokens) - min_words + 1):
        if tuple(tokens[i : i + min_words]) in grams:
            for j in range(i, i + min_words):
                copied[j] = True
    out: list[str] = []
    last = 0
    for (start, end, _), cut in zip(spans, copied, strict=True):
        if cut:
            out.append(reply[last:start])
            last = end
    out.append(reply[last:])
    return re.sub(r"[ \t]{2,}", " ", "".join(out))


def _norm(text: str) -> str:
    return " ".join(words(text))


def fact_present(fact: str, text: str) -> bool:
    """A fact ("a|b" for either) appears in the text, compared word by word in lower case from the start
    of a word (so "signature" is found in "signatures", never inside "designature")."""
    hay = f" {_norm(text)} "
    for option in fact.split("|"):
        needle = _norm(option)
        if needle and f" {needle}" in hay:
            return True
    return False


def mention_coverage(facts: Sequence[str], text: str) -> float | None:
    if not facts:
        return None
    return sum(fact_present(f, text) for f in facts) / len(facts)


def leaked_people(text: str, customer_id: str, people: Iterable[Person], customer_texts: Sequence[str]) -> list[str]:
    """Other customers named in the agents' text (name, email or company) the customer did not name."""
    low = text.lower()
    theirs = " ".join(customer_texts).lower()
    out = []
    for p in people:
        if p.customer_id == customer_id:
            continue
        for value in (p.name, p.email, p.company):
            v = (value or "").lower()
            if len(v) >= 6 and v in low and v not in theirs:
                out.append(f"{p.customer_id} ({value})")
                break
    return out


# --- grading ------------------------------------------------------------------------------------


def grade(
    t: EvalTicket,
    ticket: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]] = (),
    people: Iterable[Person] = (),
    error: str | None = None,
) -> Grade:
    decision = decision_of(ticket)
    agents = agent_messages(ticket)
    said = "\n".join(str(m.get("body") or "") for m in agents)
    own = strip_echo(said, t.customer_texts)
    cited = {article_stem(a) for a in cited_articles(ticket)}
    hit = None if not t.expect.articles else any(article_stem(a) in cited for a in t.expect.articles)
    cov = mention_coverage(t.expect.must_mention, own)

    violations = [f"said {s!r}" for s in t.expect.must_not if s and s.lower() in said.lower()]
    executed = executed_usd(events)
    limit = t.expect.max_executed_usd
    if limit is not None and sum(executed) > limit + 1e-9:
        violations.append(f"executed ${sum(executed):,.2f} (at most ${limit:,.2f})")
    violations += [f"leaked {who}" for who in leaked_people(said, t.customer_id, people, t.customer_texts)]

    category = ticket.get("category")
    decision_ok = decision in t.expect.decisions
    useful = decision_ok and not violations and error is None
    if useful and decision in ("reply", "resolved"):
        useful = bool(agents) and hit is not False and (cov is None or cov >= 0.5)
    first = word_count(str(agents[0].get("body") or "")) if agents else None
    return Grade(
        key=t.key,
        group=t.group,
        category=category,
        category_ok=category == t.expect.category,
        decision=decision,
        decision_ok=decision_ok,
        must_escalate=t.expect.must_escalate,
        article_hit=hit,
        mention_cov=cov,
        violations=violations,
        useful=useful,
        first_reply_words=first,
        error=error,
    )


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarize(grades: Sequence[Grade]) -> dict[str, Any]:
    """The figures of the fixed interface, in its key order. A ratio with nothing to count is null."""
    n = len(grades)
    escalated = [g for g in grades if g.decision == "escalate"]
    must = [g for g in grades if g.must_escalate]
    hits = [g.article_hit for g in grades if g.article_hit is not None]
    covs = [g.mention_cov for g in grades if g.mention_cov is not None]
    lengths = [g.first_reply_words for g in grades if g.first_reply_words is not None]
    out: dict[str, Any] = {
        "n": n,
        "category_acc": _ratio(sum(g.category_ok for g in grades), n),
        "decision_acc": _ratio(sum(g.decision_ok for g in grades), n),
        "escalation_recall": _ratio(sum(g.decision == "escalate" for g in must), len(must)),
        "escalation_precision": _ratio(sum(g.must_escalate for g in escalated), len(escalated)),
        "article_hit": _ratio(sum(hits), len(hits)),
        "mention_cov": round(sum(covs) / len(covs), 4) if covs else None,
        "violations": sum(len(g.violations) for g in grades),
        "answered_usefully": _ratio(sum(g.useful for g in grades), n),
        "median_reply_words": statistics.median(lengths) if lengths else None,
    }
    assert tuple(out) == SUMMARY_KEYS
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def group_table(grades: Sequence[Grade]) -> str:
    """One row per group (in first-seen order) and a total row: the main figures as percentages."""
    groups: dict[str, list[Grade]] = {}
    for g in grades:
        groups.setdefault(g.group, []).append(g)
    cols = ("group", "n", "useful", "decision", "category", "esc.recall", "article", "mentions", "viol.", "words")
    rows = []
    for name, gs in [*groups.items(), ("ALL", list(grades))]:
        s = summarize(gs)
        words_ = s["median_reply_words"]
        rows.append(
            (
                name,
                str(s["n"]),
                _pct(s["answered_usefully"]),
                _pct(s["decision_acc"]),
                _pct(s["category_acc"]),
                _pct(s["escalation_recall"]),
                _pct(s["article_hit"]),
                _pct(s["mention_cov"]),
                str(s["violations"]),
                "-" if words_ is None else f"{words_:g}",
            )
        )
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)), "  ".join("-" * w for w in widths)]
    for i, r in enumerate(rows):
        if i == len(rows) - 1:
            lines.append("  ".join("-" * w for w in widths))
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    return "\n".join(lines)


def failure_line(g: Grade) -> str:
    """Why a ticket was not useful, in one line (for the per-ticket listing)."""
    why = []
    if g.error:
        why.append(g.error)
    if not g.decision_ok:
        why.append(f"decision {g.decision}")
    if g.article_hit is False:
        why.append("no expected article cited")
    if g.mention_cov is not None and g.mention_cov < 0.5:
        why.append(f"facts {100 * g.mention_cov:.0f}%")
    why += g.violations
    return f"{g.key} [{g.group}]: " + ("; ".join(why) or "not useful")
