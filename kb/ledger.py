"""The ingest ledger: which articles the collection holds, and bringing it in line with a source.

The points' payloads are the ledger: each chunk carries its article's id, fingerprint and source.
Re-ingesting reads them back, skips articles whose fingerprint matches (no embedding, no write),
rewrites the ones that changed and deletes the ones that disappeared.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kb.articles import Article
from kb.chunking import Chunk, chunk_article
from kb.embeddings import MODEL_ID
from kb.store import Collection, make_point, point_id

UPSERT_BATCH = 64  # chunks embedded and written per batch (also the progress step)
# Part of every fingerprint: bump it when chunking or encoding changes so the next ingest
# rewrites every article instead of mixing old and new vectors.
PIPELINE_VERSION = f"3:{MODEL_ID}"
_LEDGER_FIELDS = ["article_id", "fingerprint", "source"]

EmbedChunks = Callable[[list[str]], npt.NDArray[np.float32] | None]


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did; ``chunks`` counts chunks written (0 when nothing changed)."""

    added: int
    updated: int
    unchanged: int
    deleted: int
    chunks: int
    # Articles whose id was last ingested from another source and now belongs to this one (two
    # sources holding the same id overwrite each other: worth a warning, not an error).
    moved: list[str] = field(default_factory=list)


@dataclass
class Stored:
    """One indexed article as its points' payloads record it."""

    fingerprint: str | None  # None when an interrupted write left mixed fingerprints behind
    point_ids: set[str] = field(default_factory=set)
    source: str = ""  # "" for articles ingested without a source (or before sources existed)


def fingerprint(article: Article, dense: bool = True) -> str:
    """Content hash plus what else lands in the point, so a new URL, tag or vector set also re-indexes."""
    parts = (
        PIPELINE_VERSION,
        "dense" if dense else "sparse",
        article.content_hash,
        article.url,
        "\x1e".join(article.tags),
    ) + ((f"product:{article.product}",) if article.product else ())  # unset: fingerprints as before products
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


async def read_ledger(collection: Collection) -> dict[str, Stored]:
    """Every indexed article's fingerprint and point ids, read back from the payloads."""
    stored: dict[str, Stored] = {}
    for point, payload in await collection.payloads(_LEDGER_FIELDS):
        article_id = str(payload.get("article_id", ""))
        found = str(payload.get("fingerprint", ""))
        entry = stored.setdefault(article_id, Stored(found, source=str(payload.get("source") or "")))
        if entry.fingerprint != found:
            entry.fingerprint = None
        entry.point_ids.add(point)
    return stored


async def ingest(
    collection: Collection,
    articles: Sequence[Article],
    embed: EmbedChunks,
    *,
    dense: bool,
    source: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[IngestReport, bool]:
    """``KnowledgeBase.ingest``'s work (see there), and whether it changed any point.

    ``embed`` turns chunk texts into their dense vectors (None for a BM25-only collection); it runs
    in a thread.
    """
    incoming = {article.id for article in articles}
    if len(incoming) != len(articles):
        raise ValueError("ingest got duplicate article ids")
    tag = source or ""
    stored = await read_ledger(collection)
    added = updated = unchanged = 0
    relabelled = False
    moved: list[str] = []
    stale: list[str] = []
    pending: list[tuple[Article, Chunk, str]] = []
    for article in articles:
        digest = fingerprint(article, dense)
        old = stored.get(article.id)
        if old is not None and old.source not in ("", tag) and source is not None:
            moved.append(article.id)  # not from "": unlabelled articles of older releases are adopted quietly
        if old is not None and old.fingerprint == digest:
            unchanged += 1
            if old.source != tag:  # same content, new owner: relabel, nothing to embed
                await collection.set_source(old.point_ids, tag)
                relabelled = True
            continue
        chunks = chunk_article(article)
        if old is None:
            added += 1
        else:
            updated += 1
            stale.extend(old.point_ids - {point_id(article.id, chunk.chunk_no) for chunk in chunks})
        pending.extend((article, chunk, digest) for chunk in chunks)
    total = len(pending)
    if progress is not None:
        progress(0, total)
    for start in range(0, total, UPSERT_BATCH):
        batch = pending[start : start + UPSERT_BATCH]
        vectors = await asyncio.to_thread(embed, [chunk.text for _, chunk, _ in batch])
        points = [
            make_point(article, chunk, digest, None if vectors is None else vectors[i], tag)
            for i, (article, chunk, digest) in enumerate(batch)
        ]
        await collection.upsert(points)
        if progress is not None:
            progress(start + len(batch), total)
    gone = [
        article_id
        for article_id, entry in stored.items()
        if article_id not in incoming and (source is None or entry.source == tag)
    ]
    for article_id in gone:
        stale.extend(stored[article_id].point_ids)
    await collection.delete(stale)
    report = IngestReport(added, updated, unchanged, len(gone), total, moved)
    return report, relabelled or bool(pending or stale)
