"""The Qdrant side of the knowledge base: the client, the collection's layout and every call to it.

One point per chunk, with a deterministic id (uuid5 of article id and chunk number), three vectors
(``bm25``: our BM25 sparse vector of the chunk, IDF applied by Qdrant; ``title``: the same for the
article's title; ``minilm``: the chunk's sentence embedding, cosine) and the article's payload.
Nothing here decides what to write or how to rank: ``kb.ledger`` and ``kb.index`` do.
"""

from __future__ import annotations

import logging
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.conversions import common_types as types

from kb.articles import Article
from kb.chunking import Chunk
from kb.embeddings import DIMENSION
from kb.errors import KnowledgeBaseLocked
from kb.fusion import merge_windows
from kb.mirror import Mirror, Ranked, Where
from kb.sparse import SparseVec, encode_document

DEFAULT_COLLECTION = "kb_articles"
VECTOR_NAME = "bm25"
TITLE_NAME = "title"
DENSE_NAME = "minilm"
TITLE_AVG_LEN = 8.0  # typical title length in terms, for BM25's length normalisation of titles
DELETE_BATCH = 512
SCROLL_PAGE = 1024
# Keyword and integer indexes for the payload fields searches and the ingest ledger filter on.
PAYLOAD_INDEXES = (
    ("category", models.PayloadSchemaType.KEYWORD),
    ("product", models.PayloadSchemaType.KEYWORD),
    ("article_id", models.PayloadSchemaType.KEYWORD),
    ("chunk_no", models.PayloadSchemaType.INTEGER),
)
_POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://help.lumora.example/kb/chunks")

Rankings = tuple[list[Ranked], list[Ranked], list[Ranked]]  # text, title, dense
log = logging.getLogger("kb")


def point_id(article_id: str, chunk_no: int) -> str:
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{article_id}\x1f{chunk_no}"))


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


def make_point(
    article: Article, chunk: Chunk, digest: str, dense: npt.NDArray[np.float32] | None, source: str = ""
) -> models.PointStruct:
    """The point of one chunk: its vectors and the payload search shows and the ledger reads back."""
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


class Collection:
    """One Qdrant collection of chunk points, whether on a server or in embedded local mode."""

    def __init__(self, client: AsyncQdrantClient, name: str) -> None:
        self.client = client
        self.name = name

    async def ensure(self, dense: bool, local: bool) -> bool:
        """Create the collection (and its payload indexes) unless it exists with the right vectors.

        A collection from an older pipeline (other vectors) is dropped and recreated empty: it
        only ever holds what ``ingest`` derives from the articles, and the next ingest refills it.
        Returns True when the collection was (re)created.
        """
        if await self.client.collection_exists(self.name):
            info = await self.client.get_collection(self.name)
            sparse = info.config.params.sparse_vectors or {}
            vectors = info.config.params.vectors
            dense_names = set(vectors) if isinstance(vectors, dict) else set()
            if {VECTOR_NAME, TITLE_NAME} <= set(sparse) and dense_names == ({DENSE_NAME} if dense else set()):
                if not local:  # a server collection made before an index existed (product) gets it now
                    indexed = set(info.payload_schema or {})
                    await self._create_payload_indexes([f for f in PAYLOAD_INDEXES if f[0] not in indexed])
                return False
            log.warning(
                "collection %r has vectors %s from an older pipeline: recreating it empty (run `supportctl kb ingest`)",
                self.name,
                sorted(set(sparse) | dense_names),
            )
            await self.client.delete_collection(self.name)
        await self.client.create_collection(
            self.name,
            vectors_config=(
                {DENSE_NAME: models.VectorParams(size=DIMENSION, distance=models.Distance.COSINE)} if dense else {}
            ),
            sparse_vectors_config={
                name: models.SparseVectorParams(modifier=models.Modifier.IDF) for name in (VECTOR_NAME, TITLE_NAME)
            },
        )
        await self._create_payload_indexes(PAYLOAD_INDEXES)
        return True

    async def _create_payload_indexes(self, fields: Sequence[tuple[str, models.PayloadSchemaType]]) -> None:
        with warnings.catch_warnings():
            # Local mode accepts payload indexes but warns that it ignores them; servers use them.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
            for name, schema in fields:
                await self.client.create_payload_index(self.name, name, field_schema=schema)

    async def upsert(self, points: list[models.PointStruct]) -> None:
        await self.client.upsert(self.name, points=points)

    async def delete(self, point_ids: Sequence[str]) -> None:
        """Delete these points, DELETE_BATCH at a time."""
        for start in range(0, len(point_ids), DELETE_BATCH):
            selector = models.PointIdsList(points=list(point_ids[start : start + DELETE_BATCH]))
            await self.client.delete(self.name, points_selector=selector)

    async def set_source(self, point_ids: set[str], source: str) -> None:
        selector = models.PointIdsList(points=sorted(point_ids))
        await self.client.set_payload(self.name, payload={"source": source}, points=selector)

    async def payloads(self, fields: list[str]) -> list[tuple[str, dict[str, Any]]]:
        """(point id, payload with only ``fields``) of every point."""
        found: list[tuple[str, dict[str, Any]]] = []
        offset: types.PointId | None = None
        while True:
            records, offset = await self.client.scroll(self.name, limit=SCROLL_PAGE, offset=offset, with_payload=fields)
            found.extend((str(record.id), record.payload or {}) for record in records)
            if offset is None:
                return found

    async def rank(
        self, sparse: SparseVec, titles: bool, windows: npt.NDArray[np.float32] | None, depth: int, where: Where
    ) -> Rankings:
        """The text, title (when ``titles``) and dense rankings from a Qdrant server, in one batched request."""
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
        responses = await self.client.query_batch_points(self.name, requests=requests)
        ranked = [
            [Ranked(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]
            for response in responses
        ]
        text_ranked = ranked.pop(0) if VECTOR_NAME in names else []
        title_ranked = ranked.pop(0) if TITLE_NAME in names else []
        return text_ranked, title_ranked, merge_windows(ranked, depth) if ranked else []

    async def article_vectors(self, article_ids: list[str]) -> tuple[list[SparseVec], npt.NDArray[np.float32] | None]:
        """The BM25 text vectors and embeddings of every chunk of these articles."""
        chunks = models.Filter(must=[models.FieldCondition(key="article_id", match=models.MatchAny(any=article_ids))])
        sparse_vectors: list[SparseVec] = []
        dense: list[list[float]] = []
        offset: types.PointId | None = None
        while True:
            page, offset = await self.client.scroll(
                self.name,
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

    async def load_mirror(self) -> Mirror:
        """A numpy copy of every point, for search in local mode (see ``kb.mirror``)."""
        records: list[tuple[str, dict[str, Any], dict[str, SparseVec], list[float] | None]] = []
        offset: types.PointId | None = None
        while True:
            page, offset = await self.client.scroll(
                self.name, limit=SCROLL_PAGE, offset=offset, with_payload=True, with_vectors=True
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
            page, offset = await self.client.scroll(
                self.name, scroll_filter=first_chunks, limit=SCROLL_PAGE, offset=offset, with_payload=[field]
            )
            values.update(str((record.payload or {}).get(field) or "") for record in page)
            if offset is None:
                return sorted(values - {""})

    async def count_articles(self) -> int:
        """Number of indexed articles (every article has a chunk 0)."""
        first_chunks = models.Filter(must=[models.FieldCondition(key="chunk_no", match=models.MatchValue(value=0))])
        result = await self.client.count(self.name, count_filter=first_chunks, exact=True)
        return result.count


def _qdrant_filter(where: Where) -> models.Filter | None:
    conditions: list[models.Condition] = [
        models.FieldCondition(
            key=key,
            match=models.MatchValue(value=values[0]) if len(values) == 1 else models.MatchAny(any=list(values)),
        )
        for key, values in where.conditions()
    ]
    return models.Filter(must=conditions) if conditions else None


def _to_qdrant(vector: SparseVec) -> models.SparseVector:
    return models.SparseVector(indices=vector.indices, values=vector.values)
