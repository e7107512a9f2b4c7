"""A ticket's product keeps the agents' knowledge-base searches to that product's articles and the
shared ones (those naming no product), through the activity the worker runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from qdrant_client import AsyncQdrantClient

from activities.conversation import ConversationActivities
from agents.offline.client import OfflineChatCompletionClient
from agents.team import run_turn
from domain.models import Category, Channel, Customer, Plan, Priority, Sender, Sentiment, TranscriptEntry
from domain.turns import TurnRequest
from kb import KnowledgeBase, load_articles

# Two products whose export guides differ only in the product's name; the one for "Classic" is the
# closer match to the question, so an unfiltered search would cite it.
ARTICLES = {
    "export-classic": (
        "Classic",
        "Exporting events to CSV in Classic",
        "To export events to CSV, open Events, choose Export, pick CSV and the date range, then download the "
        "CSV file once the export job finishes. Exports of more than a million events arrive by e-mail.",
    ),
    "export-cloud": (
        "Cloud",
        "Exporting data from Cloud",
        "Cloud exports go to your warehouse: open Settings, Destinations, and add a destination; the export "
        "job then copies new events every hour.",
    ),
    "export-limits": (
        "",
        "Export limits on every plan",
        "An export job may cover at most 90 days of events; split longer date ranges into several exports.",
    ),
}
QUESTION = "How do I export my events to a CSV file? The export job never finishes."


@pytest.fixture
async def knowledge(tmp_path: Path) -> AsyncIterator[KnowledgeBase]:
    folder = tmp_path / "kb"
    folder.mkdir()
    for article_id, (product, title, body) in ARTICLES.items():
        scope = f"product: {product}\n" if product else ""
        front = f"id: {article_id}\ntitle: {title}\ncategory: technical\n{scope}"
        (folder / f"{article_id}.md").write_text(f"---\n{front}---\n{body}\n", encoding="utf-8")
    kb = KnowledgeBase(AsyncQdrantClient(location=":memory:"), "products", dense=False)
    await kb.ensure_collection()
    await kb.ingest(load_articles([folder]))
    yield kb


def request(product: str | None) -> TurnRequest:
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    return TurnRequest(
        ticket_id="ticket-product",
        customer=Customer(customer_id="cus-1", email="ana@example.com", name="Ana Lopez", plan=Plan.PRO),
        channel=Channel.EMAIL,
        subject="CSV export",
        category=Category.TECHNICAL,
        priority=Priority.MEDIUM,
        sentiment=Sentiment.NEUTRAL,
        transcript=[TranscriptEntry(seq=1, sender=Sender.CUSTOMER, author="cus-1", body=QUESTION, at=at)],
        product=product,
    )


async def cited(kb: KnowledgeBase, product: str | None) -> set[str]:
    search = ConversationActivities(OfflineChatCompletionClient(), kb)._search  # what the activity gives the agents
    outcome = await run_turn(request(product), model_client=OfflineChatCompletionClient(), kb_search=search)
    return {c.article_id for c in outcome.citations}


async def test_the_agents_cite_only_the_tickets_product_and_shared_articles(knowledge: KnowledgeBase) -> None:
    assert "export-classic" in await cited(knowledge, None), "without a product the closest article wins"

    for_cloud = await cited(knowledge, "Cloud")

    assert for_cloud and for_cloud <= {"export-cloud", "export-limits"}


async def test_a_product_without_articles_still_gets_the_shared_ones(knowledge: KnowledgeBase) -> None:
    assert await cited(knowledge, "Mobile") == {"export-limits"}
