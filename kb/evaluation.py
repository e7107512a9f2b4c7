"""`supportctl eval retrieval`: ingest a KB into a fresh collection, run the qrels' queries, score.

Qrels are JSONL, one query per line: the query text in ``query_field`` (``scenario_instructions``
in the tau2 banking qrels) and the ids of the articles it needs in ``relevant_doc_ids``.

* recall@k: the share of a query's relevant articles in its top k, averaged over queries;
* mrr: 1 / rank of the first relevant article (0 when none is in the top 20), averaged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsonl
from kb.articles import load_articles
from kb.index import KnowledgeBase, SearchMode, open_qdrant

KS = (1, 5, 10, 20)
MRR_DEPTH = 20  # results asked per query: the largest k, and the MRR cut-off


def read_qrels(path: Path, query_field: str) -> list[tuple[str, list[str]]]:
    """(query text, relevant ids) per line; errors name the file and line."""
    rows: list[tuple[str, list[str]]] = []
    with path.open(encoding="utf-8") as f:
        for n, row in jsonl.values(f, path):
            query = row.get(query_field) if isinstance(row, dict) else None
            relevant = row.get("relevant_doc_ids") if isinstance(row, dict) else None
            if not isinstance(query, str) or not query.strip():
                raise ValueError(f"{path}:{n}: missing query text in field {query_field!r}")
            if not isinstance(relevant, list) or not relevant:
                raise ValueError(f"{path}:{n}: 'relevant_doc_ids' must be a non-empty list")
            rows.append((query, [str(r) for r in relevant]))
    if not rows:
        raise ValueError(f"{path}: no queries")
    return rows


def score_rankings(rankings: Sequence[Sequence[str]], relevant: Sequence[Sequence[str]]) -> dict[str, float]:
    """recall@k for ``KS`` and MRR over (ranked ids, relevant ids) pairs."""
    result: dict[str, float] = {}
    for k in KS:
        recalls = [len(set(r[:k]) & set(rel)) / len(set(rel)) for r, rel in zip(rankings, relevant, strict=True)]
        result[f"recall@{k}"] = round(sum(recalls) / len(recalls), 4)
    reciprocal = []
    for ranked, rel in zip(rankings, relevant, strict=True):
        wanted = set(rel)
        rank = next((i for i, doc in enumerate(ranked, 1) if doc in wanted), None)
        reciprocal.append(1.0 / rank if rank else 0.0)
    result["mrr"] = round(sum(reciprocal) / len(reciprocal), 4)
    return result


async def evaluate_retrieval(
    kb_path: Path,
    qrels_path: Path,
    query_field: str = "scenario_instructions",
    mode: SearchMode = "hybrid",
    say: Callable[[str], None] | None = None,
    progress: Callable[[str], Callable[[int, int], None]] | None = None,
) -> dict[str, Any]:
    log = say or (lambda _msg: None)
    started = time.perf_counter()
    articles = load_articles([kb_path])
    if not articles:  # zeros measured on the wrong file would read as a measurement
        raise ValueError(f"{kb_path}: no articles to measure retrieval on")
    queries = read_qrels(qrels_path, query_field)
    known = {a.id for a in articles}
    unknown = sorted({doc for _, rel in queries for doc in rel} - known)
    if unknown:
        log(f"warning: {len(unknown)} relevant ids are not in the KB (e.g. {unknown[0]!r}); they count as misses")
    client = open_qdrant(":memory:", None)
    try:
        kb = KnowledgeBase(client, "eval", dense=mode != "bm25")
        await kb.ensure_collection()
        log(f"ingesting {len(articles)} articles into a fresh in-memory collection")
        report = await kb.ingest(articles, progress=progress("ingest") if progress else None)
        ingested = time.perf_counter()
        log(f"{report.chunks} chunks in {ingested - started:.1f}s; running {len(queries)} queries ({mode})")
        rankings: list[list[str]] = []
        query_bar = progress("queries") if progress else None
        for i, (query, _) in enumerate(queries, 1):
            hits = await kb.search(query, limit=MRR_DEPTH, mode=mode)
            rankings.append([hit.article_id for hit in hits])
            if query_bar is not None:
                query_bar(i, len(queries))
    finally:
        await client.close()
    result: dict[str, Any] = score_rankings(rankings, [rel for _, rel in queries])
    result.update(
        {
            "n": len(queries),
            "mode": mode,
            "articles": len(articles),
            "chunks": report.chunks,
            "ingest_seconds": round(ingested - started, 1),
            "query_ms_mean": round(1000 * (time.perf_counter() - ingested) / len(queries), 1),
        }
    )
    return result
