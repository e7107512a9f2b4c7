"""The knowledge base in Qdrant: incremental ingest and article-level hybrid search.

One point per chunk, with a deterministic id (uuid5 of article id and chunk number), three vectors
(``bm25``: our BM25 sparse vector of the chunk, IDF applied by Qdrant; ``title``: the same for the
article's title; ``minilm``: the chunk's sentence embedding, cosine) and the article's fingerprint
in its payload. The payloads are the ingest
ledger: re-ingesting reads them back, skips articles whose fingerprint matches (no embedding, no
write), rewrites the ones that changed and deletes the ones that disappeared.

Search ranks chunks three ways (BM25 over the text, BM25 over the title, embedding similarity),
collapses each ranking to articles (an article ranks where its best chunk does) and fuses the
article rankings with weighted reciprocal rank fusion. A long query (a customer's whole story) runs
twice: the second time its BM25 terms and embedding windows lean towards the first run's best
articles (pseudo-relevance feedback, see FEEDBACK_ARTICLES). On a Qdrant server the rankings come from
one batched query; in embedded local mode they come from ``kb.mirror``, a numpy copy of the
collection, because local mode scores sparse vectors in pure Python.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.conversions import common_types as types

from domain.models import KbHit
from kb.articles import Article
from kb.chunking import HEADING_SEPARATOR, Chunk, chunk_article
from kb.embeddings import DIMENSION, MODEL_ID, Embedder, shared_embedder
from kb.errors import KnowledgeBaseLocked
from kb.mirror import Mirror, Ranked, Where
from kb.sparse import SparseVec, encode_document, encode_query

DEFAULT_COLLECTION = "kb_articles"
VECTOR_NAME = "bm25"
TITLE_NAME = "title"
DENSE_NAME = "minilm"
TITLE_AVG_LEN = 8.0  # typical title length in terms, for BM25's length normalisation of titles
UPSERT_BATCH = 64  # chunks embedded and written per batch (also the progress step)
DELETE_BATCH = 512
SCROLL_PAGE = 1024
SNIPPET_CHARS = 300
# Chunks each ranking contributes before collapsing to articles and fusing: a fixed depth, so the
# fused order of the first articles does not depend on how many were asked for (measured on the
# tau2 tasks: 100 beats 40 and 600).
MIN_DEPTH = 100
DEPTH_PER_HIT = 2
RRF_K = 60  # the usual constant: ranks 1 and 10 differ, ranks 40 and 50 hardly do
# Another chunk of a hit's article that ranks this high in any list comes with the hit (`more`): a question's
# answer may sit in the section after the one that matched best ("Forgot password?" is named in the SSO
# section; the reset steps are in the one before it).
SECOND_CHUNK_RANK = 10
# Fusion weights, measured on the tau2 banking tasks (README, "Knowledge base and triage"): the
# text's BM25 leads; embeddings and titles each add what it misses.
BM25_WEIGHT = 1.0
DENSE_WEIGHT = 0.5
TITLE_WEIGHT = 0.25
# A long query (a customer's whole story) is embedded in windows of about this many words; a
# chunk's dense score is its best similarity to any window, so one sentence about fees finds the
# fees article although the rest of the message is about something else.
QUERY_WINDOW_WORDS = 40
# Up to this many words a query is embedded whole (well inside the model's 256 word pieces). A
# ticket this long is what triage embeds too, so the worker computes its vector once. Ranks of the
# demo tickets' articles are the same either way; the tau2 scenarios (249+ words) stay windowed.
WHOLE_QUERY_WORDS = 100
# Pseudo-relevance feedback for long queries (a customer's whole story, several windows): the first
# fused ranking's top FEEDBACK_ARTICLES articles are taken as relevant and the text and embedding
# rankings run a second time. BM25's query gains the FEEDBACK_TERMS terms those articles' chunks
# weigh most (RM3, at FEEDBACK_TERM_WEIGHT of the query's own term mass); each embedding window moves
# towards the mean of their chunk vectors (Rocchio, FEEDBACK_DENSE_WEIGHT). A story says much that is
# beside the point; the articles it matched best say which of its words matter. On the tau2 banking
# tasks: recall@10 0.355 -> 0.384, recall@20 0.483 -> 0.498, MRR 0.637 -> 0.667 (recall@5 0.247 ->
# 0.229); 3-8 articles x 5-20 terms x 0.1-0.2 x 0.25-1 gave recall@10 0.348-0.395, median 0.377.
# Costs one more index pass (scenarios: index + fusion p50 about 4.6 -> 9.3 ms). Short questions are
# left alone: their intent is plain, and nothing measures feedback on them.
FEEDBACK_ARTICLES = 5
FEEDBACK_TERMS = 10
FEEDBACK_TERM_WEIGHT = 0.1
FEEDBACK_DENSE_WEIGHT = 0.5
# Part of every fingerprint: bump it when chunking or encoding changes so the next ingest
# rewrites every article instead of mixing old and new vectors.
PIPELINE_VERSION = f"3:{MODEL_ID}"
# Keyword and integer indexes for the payload fields searches and the ingest ledger filter on.
PAYLOAD_INDEXES = (
    ("category", models.PayloadSchemaType.KEYWORD),
    ("product", models.PayloadSchemaType.KEYWORD),
    ("article_id", models.PayloadSchemaType.KEYWORD),
    ("chunk_no", models.PayloadSchemaType.INTEGER),
)
_POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://help.lumora.example/kb/chunks")
_LEDGER_FIELDS = ["article_id", "fingerprint", "source"]
_HEADING_MARK = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

SearchMode = Literal["hybrid", "bm25", "dense"]
log = logging.getLogger("kb")


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
class _Stored:
    fingerprint: str | None  # None when an interrupted write left mixed fingerprints behind
    point_ids: set[str] = field(default_factory=set)
    source: str = ""  # "" for articles ingested without a source (or before sources existed)


def point_id(article_id: str, chunk_no: int) -> str:
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{article_id}\x1f{chunk_no}"))


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


def open_qdrant(path: str | None, url: str | None, api_key: str | None = None) -> AsyncQdrantClient:
    """A Qdrant server when ``url`` is set, else local mode in folder ``path`` (or ``":memory:"``).

    Local mode locks its folder: only one client per folder per process tree; a second one raises
    KnowledgeBaseLocked.
    """
    if url:
        return AsyncQdrantClient(url=url, api_key=api_key)
    if not path:
        raise ValueError("open_qdrant needs a server url or a local path (or ':memory:')")
    if path == ":memory:":
        return AsyncQdrantClient(location=":memory:")
    Path(path).mkdir(parents=True, exist_ok=True)
    try:
        return AsyncQdrantClient(path=path)
    except RuntimeError as e:
        if "already accessed by another instance" not in str(e):
            raise
        raise KnowledgeBaseLocked(path) from None


def is_local(client: AsyncQdrantClient) -> bool:
    """True for embedded local mode (a folder or ``:memory:``), False for a server."""
    options = client.init_options
    return bool(options.get("path")) or options.get("location") == ":memory:"


def query_windows(query: str, words: int = QUERY_WINDOW_WORDS, whole: int = WHOLE_QUERY_WORDS) -> list[str]:
    """The query itself up to ``whole`` words; else consecutive sentence groups of about ``words`` words."""
    if len(query.split()) <= max(words, whole):
        return [query]
    windows: list[list[str]] = []
    count = 0
    for sentence in (s.strip() for s in _SENTENCE.split(query)):
        if not sentence:
            continue
        n = len(sentence.split())
        if not windows or count + n > words:
            windows.append([])
            count = 0
        windows[-1].append(sentence)
        count += n
    return [" ".join(w) for w in windows]


def expand_query(
    query: SparseVec, feedback: Sequence[SparseVec], terms: int = FEEDBACK_TERMS, weight: float = FEEDBACK_TERM_WEIGHT
) -> SparseVec:
    """RM3: ``query`` (term counts) mixed with the ``terms`` heaviest terms of the feedback chunks.

    Each feedback chunk contributes its BM25 term weights as a distribution (summing to 1); the
    expansion terms keep their share of the summed distribution, scaled to ``weight`` of the
    query's term mass, which keeps ``1 - weight``. Without feedback the query comes back as it was.
    """
    mass: dict[int, float] = {}
    for vector in feedback:
        total = sum(vector.values)
        for index, value in zip(vector.indices, vector.values, strict=True):
            if total > 0:
                mass[index] = mass.get(index, 0.0) + value / total
    chosen = sorted(mass, key=lambda i: (-mass[i], i))[:terms]
    expansion = sum(mass[i] for i in chosen)
    if not query or expansion <= 0:
        return query
    size = sum(query.values)
    weights = {i: (1.0 - weight) * v for i, v in zip(query.indices, query.values, strict=True)}
    for index in chosen:
        weights[index] = weights.get(index, 0.0) + weight * size * mass[index] / expansion
    indices = sorted(weights)
    return SparseVec(indices, [weights[i] for i in indices])


def shift_windows(
    windows: npt.NDArray[np.float32], feedback: npt.NDArray[np.float32], weight: float = FEEDBACK_DENSE_WEIGHT
) -> npt.NDArray[np.float32]:
    """Rocchio: each (unit) window vector plus ``weight`` times the feedback chunks' unit mean, renormalised."""
    if not len(feedback):
        return windows
    centroid = feedback.mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    if norm == 0.0:
        return windows
    shifted = (windows + weight * (centroid / norm)).astype(np.float32)
    unit: npt.NDArray[np.float32] = shifted / np.linalg.norm(shifted, axis=1, keepdims=True)
    return unit


def fuse(rankings: Sequence[tuple[float, Sequence[Ranked]]], limit: int, k: int = RRF_K) -> list[tuple[float, Ranked]]:
    """Weighted reciprocal rank fusion of chunk rankings, at article level.

    Each ranking first collapses to articles (an article takes the rank of its best chunk); an
    article's fused score is the sum of ``weight / (k + rank)``. Its representative chunk is the
    one that gave it its best rank in any list (ties: the earlier list).
    """
    scores: dict[str, float] = {}
    best: dict[str, tuple[int, Ranked]] = {}
    for weight, ranking in rankings:
        seen: set[str] = set()
        for chunk in ranking:
            article_id = str(chunk.payload.get("article_id", ""))
            if not article_id or article_id in seen:
                continue
            seen.add(article_id)
            rank = len(seen)
            scores[article_id] = scores.get(article_id, 0.0) + weight / (k + rank)
            if article_id not in best or rank < best[article_id][0]:
                best[article_id] = (rank, chunk)
    ordered = sorted(scores, key=lambda a: (-scores[a], best[a][0], a))
    return [(scores[a], best[a][1]) for a in ordered[:limit]]


class KnowledgeBase:
    """Help-centre articles in one Qdrant collection with a BM25 sparse vector and a dense embedding.

    ``dense=False`` keeps the collection BM25-only (no model is loaded, no title ranking either):
    plain BM25 search, as before hybrid search.
    """

    def __init__(
        self,
        client: AsyncQdrantClient,
        collection: str = DEFAULT_COLLECTION,
        *,
        dense: bool = True,
        embedder: Embedder | None = None,
    ) -> None:
        self._client = client
        self._collection = collection
        self._dense = dense
        self._embedder = embedder if embedder is not None or not dense else None
        self._local = is_local(client)
        self._mirror: Mirror | None = None
        self._mirror_lock = asyncio.Lock()

    @property
    def collection(self) -> str:
        return self._collection

    @property
    def dense(self) -> bool:
        return self._dense

    def _model(self) -> Embedder:
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    async def ensure_collection(self) -> bool:
        """Create the collection (and its payload indexes) unless it exists with the right vectors.

        A collection from an older pipeline (other vectors) is dropped and recreated empty: it
        only ever holds what ``ingest`` derives from the articles, and the next ingest refills it.
        Returns True when the collection was (re)created.
        """
        if await self._client.collection_exists(self._collection):
            info = await self._client.get_collection(self._collection)
            sparse = info.config.params.sparse_vectors or {}
            vectors = info.config.params.vectors
            dense_names = set(vectors) if isinstance(vectors, dict) else set()
            if {VECTOR_NAME, TITLE_NAME} <= set(sparse) and dense_names == ({DENSE_NAME} if self._dense else set()):
                if not self._local:  # a server collection made before an index existed (product) gets it now
                    indexed = set(info.payload_schema or {})
                    await self._create_payload_indexes([f for f in PAYLOAD_INDEXES if f[0] not in indexed])
                return False
            log.warning(
                "collection %r has vectors %s from an older pipeline: recreating it empty (run `supportctl kb ingest`)",
                self._collection,
                sorted(set(sparse) | dense_names),
            )
            await self._client.delete_collection(self._collection)
        await self._client.create_collection(
            self._collection,
            vectors_config=(
                {DENSE_NAME: models.VectorParams(size=DIMENSION, distance=models.Distance.COSINE)}
                if self._dense
                else {}
            ),
            sparse_vectors_config={
                name: models.SparseVectorParams(modifier=models.Modifier.IDF) for name in (VECTOR_NAME, TITLE_NAME)
            },
        )
        await self._create_payload_indexes(PAYLOAD_INDEXES)
        self._mirror = None
        return True

    async def _create_payload_indexes(self, fields: Sequence[tuple[str, models.PayloadSchemaType]]) -> None:
        with warnings.catch_warnings():
            # Local mode accepts payload indexes but warns that it ignores them; servers use them.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            for name, schema in fields:
                await self._client.create_payload_index(self._collection, name, field_schema=schema)

    async def warm_up(self) -> None:
        """Load the embedding model and (local mode) build the search mirror now, not on the first query."""
        if self._dense:
            await asyncio.to_thread(lambda: self._model().embed_one("warm up", persist=False))
        if self._local:
            await self._get_mirror()

    async def ingest(
        self,
        articles: Sequence[Article],
        progress: Callable[[int, int], None] | None = None,
        *,
        source: str | None = None,
    ) -> IngestReport:
        """Bring ``source``'s articles in line with ``articles``: add, rewrite, skip or delete per article.

        ``source`` names where the articles come from (a folder, an export, "demo"): only that
        source's articles missing from ``articles`` are deleted, so loading a second folder never
        removes the first one's. Without a source, ``articles`` is the whole collection.
        Unchanged articles cost nothing (no chunking, no embedding, no write). New chunks are
        written before stale ones are deleted, so a changed article is never missing from search;
        an interrupted run is repaired by the next one (mixed fingerprints count as changed).
        ``progress(done, total)`` is called in chunks to write, after each batch.

        Raises:
            ValueError: two articles share an id.
        """
        incoming = {article.id for article in articles}
        if len(incoming) != len(articles):
            raise ValueError("ingest got duplicate article ids")
        tag = source or ""
        stored = await self._ledger()
        added = updated = unchanged = 0
        moved: list[str] = []
        stale: list[str] = []
        pending: list[tuple[Article, Chunk, str]] = []
        for article in articles:
            digest = fingerprint(article, self._dense)
            old = stored.get(article.id)
            if old is not None and old.source not in ("", tag) and source is not None:
                moved.append(article.id)  # not from "": unlabelled articles of older releases are adopted quietly
            if old is not None and old.fingerprint == digest:
                unchanged += 1
                if old.source != tag:  # same content, new owner: relabel, nothing to embed
                    selector = models.PointIdsList(points=sorted(old.point_ids))
                    await self._client.set_payload(self._collection, payload={"source": tag}, points=selector)
                    self._mirror = None
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
            vectors = await asyncio.to_thread(self._embed_chunks, [chunk.text for _, chunk, _ in batch])
            points = [
                self._point(article, chunk, digest, None if vectors is None else vectors[i], tag)
                for i, (article, chunk, digest) in enumerate(batch)
            ]
            await self._client.upsert(self._collection, points=points)
            if progress is not None:
                progress(start + len(batch), total)
        gone = [
            article_id
            for article_id, entry in stored.items()
            if article_id not in incoming and (source is None or entry.source == tag)
        ]
        for article_id in gone:
            stale.extend(stored[article_id].point_ids)
        for start in range(0, len(stale), DELETE_BATCH):
            selector = models.PointIdsList(points=list(stale[start : start + DELETE_BATCH]))
            await self._client.delete(self._collection, points_selector=selector)
        if pending or stale:
            self._mirror = None
        return IngestReport(added, updated, unchanged, len(gone), total, moved)

    async def article_sources(self) -> dict[str, str]:
        """Every article id and its source ("" for those ingested without one), from the ingest ledger."""
        return {article_id: entry.source for article_id, entry in (await self._ledger()).items()}

    async def sources(self) -> dict[str, int]:
        """Articles per source."""
        counts: dict[str, int] = {}
        for source in (await self.article_sources()).values():
            counts[source] = counts.get(source, 0) + 1
        return counts

    async def forget(self, source: str) -> int:
        """Delete every article of ``source``; the number deleted."""
        return (await self.ingest([], source=source)).deleted

    def _embed_chunks(self, texts: list[str]) -> npt.NDArray[np.float32] | None:
        return self._model().embed(texts) if self._dense else None

    async def search(
        self,
        query: str,
        limit: int = 5,
        category: str | None = None,
        mode: SearchMode = "hybrid",
        *,
        product: str | None = None,
        include_shared: bool = False,
    ) -> list[KbHit]:
        """Best-matching articles for ``query``, best first, one hit per article (its best chunk).

        ``category`` and ``product`` keep to articles with that value (both: with both);
        ``include_shared`` adds, to a ``product``'s articles, those that name no product.
        ``mode`` picks BM25 alone, embeddings alone, or both fused (the default; BM25 alone when
        the collection has no dense vectors). A query without a searchable word (empty, only stop
        words or punctuation) returns ``[]``.
        """
        where = Where(category or None, product or None, include_shared)
        terms = encode_query(query)
        if limit <= 0 or not terms:  # nothing but stop words and punctuation: nothing to look for
            return []
        use_dense = mode in ("hybrid", "dense") and self._dense
        sparse = terms if mode in ("hybrid", "bm25") or not self._dense else SparseVec([], [])
        windows: npt.NDArray[np.float32] | None = None
        if use_dense:
            # A query is unique: the in-memory cache only, never the disk cache (see Embedder.embed).
            windows = await asyncio.to_thread(lambda: self._model().embed(query_windows(query), persist=False))
        depth = max(MIN_DEPTH, limit * DEPTH_PER_HIT)
        text_ranked, title_ranked, dense_ranked = await self._rank(sparse, use_dense, windows, depth, where)
        rankings = self._weighted(text_ranked, dense_ranked, title_ranked)
        if not rankings:
            return []
        if len(rankings) == 1:  # a single retriever: keep its own score (BM25 or cosine)
            fused = [(chunk.score, chunk) for chunk in _collapse(rankings[0][1], limit)]
        else:
            fused = fuse(rankings, max(limit, FEEDBACK_ARTICLES))
            if mode == "hybrid" and windows is not None and len(windows) > 1 and sparse:  # a long query
                feedback = [str(chunk.payload.get("article_id", "")) for _, chunk in fused[:FEEDBACK_ARTICLES]]
                feedback_sparse, feedback_dense = await self._article_vectors(feedback)
                if feedback_dense is not None:
                    windows = shift_windows(windows, feedback_dense)
                text_ranked, _, dense_ranked = await self._rank(
                    expand_query(sparse, feedback_sparse), False, windows, depth, where
                )
                rankings = self._weighted(text_ranked, dense_ranked, title_ranked)
                fused = fuse(rankings, limit)
            fused = fused[:limit]
        seconds = _second_chunks([r for _, r in rankings], [chunk for _, chunk in fused])
        return [_hit(score, chunk, seconds.get(chunk.point_id)) for score, chunk in fused]

    @staticmethod
    def _weighted(
        text_ranked: list[Ranked], dense_ranked: list[Ranked], title_ranked: list[Ranked]
    ) -> list[tuple[float, list[Ranked]]]:
        weighted = ((BM25_WEIGHT, text_ranked), (DENSE_WEIGHT, dense_ranked), (TITLE_WEIGHT, title_ranked))
        return [(w, r) for w, r in weighted if r]

    async def _rank(
        self,
        sparse: SparseVec,
        titles: bool,
        windows: npt.NDArray[np.float32] | None,
        depth: int,
        where: Where,
    ) -> tuple[list[Ranked], list[Ranked], list[Ranked]]:
        """The text, title (when ``titles``) and dense rankings, from the mirror or the server."""
        if not self._local:
            return await self._server_rank(sparse, titles, windows, depth, where)
        mirror = await self._get_mirror()
        text_ranked = mirror.sparse_rank(sparse, depth, where, VECTOR_NAME) if sparse else []
        title_ranked = mirror.sparse_rank(sparse, depth, where, TITLE_NAME) if titles and sparse else []
        dense_ranked = (
            self._merge_windows([mirror.dense_rank(w, depth, where) for w in windows], depth)
            if windows is not None
            else []
        )
        return text_ranked, title_ranked, dense_ranked

    async def _article_vectors(self, article_ids: list[str]) -> tuple[list[SparseVec], npt.NDArray[np.float32] | None]:
        """The BM25 text vectors and embeddings of every chunk of these articles."""
        if self._local:
            return (await self._get_mirror()).article_vectors(article_ids, VECTOR_NAME)
        chunks = models.Filter(must=[models.FieldCondition(key="article_id", match=models.MatchAny(any=article_ids))])
        sparse_vectors: list[SparseVec] = []
        dense: list[list[float]] = []
        offset: types.PointId | None = None
        while True:
            page, offset = await self._client.scroll(
                self._collection,
                scroll_filter=chunks,
                limit=SCROLL_PAGE,
                offset=offset,
                with_payload=False,
                with_vectors=[VECTOR_NAME, DENSE_NAME],
            )
            for record in page:
                vectors = record.vector if isinstance(record.vector, dict) else {}
                raw_sparse, raw_dense = vectors.get(VECTOR_NAME), vectors.get(DENSE_NAME)
                if isinstance(raw_sparse, models.SparseVector):
                    sparse_vectors.append(SparseVec(list(raw_sparse.indices), list(raw_sparse.values)))
                if isinstance(raw_dense, list):
                    dense.append([float(x) for x in raw_dense if isinstance(x, int | float)])
            if offset is None:
                return sparse_vectors, np.array(dense, dtype=np.float32) if dense else None

    @staticmethod
    def _merge_windows(rankings: list[list[Ranked]], depth: int) -> list[Ranked]:
        """One dense ranking from the windows' rankings: each chunk at its best score."""
        if len(rankings) == 1:
            return rankings[0]
        best: dict[str, Ranked] = {}
        for ranking in rankings:
            for chunk in ranking:
                if chunk.point_id not in best or chunk.score > best[chunk.point_id].score:
                    best[chunk.point_id] = chunk
        return sorted(best.values(), key=lambda c: -c.score)[:depth]

    async def _server_rank(
        self,
        sparse: SparseVec,
        titles: bool,
        windows: npt.NDArray[np.float32] | None,
        depth: int,
        where: Where,
    ) -> tuple[list[Ranked], list[Ranked], list[Ranked]]:
        """The three rankings from a Qdrant server, in one batched request."""
        query_filter = _qdrant_filter(where)
        requests: list[models.QueryRequest] = []
        names = ([VECTOR_NAME] if sparse else []) + ([TITLE_NAME] if sparse and titles else [])
        for name in names:
            requests.append(
                models.QueryRequest(
                    query=_to_qdrant(sparse), using=name, filter=query_filter, limit=depth, with_payload=True
                )
            )
        for window in windows if windows is not None else []:
            requests.append(
                models.QueryRequest(
                    query=window.tolist(), using=DENSE_NAME, filter=query_filter, limit=depth, with_payload=True
                )
            )
        if not requests:
            return [], [], []
        responses = await self._client.query_batch_points(self._collection, requests=requests)
        ranked = [
            [Ranked(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]
            for response in responses
        ]
        text_ranked = ranked.pop(0) if VECTOR_NAME in names else []
        title_ranked = ranked.pop(0) if TITLE_NAME in names else []
        return text_ranked, title_ranked, self._merge_windows(ranked, depth) if ranked else []

    async def _get_mirror(self) -> Mirror:
        async with self._mirror_lock:
            if self._mirror is None:
                self._mirror = await self._load_mirror()
            return self._mirror

    async def _load_mirror(self) -> Mirror:
        records: list[tuple[str, dict[str, Any], dict[str, SparseVec], list[float] | None]] = []
        offset: types.PointId | None = None
        while True:
            page, offset = await self._client.scroll(
                self._collection, limit=SCROLL_PAGE, offset=offset, with_payload=True, with_vectors=True
            )
            for record in page:
                vectors = record.vector if isinstance(record.vector, dict) else {}
                raw_dense = vectors.get(DENSE_NAME)
                sparse = {
                    name: SparseVec(list(raw.indices), list(raw.values))
                    for name, raw in vectors.items()
                    if isinstance(raw, models.SparseVector)
                }
                dense = (
                    [float(x) for x in raw_dense if isinstance(x, int | float)] if isinstance(raw_dense, list) else None
                )
                records.append((str(record.id), dict(record.payload or {}), sparse, dense))
            if offset is None:
                return Mirror(records)

    async def values_of(self, field: Literal["category", "product"]) -> list[str]:
        """The distinct values of a filterable field over the indexed articles (what a filter can match)."""
        first_chunks = models.Filter(must=[models.FieldCondition(key="chunk_no", match=models.MatchValue(value=0))])
        values: set[str] = set()
        offset: types.PointId | None = None
        while True:
            page, offset = await self._client.scroll(
                self._collection, scroll_filter=first_chunks, limit=SCROLL_PAGE, offset=offset, with_payload=[field]
            )
            values.update(str((record.payload or {}).get(field) or "") for record in page)
            if offset is None:
                return sorted(values - {""})

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
                entry = stored.setdefault(article_id, _Stored(found, source=str(payload.get("source") or "")))
                if entry.fingerprint != found:
                    entry.fingerprint = None
                entry.point_ids.add(str(record.id))
            if offset is None:
                return stored

    def _point(
        self, article: Article, chunk: Chunk, digest: str, dense: npt.NDArray[np.float32] | None, source: str = ""
    ) -> models.PointStruct:
        vector: dict[str, Any] = {
            VECTOR_NAME: _to_qdrant(encode_document(chunk.text)),
            TITLE_NAME: _to_qdrant(encode_document(article.title, avg_len=TITLE_AVG_LEN)),
        }
        if dense is not None:
            vector[DENSE_NAME] = dense.tolist()
        return models.PointStruct(
            id=point_id(article.id, chunk.chunk_no),
            vector=vector,
            payload={
                "article_id": article.id,
                "chunk_no": chunk.chunk_no,
                "title": article.title,
                "category": article.category,
                "product": article.product,
                "url": article.url,
                "tags": list(article.tags),
                "heading": chunk.heading,
                "text": chunk.text,
                "body": chunk.body,
                "content_hash": article.content_hash,
                "fingerprint": digest,
                "source": source,
            },
        )


def _collapse(ranking: Sequence[Ranked], limit: int) -> list[Ranked]:
    seen: set[str] = set()
    out: list[Ranked] = []
    for chunk in ranking:
        article_id = str(chunk.payload.get("article_id", ""))
        if article_id and article_id not in seen:
            seen.add(article_id)
            out.append(chunk)
            if len(out) == limit:
                break
    return out


def _second_chunks(rankings: Sequence[Sequence[Ranked]], chosen: Sequence[Ranked]) -> dict[str, Ranked]:
    """For each chosen chunk, the best-ranked other chunk of its article within the top SECOND_CHUNK_RANK
    of any ranking (keyed by the chosen chunk's point id)."""
    by_article = {str(c.payload.get("article_id", "")): c.point_id for c in chosen}
    taken = set(by_article.values())
    best: dict[str, tuple[int, Ranked]] = {}
    for ranking in rankings:
        for rank, chunk in enumerate(ranking[:SECOND_CHUNK_RANK]):
            owner = by_article.get(str(chunk.payload.get("article_id", "")))
            if owner is not None and chunk.point_id not in taken and (owner not in best or rank < best[owner][0]):
                best[owner] = (rank, chunk)
    return {owner: chunk for owner, (_, chunk) in best.items()}


def _hit(score: float, chunk: Ranked, second: Ranked | None = None) -> KbHit:
    payload = chunk.payload
    more = ""
    if second is not None:  # under its own heading, so it reads as another section, not as more of this one
        heading = str(second.payload.get("heading") or payload.get("title", "")).split(HEADING_SEPARATOR)[-1]
        more = f"## {heading}\n\n{second.payload.get('body', '')}"
    return KbHit(
        article_id=str(payload.get("article_id", "")),
        title=str(payload.get("title", "")),
        snippet=make_snippet(str(payload.get("body") or payload.get("text", ""))),
        score=round(float(score), 6),
        category=str(payload.get("category", "")),
        product=str(payload.get("product", "")),
        url=str(payload.get("url", "")),
        text=str(payload.get("text", "")),
        more=more,
    )


def _qdrant_filter(where: Where) -> models.Filter | None:
    conditions: list[models.Condition] = [
        models.FieldCondition(
            key=key,
            match=models.MatchValue(value=values[0]) if len(values) == 1 else models.MatchAny(any=list(values)),
        )
        for key, values in where.conditions()
    ]
    return models.Filter(must=conditions) if conditions else None


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
