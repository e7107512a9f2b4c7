"""`supportctl bench kb`: KB search latency on an ingested knowledge base (the tau2 banking KB by default).

The collection lives in Qdrant local mode under ``DATA_DIR/bench/qdrant``, so a second run skips the
ingest (unchanged content does no work) and times search alone. Queries are short customer
questions (BANKING77 texts when the dataset is there, else the articles' titles) and the tau2
scenarios (long, several topics). Every figure is wall-clock per search on this machine:

* ``search``: ``KnowledgeBase.search`` end to end, hybrid (query embedding + BM25 + dense + fusion),
  every query distinct and never embedded before (no cache);
* ``embed``: the query embedding alone (no cache); ``retrieval``: hybrid search with the query's
  vectors already known (what the index and the fusion cost); ``bm25``: BM25-only search;
* ``qdrant_local_fusion``: the same hybrid query through Qdrant's own query API (prefetch + RRF)
  in local mode, which scores sparse vectors in pure Python: why ``kb.mirror`` exists.
"""

from __future__ import annotations

import json
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qdrant_client import models

from kb.articles import load_articles
from kb.embeddings import MODEL_ID, Embedder, shared_embedder
from kb.expansion import query_windows
from kb.index import KnowledgeBase, open_qdrant
from kb.sparse import encode_query
from kb.store import DENSE_NAME, VECTOR_NAME

DATASETS = Path("/work/shared/datasets")
DEFAULT_KB = DATASETS / "tau2_banking_knowledge" / "kb_documents.jsonl"
QUESTIONS = DATASETS / "banking77" / "train.jsonl"
SCENARIOS = DATASETS / "tau2_banking_knowledge" / "retrieval_qrels.jsonl"
RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
NATIVE_SAMPLE = 20  # Qdrant's local-mode fusion is slow: time a sample
SEED = 7


def _stats(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(pct(95), 2),
        "p99_ms": round(pct(99), 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


async def _timed(run: Callable[[str], Awaitable[Any]], queries: list[str]) -> list[float]:
    out = []
    for query in queries:
        start = time.perf_counter()
        await run(query)
        out.append(1000 * (time.perf_counter() - start))
    return out


def _questions(n: int, titles: list[str]) -> tuple[str, list[str]]:
    if QUESTIONS.exists():
        texts = [json.loads(line)["text"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
        source = "banking77 customer questions"
    else:
        texts, source = titles, "article titles"
    distinct = sorted(set(texts))
    return source, random.Random(SEED).sample(distinct, min(n, len(distinct)))


async def run_bench(
    kb_path: Path,
    n_queries: int = 300,
    out: Path | None = None,
    data_dir: Path = Path("data"),
    say: Callable[[str], None] | None = None,
    progress: Callable[[str], Callable[[int, int], None]] | None = None,
) -> dict[str, Any]:
    log = say or (lambda _msg: None)
    articles = load_articles([kb_path])
    folder = data_dir / "bench" / "qdrant"
    client = open_qdrant(str(folder), None)
    try:
        kb = KnowledgeBase(client, "bench_kb")
        await kb.ensure_collection()
        started = time.perf_counter()
        report = await kb.ingest(articles, progress=progress("ingest") if progress else None)
        ingest_s = time.perf_counter() - started
        log(f"ingest: {report.chunks} chunks written, {report.unchanged} articles unchanged, {ingest_s:.1f}s")
        chunks = (await client.count("bench_kb", exact=True)).count
        source, questions = _questions(n_queries, [a.title for a in articles])
        scenarios = (
            [json.loads(line)["scenario_instructions"] for line in SCENARIOS.read_text().splitlines() if line]
            if SCENARIOS.exists() and kb_path == DEFAULT_KB
            else []
        )
        embedder = shared_embedder()
        cold_model = Embedder(cache_size=0)  # no memory or disk cache: every query is embedded
        cold = KnowledgeBase(client, "bench_kb", embedder=cold_model)
        for warm in (kb, cold):  # load the model and build the mirrors before timing
            await warm.warm_up()

        async def hybrid(q: str) -> Any:
            return await cold.search(q, limit=5)

        async def retrieval(q: str) -> Any:
            return await kb.search(q, limit=5)  # the shared embedder has these queries cached by now

        async def bm25(q: str) -> Any:
            return await kb.search(q, limit=5, mode="bm25")

        async def embed(q: str) -> Any:
            return cold_model.embed(query_windows(q))

        async def native(q: str) -> Any:
            vector = encode_query(q)
            dense = embedder.embed_one(q, persist=False).tolist()
            return await client.query_points(
                "bench_kb",
                prefetch=[
                    models.Prefetch(
                        query=models.SparseVector(indices=vector.indices, values=vector.values),
                        using=VECTOR_NAME,
                        limit=40,
                    ),
                    models.Prefetch(query=dense, using=DENSE_NAME, limit=40),
                ],
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                limit=20,
            )

        log(f"timing {len(questions)} searches ({source})")
        figures: dict[str, Any] = {"search": _stats(await _timed(hybrid, questions))}
        for q in questions:
            embedder.embed(query_windows(q), persist=False)
        figures |= {
            "embed": _stats(await _timed(embed, questions)),
            "retrieval": _stats(await _timed(retrieval, questions)),
            "bm25": _stats(await _timed(bm25, questions)),
            "qdrant_local_fusion": _stats(await _timed(native, questions[:NATIVE_SAMPLE])),
        }
        if scenarios:
            log(f"timing {len(scenarios)} long scenario searches")
            figures["scenario_search"] = _stats(await _timed(hybrid, scenarios))
            figures["scenario_embed"] = _stats(await _timed(embed, scenarios))
            for q in scenarios:
                embedder.embed(query_windows(q), persist=False)
            figures["scenario_retrieval"] = _stats(await _timed(retrieval, scenarios))
    finally:
        await client.close()
    result: dict[str, Any] = {
        "benchmark": "kb_search",
        "kb": str(kb_path),
        "articles": len(articles),
        "chunks": chunks,
        "queries": source,
        "embedding_model": MODEL_ID,
        "ingest_seconds": round(ingest_s, 1),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        **figures,
        "p50_ms": figures["search"]["p50_ms"],
        "p95_ms": figures["search"]["p95_ms"],
    }
    target = out or RESULTS / "kb_search.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n")
    log(f"written to {target}")
    return result
