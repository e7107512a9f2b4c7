"""The offline model's answers alone on an eval ticket file, in a minute instead of an end-to-end run.

``python -m evals.answers_check FILE.jsonl [FILE ...] [--show] [--no-precedents] [--no-asked]`` runs one agent turn
per calm ticket (`agents.team.run_turn` with the offline model against the demo help centre in an in-memory collection,
searched with the shipped precedents as the worker's is, unless ``--no-precedents``; on a spent set they
include its own tickets: `evals.precedents_leave_one_out` is the honest measure,
the ticket's expected category, its demo customer) and, for a follow-up, a second turn after the first
reply. It grades what `supportctl eval tickets` grades about the answer: an expected article cited and
the share of facts stated in the agents' own words, and prints per file the tickets whose facts fall
short (``--show`` adds the reply). ``--no-asked`` ranks reply sentences without the questions each is known to
answer (``kb.asked``). Triage, hand-over, the workflow and the confirmation detector are not
run, so this measures which sentences a reply says, nothing else; `supportctl eval tickets` stays the
measure.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agents.model_client import build_model_client
from agents.team import run_turn
from demo.customers import demo_customers
from domain.models import Category, Channel, Customer, KbHit, Priority, Sender, Sentiment, TranscriptEntry
from domain.turns import TurnRequest
from evals.grading import EvalTicket, mention_coverage, strip_echo, word_count
from evals.tickets import load_tickets
from kb.asked import SentenceQuestions, use_sentence_questions
from kb.index import KnowledgeBase
from kb.precedents import Precedents
from kb.store import open_qdrant
from supportctl.prepare import demo_articles

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class AnswerCheck:
    key: str
    article_hit: bool
    facts: float
    words: int
    reply: str


def _entry(seq: int, sender: Sender, author: str, body: str) -> TranscriptEntry:
    return TranscriptEntry(seq=seq, sender=sender, author=author, body=body, at=AT)


async def answer(kb: KnowledgeBase, t: EvalTicket, customer: Customer) -> AnswerCheck:
    async def search(query: str, limit: int, product: str | None) -> list[KbHit]:
        return await kb.search(query, limit=limit, product=product, include_shared=True)

    messages = [t.body, *([t.follow_up] if t.follow_up else [])]
    transcript: list[TranscriptEntry] = []
    outcome = None
    for body in messages:
        if outcome is not None:  # a follow-up: our reply, then the customer's next message
            transcript.append(_entry(len(transcript) + 1, Sender.AGENT, outcome.agent, outcome.reply))
        transcript.append(_entry(len(transcript) + 1, Sender.CUSTOMER, customer.customer_id, body))
        request = TurnRequest(
            ticket_id=f"check-{t.key}",
            customer=customer,
            channel=Channel(t.channel),
            subject=t.subject,
            category=Category(t.expect.category),
            priority=Priority.MEDIUM,
            sentiment=Sentiment.NEUTRAL,
            transcript=list(transcript),
        )
        outcome = await run_turn(request, model_client=build_model_client("offline"), kb_search=search)
    assert outcome is not None
    own = strip_echo(outcome.reply, messages)
    cited = {c.article_id for c in outcome.citations}
    return AnswerCheck(
        t.key,
        bool(cited & set(t.expect.articles)),
        mention_coverage(t.expect.must_mention, own) or 0.0,
        word_count(outcome.reply),
        outcome.reply,
    )


def answerable(t: EvalTicket) -> bool:
    """A calm ticket graded on its answer's facts (not a hand-over, a refusal or a confirmed fix)."""
    return bool(t.expect.must_mention) and bool(t.expect.articles) and "reply" in t.expect.decisions


async def open_demo_kb(precedents: Precedents | None = None) -> KnowledgeBase:
    """The demo help centre in a fresh in-memory collection (hybrid search, as the worker's), with the
    shipped precedents unless others are given."""
    precedents = precedents if precedents is not None else Precedents.load()
    kb = KnowledgeBase(open_qdrant(":memory:", None), "answers_check", precedents=precedents)
    await kb.ensure_collection()
    await kb.ingest(demo_articles())
    return kb


async def check_file(kb: KnowledgeBase, path: Path, show: bool) -> list[AnswerCheck]:
    """Answer ``path``'s calm tickets, print the file's figures and its failing tickets, return the results."""
    customers = {c.customer_id: c for c in demo_customers()}
    tickets = [t for t in load_tickets(path) if answerable(t)]
    results = [await answer(kb, t, customers[t.customer_id]) for t in tickets]
    useful = [r for r in results if r.article_hit and r.facts >= 0.5]
    n = max(1, len(results))
    facts = statistics.fmean(r.facts for r in results) if results else 0.0
    words = statistics.median(r.words for r in results) if results else 0
    out(
        f"{path.name}: {len(results)} calm tickets graded on facts; article hit "
        f"{sum(r.article_hit for r in results) / n:.3f}, facts {facts:.3f}, article and half the facts "
        f"{len(useful)}/{len(results)}, median words {words}"
    )
    for r in results:
        if r.facts < 0.5 or not r.article_hit:
            out(f"  {r.key}: facts {r.facts:.0%}{'' if r.article_hit else ', no expected article cited'}")
            if show:
                out("    " + r.reply.replace("\n", "\n    "))
    return results


async def check_files(paths: Sequence[Path], show: bool, precedents: bool = True) -> None:
    kb = await open_demo_kb(None if precedents else Precedents([]))
    for path in paths:
        await check_file(kb, path, show)


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    flags = {"--show", "--no-precedents", "--no-asked"}
    paths = [Path(a) for a in args if a not in flags]
    if not paths:
        raise SystemExit(
            "usage: python -m evals.answers_check FILE.jsonl [FILE ...] [--show] [--no-precedents] [--no-asked]"
        )
    if "--no-asked" in args:  # rank sentences without the questions each is known to answer (kb.asked)
        use_sentence_questions(SentenceQuestions([]))
    asyncio.run(check_files(paths, "--show" in args, precedents="--no-precedents" not in args))


if __name__ == "__main__":
    main()
