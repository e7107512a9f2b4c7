"""A new ticket is embedded once in the worker: triage and the first KB search share its vector.

Both use the process's one embedder; triage classifies `ticket_text(subject, body)` and the offline
agent's first search asks for the same string, so the second lookup is a memory-cache hit. This is
a third of the worker's model time per ticket (bench throughput --profile).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import AsyncQdrantClient

from activities.triage import TriageActivities
from agents.offline.client import OfflineChatCompletionClient
from agents.team import run_turn
from domain.models import (
    Category,
    Channel,
    Customer,
    KbHit,
    Plan,
    Priority,
    Sender,
    Sentiment,
    TranscriptEntry,
    ticket_text,
)
from domain.turns import TurnRequest
from kb import KnowledgeBase
from kb.embeddings import LAYERS, Embedder, Vectors
from kb.expansion import query_windows
from supportctl.prepare import demo_articles
from triage import classifier
from triage.classifier import TextClassifier

ROOT = Path(__file__).resolve().parents[1]
SUBJECT = "Exports to S3 fail every night"
BODY = (
    "Since Monday our nightly data export to our S3 bucket fails with an access denied error. Nothing "
    "changed on our side as far as we know, and the bucket policy still lists your role. We need the "
    "export for our finance reporting at the end of the month. What should we check?"
)


class CountingEmbedder(Embedder):
    """The real embedder, recording every text it had to run through the model."""

    def __init__(self) -> None:
        super().__init__()
        self.computed: list[str] = []

    def _compute(
        self, texts: list[str], batch_size: int, progress: Any, layers: Sequence[int] = (LAYERS,)
    ) -> list[Vectors]:
        self.computed.extend(texts)
        return super()._compute(texts, batch_size, progress, layers)


def ticket_request(subject: str, body: str) -> TurnRequest:
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    return TurnRequest(
        ticket_id="ticket-embed-once",
        customer=Customer(customer_id="cus-1", email="ana@example.com", name="Ana Lopez", plan=Plan.PRO),
        channel=Channel.EMAIL,
        subject=subject,
        category=Category.TECHNICAL,
        priority=Priority.MEDIUM,
        sentiment=Sentiment.NEUTRAL,
        transcript=[TranscriptEntry(seq=1, sender=Sender.CUSTOMER, author="cus-1", body=body, at=at)],
    )


def train_small_model() -> TextClassifier:
    texts = [
        "the export job fails with an error",
        "the API returns 500 errors",
        "please send me last month's invoice",
        "I was charged twice this month",
    ]
    return TextClassifier.train(texts, ["technical", "technical", "billing", "billing"], embeddings="on")


async def test_triage_and_the_first_kb_search_embed_a_ticket_once(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = CountingEmbedder()
    monkeypatch.setattr(classifier, "shared_embedder", lambda: embedder)
    model = train_small_model()
    kb = KnowledgeBase(AsyncQdrantClient(location=":memory:"), "embed_once", embedder=embedder)
    await kb.ensure_collection()
    await kb.ingest(demo_articles())
    searched: list[str] = []

    async def search(query: str, limit: int, product: str | None) -> list[KbHit]:
        searched.append(query)
        return await kb.search(query, limit=limit, product=product, include_shared=True)

    embedder.computed.clear()
    text = ticket_text(SUBJECT, BODY)
    triage = TriageActivities(model)._triage(text)  # as the workflow calls it on a new ticket
    assert triage.category == Category.TECHNICAL
    assert embedder.computed == [text]

    request = ticket_request(SUBJECT, BODY)
    outcome = await run_turn(request, model_client=OfflineChatCompletionClient(), kb_search=search)

    assert searched and searched[0] == text, "the agent's first search asks what triage classified"
    assert query_windows(text) == [text], "a ticket of this length is embedded whole"
    assert embedder.computed == [text], "the search reused triage's vector: nothing embedded twice"
    assert "kb-data-export-failures" in [c.article_id for c in outcome.citations]


def test_long_stories_are_still_searched_in_windows() -> None:
    story: Sequence[str] = [f"Part {n} of a long story about exports, invoices and the API." for n in range(12)]
    text = ticket_text("Many things", " ".join(story))
    assert len(text.split()) > 100
    assert len(query_windows(text)) > 1
