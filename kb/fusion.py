"""Rank fusion: chunk rankings from several retrievers become one article ranking.

Each ranking collapses to articles (an article ranks where its best chunk does) and the article
rankings are fused with weighted reciprocal rank fusion. Pure functions over ``Ranked`` chunks:
no Qdrant, no model.
"""

from __future__ import annotations

from collections.abc import Sequence

from kb.mirror import Ranked

RRF_K = 60  # the usual constant: ranks 1 and 10 differ, ranks 40 and 50 hardly do
# Fusion weights, chosen on the tau2 banking tasks: the text's BM25 leads; embeddings and titles
# each add what it misses.
BM25_WEIGHT = 1.0
DENSE_WEIGHT = 0.5
TITLE_WEIGHT = 0.25
# Another chunk of a hit's article that ranks this high in any list comes with the hit (`more`): a question's
# answer may sit in the section after the one that matched best ("Forgot password?" is named in the SSO
# section; the reset steps are in the one before it).
SECOND_CHUNK_RANK = 10
# The best hits bring their whole article: a how-to's facts are often spread over its sections.
WHOLE_ARTICLE_HITS = 2


def weighted(
    text_ranked: list[Ranked], dense_ranked: list[Ranked], title_ranked: list[Ranked]
) -> list[tuple[float, list[Ranked]]]:
    """The non-empty rankings with their fusion weights."""
    pairs = ((BM25_WEIGHT, text_ranked), (DENSE_WEIGHT, dense_ranked), (TITLE_WEIGHT, title_ranked))
    return [(w, r) for w, r in pairs if r]


def fuse(
    rankings: Sequence[tuple[float, Sequence[Ranked]]],
    limit: int,
    k: int = RRF_K,
    votes: Sequence[tuple[float, Sequence[str]]] = (),
) -> list[tuple[float, Ranked]]:
    """Weighted reciprocal rank fusion of chunk rankings, at article level.

    Each ranking first collapses to articles (an article takes the rank of its best chunk); an
    article's fused score is the sum of ``weight / (k + rank)``. Its representative chunk is the
    one that gave it its best rank in any list (ties: the earlier list). ``votes`` are article
    rankings (ids, best first) that add to the articles the chunk rankings found, the same way,
    and bring none of their own: an article no retriever found (absent, or filtered out) stays out.
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
    for weight, article_ids in votes:
        for rank, article_id in enumerate(dict.fromkeys(article_ids), 1):
            if article_id in scores:
                scores[article_id] += weight / (k + rank)
    ordered = sorted(scores, key=lambda a: (-scores[a], best[a][0], a))
    return [(scores[a], best[a][1]) for a in ordered[:limit]]


def collapse(ranking: Sequence[Ranked], limit: int) -> list[Ranked]:
    """A single ranking's first ``limit`` articles, each at its best chunk."""
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


def merge_windows(rankings: list[list[Ranked]], depth: int) -> list[Ranked]:
    """One dense ranking from the query windows' rankings: each chunk at its best score."""
    if len(rankings) == 1:
        return rankings[0]
    best: dict[str, Ranked] = {}
    for ranking in rankings:
        for chunk in ranking:
            if chunk.point_id not in best or chunk.score > best[chunk.point_id].score:
                best[chunk.point_id] = chunk
    return sorted(best.values(), key=lambda c: -c.score)[:depth]


def second_chunks(rankings: Sequence[Sequence[Ranked]], chosen: Sequence[Ranked]) -> dict[str, list[Ranked]]:
    """For each chosen chunk, its article's other chunks, best-ranked first (keyed by the chosen chunk's
    point id): for the first WHOLE_ARTICLE_HITS hits every other chunk any ranking holds, for the others the
    best one within the top SECOND_CHUNK_RANK of any ranking."""
    order = {c.point_id: i for i, c in enumerate(chosen)}
    by_article = {str(c.payload.get("article_id", "")): c.point_id for c in chosen}
    taken = set(by_article.values())
    best: dict[str, dict[str, tuple[int, Ranked]]] = {}
    for ranking in rankings:
        for rank, chunk in enumerate(ranking):
            owner = by_article.get(str(chunk.payload.get("article_id", "")))
            if owner is None or chunk.point_id in taken:
                continue
            if order[owner] >= WHOLE_ARTICLE_HITS and rank >= SECOND_CHUNK_RANK:
                continue
            seen = best.setdefault(owner, {})
            if chunk.point_id not in seen or rank < seen[chunk.point_id][0]:
                seen[chunk.point_id] = (rank, chunk)
    out: dict[str, list[Ranked]] = {}
    for owner, found in best.items():
        ranked = [chunk for _, chunk in sorted(found.values(), key=lambda rc: rc[0])]
        out[owner] = ranked if order[owner] < WHOLE_ARTICLE_HITS else ranked[:1]
    return out
