"""Resolved tickets and the article that answered them: a prior over articles for a new ticket's search.

A help centre's articles are written in its own words; customers ask in theirs ("the numbers don't match
our database" for the time-zone article, "a Pro to Starter move" for the plan-change one). Past tickets
answered by an article say how customers word what it covers. Each article's precedents are embedded
with the shipped model (``kb.embeddings``; the disk cache keeps them across starts); an article's
similarity to a query is the mean of its ``NEIGHBOURS`` most similar precedents' (an article is asked
about in several ways, and one average of them all sits between those ways), and ``kb.fusion`` adds the
articles so ranked to the retrievers' as one more vote. It only reorders articles the retrievers found (a precedent
naming an article the collection lacks, or one a filter excludes, changes nothing), so another help
centre without a precedents file (or with this one) searches as before.

A file holds one JSON object a line: ``text`` (the ticket's subject and new words), ``articles`` (the
ids that answered it), ``source`` (where it came from, so an evaluation can leave one source out). Two
files ship: ``precedents.jsonl``, the spent eval sets' tickets (``evals.precedent_examples`` regenerates
it), and ``precedents_written.jsonl``, questions written for every demo article by a writer who did not
read those sets (source ``written``): varied wordings that speak for every article, even one no past
ticket named. A help centre without tickets of its own could ship only such a file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

import jsonl
from kb.embeddings import Embedder, shared_embedder

PRECEDENTS_FILE = Path(__file__).with_name("precedents.jsonl")
WRITTEN_FILE = Path(__file__).with_name("precedents_written.jsonl")
PRECEDENT_FILES = (PRECEDENTS_FILE, WRITTEN_FILE)
# An article needs this many precedents to speak for it: one ticket is an anecdote.
MIN_PRECEDENTS = 2
# How many of an article's most similar precedents speak for it. Chosen leaving each spent set out in turn
# (docs/knowledge-and-triage.md): 3 did better than 1 (one look-alike ticket decides), 5 and the centroid
# of them all.
NEIGHBOURS = 3


@dataclass(frozen=True)
class Precedent:
    text: str
    articles: tuple[str, ...]
    source: str = ""


def read_precedents(path: Path = PRECEDENTS_FILE) -> list[Precedent]:
    """The precedents in ``path``; none when the file is absent (a help centre without any)."""
    if not path.is_file():
        return []
    out: list[Precedent] = []
    with path.open(encoding="utf-8") as f:
        for n, row in jsonl.objects(f, path):
            text, articles = row.get("text"), row.get("articles")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{path}:{n}: 'text' must be a non-empty string")
            if not isinstance(articles, list) or not articles or not all(isinstance(a, str) for a in articles):
                raise ValueError(f"{path}:{n}: 'articles' must be a non-empty list of article ids")
            out.append(Precedent(text.strip(), tuple(articles), str(row.get("source", ""))))
    return out


class Precedents:
    """Past tickets' embeddings by article; ``rank`` orders articles by their nearest precedents to a query."""

    def __init__(self, precedents: Iterable[Precedent], embedder: Embedder | None = None) -> None:
        self._precedents = list(precedents)
        self._embedder = embedder
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._vectors: npt.NDArray[np.float32] | None = None
        self._rows: npt.NDArray[np.intp] = np.zeros((0, 0), dtype=np.intp)

    @classmethod
    def load(cls, paths: Path | Sequence[Path] = PRECEDENT_FILES, *, leave_out: str | None = None) -> Precedents | None:
        """The precedents of the files ``paths`` (but those of source ``leave_out``); None when there are none."""
        files = [paths] if isinstance(paths, Path) else list(paths)
        found = [p for path in files for p in read_precedents(path) if leave_out is None or p.source != leave_out]
        return cls(found) if found else None

    def __len__(self) -> int:
        return len(self._precedents)

    def _build(self) -> tuple[list[str], npt.NDArray[np.float32], npt.NDArray[np.intp]]:
        """Article ids, the precedents' unit vectors, and each article's rows (padded with -1)."""
        with self._lock:
            if self._vectors is None:
                embedder = self._embedder or shared_embedder()
                # Precedents come back at every start: the disk cache serves them after the first.
                vectors = np.asarray(embedder.embed([p.text for p in self._precedents]), dtype=np.float32)
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
                by_article: dict[str, list[int]] = {}
                for i, p in enumerate(self._precedents):
                    for article_id in dict.fromkeys(p.articles):
                        by_article.setdefault(article_id, []).append(i)
                kept = sorted(a for a, rows in by_article.items() if len(rows) >= MIN_PRECEDENTS)
                width = max((len(by_article[a]) for a in kept), default=0)
                rows = np.full((len(kept), width), -1, dtype=np.intp)
                for j, article_id in enumerate(kept):
                    rows[j, : len(by_article[article_id])] = by_article[article_id]
                self._ids, self._vectors, self._rows = kept, vectors, rows
            return self._ids, self._vectors, self._rows

    def warm_up(self) -> None:
        """Embed the precedents now, not on the first query."""
        self._build()

    def rank(self, query_vectors: npt.NDArray[np.float32], limit: int) -> list[tuple[str, float]]:
        """The ``limit`` articles whose precedents are most like the query, with their cosine similarity.

        ``query_vectors`` are the query's embedding windows (one for a short query): their mean stands
        for the whole query, as a long ticket is one request however it is cut."""
        ids, vectors, rows = self._build()
        if not ids or len(query_vectors) == 0:
            return []
        query = np.asarray(query_vectors, dtype=np.float32).mean(axis=0)
        query /= max(float(np.linalg.norm(query)), 1e-9)
        # Each article's precedents' similarities, padding at -inf; the mean of its NEIGHBOURS best.
        each = np.where(rows >= 0, (vectors @ query)[rows], -np.inf)
        best = -np.sort(-each, axis=1)[:, :NEIGHBOURS]
        found = np.isfinite(best)
        sims = np.where(found, best, 0.0).sum(axis=1) / found.sum(axis=1)
        order = np.argsort(-sims, kind="stable")[:limit]
        return [(ids[i], float(sims[i])) for i in order]
