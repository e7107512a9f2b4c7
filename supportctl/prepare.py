"""Data the local stack needs before the worker starts: schema, demo CRM, knowledge base, triage model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from clients import payload_keyring
from db.customers import Conn
from db.data_keys import keyring_mismatch
from db.invoices import upsert_invoices
from db.pool import create_pool, ensure_database
from db.saved_replies import insert_missing_saved_replies
from demo.customers import demo_customers, demo_invoices
from demo.saved_replies import DEMO_SAVED_REPLIES
from domain.models import Customer
from kb.articles import Article, load_articles
from kb.index import KnowledgeBase, open_qdrant
from settings import Settings
from supportctl.stack import StackError
from triage.classifier import load_or_train

DEMO_KB = Path(__file__).resolve().parents[1] / "demo" / "kb"
DEMO_SOURCE = "demo"  # the demo articles' source in the knowledge base (see `kb sources`)
DEMO_ARTICLE_URL = "https://help.lumora.example/articles/{id}"  # the fictional company's help centre


# Only customers the CRM does not hold: neither their id nor their email is taken. A restarted stack
# must not undo the team's edits (PUT /customers, `customers import`) nor bring an erased customer's
# name and e-mail back (erasure keeps the anonymised row, so its id stays taken).
INSERT_MISSING = """
INSERT INTO customers (customer_id, email, name, company, plan, is_vip, lifetime_value, ticket_count, average_csat)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::numeric[],
                     $8::int[], $9::numeric[])
ON CONFLICT DO NOTHING
RETURNING customer_id
"""


async def insert_missing_customers(conn: Conn, customers: list[Customer]) -> int:
    """Insert the customers the CRM does not hold yet; those it holds stay as they are. The count inserted."""
    if not customers:
        return 0
    columns = list(zip(*((c.customer_id, c.email, c.name, c.company, c.plan.value, c.is_vip, c.lifetime_value,
                          c.ticket_count, c.average_csat) for c in customers), strict=True))  # fmt: skip
    return len(await conn.fetch(INSERT_MISSING, *[list(col) for col in columns]))


async def seed_customers(dsn: str) -> int:
    """The demo customers the CRM does not hold yet (the count inserted); every restart of the stack runs it."""
    await ensure_database(dsn)
    pool: asyncpg.Pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        n = await insert_missing_customers(pool, demo_customers())
        # dated from today, so the demo's "charged 3 days ago" stays inside the refund window on every seed
        await upsert_invoices(pool, demo_invoices(datetime.now(UTC).date()))
        # the console's demo saved replies whose title is free: a team's edited reply stays as it is
        await insert_missing_saved_replies(pool, list(DEMO_SAVED_REPLIES), by="demo")
        return n
    finally:
        await pool.close()


def demo_articles() -> list[Article]:
    """The fictional company's help centre, with its addresses."""
    return load_articles([DEMO_KB], DEMO_ARTICLE_URL)


async def ingest_demo_kb(settings: Settings, say: Callable[[str], None]) -> None:
    """Load (or refresh) the demo articles, unless the team has loaded its own: a stack started on a
    real knowledge base must not fill it with a fictional company's help centre."""
    qdrant = open_qdrant(settings.QDRANT_PATH, settings.QDRANT_URL, settings.QDRANT_API_KEY)
    try:
        kb = KnowledgeBase(qdrant, settings.KB_COLLECTION)
        await kb.ensure_collection()
        articles = demo_articles()
        demo_ids = {article.id for article in articles}
        own = [  # unlabelled articles (ingested before sources existed) are the team's unless they are demo ones
            article_id
            for article_id, source in (await kb.article_sources()).items()
            if source not in ("", DEMO_SOURCE) or (source == "" and article_id not in demo_ids)
        ]
        if own:
            say(
                f"    knowledge base: {len(own)} articles of your own; demo articles not loaded "
                f"(`supportctl kb sources` lists what is there, `kb forget demo` drops earlier demo articles)"
            )
            return
        report = await kb.ingest(articles, source=DEMO_SOURCE)
        say(
            f"    knowledge base: {len(articles)} demo articles ({report.added} added, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.deleted} deleted; {report.chunks} chunks)"
        )
    finally:
        await qdrant.close()


async def prepare(settings: Settings, dsn: str, say: Callable[[str], None]) -> None:
    n = await seed_customers(dsn)  # creates and migrates the database when it is new
    if settings.PAYLOAD_ENCRYPTION:
        conn = await asyncpg.connect(dsn)
        try:
            mismatch = await keyring_mismatch(conn, payload_keyring(settings))
        finally:
            await conn.close()
        if mismatch:
            raise StackError(mismatch)
    say(f"    CRM: {n} demo customers added ({len(demo_customers()) - n} already there, left as they are)")
    await ingest_demo_kb(settings, say)
    artifact = settings.DATA_DIR / "models" / "triage.pkl"
    await asyncio.to_thread(load_or_train, artifact)
    say(f"    triage model: {artifact}")
