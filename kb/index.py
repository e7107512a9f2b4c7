"""The knowledge base in Qdrant: incremental ingest and article-level BM25 search.

One point per chunk, with a deterministic id (uuid5 of article id and chunk number) and the
article's fingerprint in its payload. The payloads are therefore the ingest ledger: re-ingesting
reads them back, skips articles whose fingerprint matches, rewrites the ones that changed and
deletes the ones that disappeared. No side table can drift from what is actually indexed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qdrant_client import AsyncQdrantClient, models
from qdrant_client.conversions import common_types as types

from domain.models import KbHit
from kb.articles import Article
from kb.chunking import Chunk, chunk_article
from kb.sparse import SparseVec, encode_document, encode_query

DEFAULT_COLLECTION = "kb_articles"
VECTOR_NAME = "bm25"
UPSERT_BATCH = 128
DELETE_BATCH = 512
SCROLL_PAGE = 1024
SNIPPET_CHARS = 300
CANDIDATES_PER_HIT = 4  # chunks fetched per requested article, before collapsing to articles
# Part of every fingerprint: bump it when chunking or encoding changes so the next ingest
# rewrites every article instead of mixing old and new vectors.
PIPELINE_VERSION = "1"
_POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://help.lumora.example/kb/chunks")
_LEDGER_FIELDS = ["article_id", "fingerprint"]
_HEADING_MARK = re.compile(r"^#{1,6}\s+", re.MULTILINE)


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did; ``chunks`` counts chunks written (0 when nothing changed)."""

    added: int
    updated: int
    unchanged: int
    deleted: int
    chunks: int


@dataclass
class _Stored:
    fingerprint: str | None  # None when an interrupted write left mixed fingerprints behind
    point_ids: set[str] = field(default_factory=set)


def point_id(article_id: str, chunk_no: int) -> str:
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{article_id}\x1f{chunk_no}"))


def fingerprint(article: Article) -> str:
    """Content hash plus what else lands in the payload, so a new URL or tag also re-indexes."""
    parts = (PIPELINE_VERSION, article.content_hash, article.url, "\x1e".join(article.tags))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def open_qdrant(path: str | None, url: str | None, api_key: str | None = None) -> AsyncQdrantClient:
    """A Qdrant server when ``url`` is set, else local mode in folder ``path`` (or ``":memory:"``).

    Local mode locks its folder: only one client per folder per process tree.
    """
    if url:
        return AsyncQdrantClient(url=url, api_key=api_key)
    if not path:
        raise ValueError("open_qdrant needs a server url or a local path (or ':memory:')")
    if path == ":memory:":
        return AsyncQdrantClient(location=":memory:")
    Path(path).mkdir(parents=True, exist_ok=True)
    return AsyncQdrantClient(path=path)


class KnowledgeBase:
    """Help-centre articles indexed in one Qdrant collection with a BM25 sparse vector."""

    def __init__(self, client: AsyncQdrantClient, collection: str = DEFAULT_COLLECTION) -> None:
        self._client = client
        self._collection = collection

    @property
    def collection(self) -> str:
        return self._collection

    async def ensure_collection(self) -> None:
        """Create the collection (and its payload indexes) unless it exists; check its shape if it does."""
        if await self._client.collection_exists(self._collection):
            info = await self._client.get_collection(self._collection)
            sparse = info.config.params.sparse_vectors or {}
            if VECTOR_NAME not in sparse:
                raise ValueError(f"collection {self._collection!r} exists without sparse vector {VECTOR_NAME!r}")
            return
        await self._client.create_collection(
            self._collection,
            vectors_config={},
            sparse_vectors_config={VECTOR_NAME: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        with warnings.catch_warnings():
            # Local mode accepts payload indexes but warns that it ignores them; servers use them.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            for name, schema in (
                ("category", models.PayloadSchemaType.KEYWORD),
                ("article_id", models.PayloadSchemaType.KEYWORD),
                ("chunk_no", models.PayloadSchemaType.INTEGER),
            ):
                await self._client.create_payload_index(self._collection, name, field_schema=schema)

    async def ingest(
        self, articles: Sequence[Article], progress: Callable[[int, int], None] | None = None
    ) -> IngestReport:
        """Bring the collection in line with ``articles``: add, rewrite, skip or delete per article.

        New chunks are written before stale ones are deleted, so a changed article is never
        missing from search; an interrupted run is repaired by the next one (mixed fingerprints
        count as changed). ``progress(done, total)`` is called in articles after each batch.

        Raises:
            ValueError: two articles share an id.
        """
        incoming = {article.id for article in articles}
        if len(incoming) != len(articles):
            raise ValueError("ingest got duplicate article ids")
        stored = await self._ledger()
        added = updated = unchanged = written = 0
        stale: list[str] = []
        batch: list[models.PointStruct] = []
        total = len(articles)
        for done, article in enumerate(articles, start=1):
            digest = fingerprint(article)
            old = stored.get(article.id)
            if old is not None and old.fingerprint == digest:
                unchanged += 1
                continue
            points = [self._point(article, chunk, digest) for chunk in chunk_article(article)]
            if old is None:
                added += 1
            else:
                updated += 1
                stale.extend(old.point_ids - {str(point.id) for point in points})
            batch.extend(points)
            written += len(points)
            if len(batch) >= UPSERT_BATCH:
                await self._client.upsert(self._collection, points=batch)
                batch = []
                if progress is not None:
                    progress(done, total)
        if batch:
            await self._client.upsert(self._collection, points=batch)
        gone = [article_id for article_id in stored if article_id not in incoming]
        for article_id in gone:
            stale.extend(stored[article_id].point_ids)
        for start in range(0, len(stale), DELETE_BATCH):
            selector = models.PointIdsList(points=list(stale[start : start + DELETE_BATCH]))
            await self._client.delete(self._collection, points_selector=selector)
        if progress is not None:
            progress(total, total)
        return IngestReport(added, updated, unchanged, len(gone), written)

    async def search(self, query: str, limit: int = 5, category: str | None = None) -> list[KbHit]:
        """Best-matching articles for ``query``, best first, one hit per article (its best chunk).

        A query with no searchable terms (empty, only stop words) returns ``[]``.
        """
        vector = encode_query(query)
        if not vector or limit <= 0:
            return []
        query_filter = None
        if category:
            query_filter = models.Filter(
                must=[models.FieldCondition(key="category", match=models.MatchValue(value=category))]
            )
        response = await self._client.query_points(
            self._collection,
            query=_to_qdrant(vector),
            using=VECTOR_NAME,
            query_filter=query_filter,
            limit=limit * CANDIDATES_PER_HIT,
            with_payload=True,
        )
        hits: dict[str, KbHit] = {}
        for point in response.points:  # sorted by score, so the first chunk seen is the best
            payload = point.payload or {}
            article_id = str(payload.get("article_id", ""))
            if point.score <= 0 or not article_id or article_id in hits:
                continue
            hits[article_id] = KbHit(
                article_id=article_id,
                title=str(payload.get("title", "")),
                snippet=make_snippet(str(payload.get("body") or payload.get("text", ""))),
                score=float(point.score),
                category=str(payload.get("category", "")),
                url=str(payload.get("url", "")),
                text=str(payload.get("text", "")),
            )
            if len(hits) == limit:
                break
        return list(hits.values())

    async def count_articles(self) -> int:
        """Number of indexed articles (every article has a chunk 0)."""
        first_chunks = models.Filter(must=[models.FieldCondition(key="chunk_no", match=models.MatchValue(value=0))])
        result = await self._client.count(self._collection, count_filter=first_chunks, exact=True)
        return result.count

    async def _ledger(self) -> dict[str, _Stored]:
        """Every indexed article's fingerprint and point ids, read back from the payloads."""
        stored: dict[str, _Stored] = {}
        offset: types.PointId | None = None
        while True:
            records, offset = await self._client.scroll(
                self._collection, limit=SCROLL_PAGE, offset=offset, with_payload=_LEDGER_FIELDS
            )
            for record in records:
                payload = record.payload or {}
                article_id = str(payload.get("article_id", ""))
                found = str(payload.get("fingerprint", ""))
                entry = stored.setdefault(article_id, _Stored(found))
                if entry.fingerprint != found:
                    entry.fingerprint = None
                entry.point_ids.add(str(record.id))
            if offset is None:
                return stored

    def _point(self, article: Article, chunk: Chunk, digest: str) -> models.PointStruct:
        return models.PointStruct(
            id=point_id(article.id, chunk.chunk_no),
            vector={VECTOR_NAME: _to_qdrant(encode_document(chunk.text))},
            payload={
                "article_id": article.id,
                "chunk_no": chunk.chunk_no,
                "title": article.title,
                "category": article.category,
                "url": article.url,
                "tags": list(article.tags),
                "heading": chunk.heading,
                "text": chunk.text,
                "body": chunk.body,
                "content_hash": article.content_hash,
                "fingerprint": digest,
            },
        )


def make_snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` flattened to one line (heading marks dropped), cut at a word to ``limit`` characters."""
    flat = " ".join(_HEADING_MARK.sub(" ", text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def _to_qdrant(vector: SparseVec) -> models.SparseVector:
    return models.SparseVector(indices=vector.indices, values=vector.values)
