"""The knowledge base's public face: ``KnowledgeBase`` (incremental ingest, article-level hybrid search).

Search ranks chunks three ways (BM25 over the text, BM25 over the title, embedding similarity),
collapses each ranking to articles and fuses them (``kb.fusion``). A long query runs twice, the
second time leaning towards the first run's best articles (``kb.expansion``). On a Qdrant server
the rankings come from one batched query (``kb.store``); in embedded local mode they come from
``kb.mirror``, a numpy copy of the collection, because local mode scores sparse vectors in pure
Python. Ingest keeps the collection in line with its sources through ``kb.ledger``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
from qdrant_client import AsyncQdrantClient

from domain.models import KbHit
from kb.articles import Article
from kb.embeddings import Embedder, shared_embedder
from kb.expansion import FEEDBACK_ARTICLES, expand_query, query_windows, shift_windows
from kb.fusion import collapse, fuse, merge_windows, second_chunks, weighted
from kb.hits import to_hit
from kb.ledger import IngestReport, ingest, read_ledger
from kb.mirror import Mirror, Where
from kb.precedents import Precedents
from kb.sparse import SparseVec, encode_query
from kb.store import DEFAULT_COLLECTION, TITLE_NAME, VECTOR_NAME, Collection, Rankings, is_local, open_qdrant

__all__ = ["DEFAULT_COLLECTION", "IngestReport", "KnowledgeBase", "SearchMode", "open_qdrant"]

# Chunks each ranking contributes before collapsing to articles and fusing: a fixed depth, so the
# fused order of the first articles does not depend on how many were asked for.
MIN_DEPTH = 100
DEPTH_PER_HIT = 2

# The precedents' vote (``kb.precedents``): their best article counts as much as BM25's first place. Chosen
# leaving each spent eval set out in turn: the first article only, at weights 0.5 to 2, did best (figures in
# docs/knowledge-and-triage.md); more of the precedents' ranking added articles the question was not about.
PRECEDENT_WEIGHT = 1.0
PRECEDENT_DEPTH = 1

SearchMode = Literal["hybrid", "bm25", "dense"]


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
        precedents: Precedents | None = None,
    ) -> None:
        self._store = Collection(client, collection)
        self._dense = dense
        self._embedder = embedder if embedder is not None or not dense else None
        self._local = is_local(client)
        self._mirror: Mirror | None = None
        self._mirror_lock = asyncio.Lock()
        self._precedents = precedents if dense else None

    @property
    def collection(self) -> str:
        return self._store.name

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
        created = await self._store.ensure(self._dense, self._local)
        if created:
            self._mirror = None
        return created

    async def warm_up(self) -> None:
        """Load the embedding model and (local mode) build the search mirror now, not on the first query."""
        if self._dense:
            await asyncio.to_thread(lambda: self._model().embed_one("warm up", persist=False))
        if self._precedents is not None:
            await asyncio.to_thread(self._precedents.warm_up)
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
        report, changed = await ingest(
            self._store, articles, self._embed_chunks, dense=self._dense, source=source, progress=progress
        )
        if changed:
            self._mirror = None
        return report

    async def article_sources(self) -> dict[str, str]:
        """Every article id and its source ("" for those ingested without one), from the ingest ledger."""
        return {article_id: entry.source for article_id, entry in (await read_ledger(self._store)).items()}

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
        votes: list[tuple[float, list[str]]] = []
        if use_dense:
            # A query is unique: the in-memory cache only, never the disk cache (see Embedder.embed).
            windows = await asyncio.to_thread(lambda: self._model().embed(query_windows(query), persist=False))
            if self._precedents is not None and mode == "hybrid":
                prior = await asyncio.to_thread(self._precedents.rank, windows, PRECEDENT_DEPTH)
                votes.append((PRECEDENT_WEIGHT, [article_id for article_id, _ in prior]))
        depth = max(MIN_DEPTH, limit * DEPTH_PER_HIT)
        text_ranked, title_ranked, dense_ranked = await self._rank(sparse, use_dense, windows, depth, where)
        rankings = weighted(text_ranked, dense_ranked, title_ranked)
        if not rankings:
            return []
        if len(rankings) == 1:  # a single retriever: keep its own score (BM25 or cosine)
            fused = [(chunk.score, chunk) for chunk in collapse(rankings[0][1], limit)]
        else:
            fused = fuse(rankings, max(limit, FEEDBACK_ARTICLES), votes=votes)
            if mode == "hybrid" and windows is not None and len(windows) > 1 and sparse:  # a long query
                feedback = [str(chunk.payload.get("article_id", "")) for _, chunk in fused[:FEEDBACK_ARTICLES]]
                feedback_sparse, feedback_dense = await self._article_vectors(feedback)
                if feedback_dense is not None:
                    windows = shift_windows(windows, feedback_dense)
                text_ranked, _, dense_ranked = await self._rank(
                    expand_query(sparse, feedback_sparse), False, windows, depth, where
                )
                rankings = weighted(text_ranked, dense_ranked, title_ranked)
                fused = fuse(rankings, limit, votes=votes)
            fused = fused[:limit]
        seconds = second_chunks([r for _, r in rankings], [chunk for _, chunk in fused])
        return [to_hit(score, chunk, seconds.get(chunk.point_id, [])) for score, chunk in fused]

    async def _rank(
        self, sparse: SparseVec, titles: bool, windows: npt.NDArray[np.float32] | None, depth: int, where: Where
    ) -> Rankings:
        """The text, title (when ``titles``) and dense rankings, from the mirror or the server."""
        if not self._local:
            return await self._store.rank(sparse, titles, windows, depth, where)
        mirror = await self._get_mirror()
        text_ranked = mirror.sparse_rank(sparse, depth, where, VECTOR_NAME) if sparse else []
        title_ranked = mirror.sparse_rank(sparse, depth, where, TITLE_NAME) if titles and sparse else []
        dense_ranked = (
            merge_windows([mirror.dense_rank(w, depth, where) for w in windows], depth) if windows is not None else []
        )
        return text_ranked, title_ranked, dense_ranked

    async def _article_vectors(self, article_ids: list[str]) -> tuple[list[SparseVec], npt.NDArray[np.float32] | None]:
        """The BM25 text vectors and embeddings of every chunk of these articles."""
        if self._local:
            return (await self._get_mirror()).article_vectors(article_ids, VECTOR_NAME)
        return await self._store.article_vectors(article_ids)

    async def _get_mirror(self) -> Mirror:
        async with self._mirror_lock:
            if self._mirror is None:
                self._mirror = await self._store.load_mirror()
            return self._mirror

    async def values_of(self, field: Literal["category", "product"]) -> list[str]:
        """The distinct values of a filterable field over the indexed articles (what a filter can match)."""
        return await self._store.values_of(field)

    async def count_articles(self) -> int:
        """Number of indexed articles (every article has a chunk 0)."""
        return await self._store.count_articles()
