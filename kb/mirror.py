"""An in-memory numpy copy of the collection, for search in Qdrant's embedded (local) mode.

Local mode scores sparse vectors in pure Python and payload filters point by point. A Qdrant
server does both with real indexes. In local mode the process that opened the folder is the only
one that can write to it, so a copy built after each ingest stays exact: sparse BM25 as a CSR
matrix with Qdrant's IDF formula, dense vectors as one float32 matrix, categories and products as
arrays. Rankings match Qdrant's own (``tests/test_kb.py`` checks this), only much faster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from kb.sparse import SparseVec


def qdrant_idf(df: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.float64]:
    """Qdrant's IDF modifier: ``ln((n - df + 0.5) / (df + 0.5) + 1)``."""
    return np.log((n - df + 0.5) / (df + 0.5) + 1.0)


@dataclass(frozen=True)
class Where:
    """Payload values a search keeps to; None: any."""

    category: str | None = None
    product: str | None = None
    # With ``product``: also the articles that name no product (they apply to every product).
    include_shared: bool = False

    def conditions(self) -> list[tuple[str, tuple[str, ...]]]:
        """(payload field, the values it may have) for each field the search keeps to."""
        found: list[tuple[str, tuple[str, ...]]] = []
        if self.category:
            found.append(("category", (self.category,)))
        if self.product:
            found.append(("product", (self.product, "") if self.include_shared else (self.product,)))
        return found


ANYWHERE = Where()


@dataclass(frozen=True)
class Ranked:
    """One ranked chunk: its row in the mirror (or a server point) and its score."""

    point_id: str
    score: float
    payload: dict[str, Any]


class _SparseIndex:
    """One named sparse vector of every chunk as a CSR matrix, scored the way Qdrant scores it."""

    def __init__(self, vectors: list[SparseVec | None]) -> None:
        columns: dict[int, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        self.present = np.zeros(len(vectors), dtype=bool)
        for row, vec in enumerate(vectors):
            if vec is None:
                continue
            self.present[row] = True
            for index, value in zip(vec.indices, vec.values, strict=True):
                rows.append(row)
                cols.append(columns.setdefault(index, len(columns)))
                vals.append(value)
        self.columns = columns
        matrix = sparse.csr_matrix(
            (np.array(vals, dtype=np.float32), (rows, cols)), shape=(len(vectors), max(1, len(columns)))
        )
        self.by_term = matrix.tocsc()  # column-major: a query touches a handful of columns
        self.df = np.diff(self.by_term.indptr).astype(np.float64)

    def scores(self, query: SparseVec) -> npt.NDArray[np.float64] | None:
        """BM25 with IDF (the IDF over chunks that have this vector); -inf where no term matches."""
        known = [(self.columns[i], v) for i, v in zip(query.indices, query.values, strict=True) if i in self.columns]
        if not known:
            return None
        cols = np.array([c for c, _ in known])
        weights = np.array([v for _, v in known], dtype=np.float64) * qdrant_idf(self.df[cols], int(self.present.sum()))
        block = self.by_term[:, cols]
        scores = np.asarray(block @ weights, dtype=np.float64).ravel()
        matched = np.diff(block.tocsr().indptr) > 0
        return np.where(matched, scores, -np.inf)


class Mirror:
    def __init__(self, records: list[tuple[str, dict[str, Any], dict[str, SparseVec], list[float] | None]]) -> None:
        """``records``: (point id, payload, sparse vectors by name, dense vector) per chunk."""
        self.ids = [r[0] for r in records]
        self.payloads = [r[1] for r in records]
        self._filterable = {
            key: np.array([str(p.get(key, "")) for p in self.payloads], dtype=object) for key in ("category", "product")
        }
        names = {name for r in records for name in r[2]}
        self._sparse = {name: _SparseIndex([r[2].get(name) for r in records]) for name in names}
        dense = [r[3] for r in records if r[3] is not None]
        self._dense = np.array(dense, dtype=np.float32) if dense and len(dense) == len(records) else None
        self._vectors = [r[2] for r in records]  # each chunk's sparse vectors, for pseudo-relevance feedback
        self._rows: dict[str, list[int]] = {}
        for row, payload in enumerate(self.payloads):
            self._rows.setdefault(str(payload.get("article_id", "")), []).append(row)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_dense(self) -> bool:
        return self._dense is not None

    def article_vectors(
        self, article_ids: list[str], name: str = "bm25"
    ) -> tuple[list[SparseVec], npt.NDArray[np.float32] | None]:
        """Sparse vector ``name`` and dense vector of every chunk of these articles (what a server's scroll returns)."""
        rows = [row for article_id in article_ids for row in self._rows.get(article_id, [])]
        sparse_vectors = [v for v in (self._vectors[row].get(name) for row in rows) if v is not None]
        return sparse_vectors, self._dense[rows] if self._dense is not None and rows else None

    def _mask(self, where: Where) -> npt.NDArray[np.bool_] | None:
        mask: npt.NDArray[np.bool_] | None = None
        for key, wanted in where.conditions():
            match = np.isin(self._filterable[key], wanted)
            mask = match if mask is None else mask & match
        return mask

    def sparse_rank(self, query: SparseVec, depth: int, where: Where = ANYWHERE, name: str = "bm25") -> list[Ranked]:
        """Chunks by BM25 score of sparse vector ``name``, as Qdrant computes it with ``Modifier.IDF``."""
        index = self._sparse.get(name)
        scores = index.scores(query) if index is not None and depth > 0 else None
        if scores is None:
            return []
        mask = self._mask(where)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        return self._top(scores, depth)

    def dense_rank(self, query: npt.NDArray[np.float32], depth: int, where: Where = ANYWHERE) -> list[Ranked]:
        if self._dense is None or depth <= 0 or not len(self):
            return []
        scores = (self._dense @ query.astype(np.float32)).astype(np.float64)
        mask = self._mask(where)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        return self._top(scores, depth)

    def _top(self, scores: npt.NDArray[np.float64], depth: int) -> list[Ranked]:
        k = min(depth, len(scores))
        if k <= 0:
            return []
        part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        # Highest score first; ties by position, like a stable sort over the collection.
        order = part[np.lexsort((part, -scores[part]))]
        return [
            Ranked(self.ids[i], float(scores[i]), self.payloads[i]) for i in order if not math.isinf(float(scores[i]))
        ]
