"""Query expansion for long queries: embedding windows and pseudo-relevance feedback.

A long query (a customer's whole story) is embedded in windows of about QUERY_WINDOW_WORDS words;
a chunk's dense score is its best similarity to any window, so one sentence about fees finds the
fees article although the rest of the message is about something else. Such a query then runs a
second time: the first fused ranking's top FEEDBACK_ARTICLES articles are taken as relevant, BM25's
query gains the FEEDBACK_TERMS terms their chunks weigh most (RM3, at FEEDBACK_TERM_WEIGHT of the
query's own term mass) and each embedding window moves towards the mean of their chunk vectors
(Rocchio, FEEDBACK_DENSE_WEIGHT). A story says much that is beside the point; the articles it
matched best say which of its words matter. Short questions are left alone: their intent is plain.
Pure functions: no Qdrant, no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from kb.sparse import SparseVec

QUERY_WINDOW_WORDS = 40
# Up to this many words a query is embedded whole (well inside the model's 256 word pieces): a
# ticket this long is what triage embeds too, so the worker computes its vector once.
WHOLE_QUERY_WORDS = 100
# Pseudo-relevance feedback settings, chosen on the tau2 banking tasks.
FEEDBACK_ARTICLES = 5
FEEDBACK_TERMS = 10
FEEDBACK_TERM_WEIGHT = 0.1
FEEDBACK_DENSE_WEIGHT = 0.5
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


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
