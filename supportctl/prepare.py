"""Data the local stack needs before the worker starts: schema, demo CRM, knowledge base, triage model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from db.customers import upsert_customers
from db.pool import create_pool, ensure_database
from demo.customers import demo_customers
from kb.articles import load_articles
from kb.index import KnowledgeBase, open_qdrant
from settings import Settings
from triage.classifier import load_or_train

DEMO_KB = Path(__file__).resolve().parents[1] / "demo" / "kb"


async def seed_customers(dsn: str) -> int:
    await ensure_database(dsn)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        return await upsert_customers(pool, demo_customers())
    finally:
        await pool.close()


async def ingest_kb(settings: Settings, paths: list[Path], say: Callable[[str], None]) -> None:
    qdrant = open_qdrant(settings.QDRANT_PATH, settings.QDRANT_URL, settings.QDRANT_API_KEY)
    try:
        kb = KnowledgeBase(qdrant, settings.KB_COLLECTION)
        await kb.ensure_collection()
        articles = load_articles(paths)
        report = await kb.ingest(articles)
        say(
            f"    knowledge base: {len(articles)} articles ({report.added} added, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.deleted} deleted; {report.chunks} chunks)"
        )
    finally:
        await qdrant.close()


async def prepare(settings: Settings, dsn: str, say: Callable[[str], None]) -> None:
    n = await seed_customers(dsn)
    say(f"    CRM: {n} demo customers")
    await ingest_kb(settings, [DEMO_KB], say)
    artifact = settings.DATA_DIR / "models" / "triage.pkl"
    await asyncio.to_thread(load_or_train, artifact)
    say(f"    triage model: {artifact}")
