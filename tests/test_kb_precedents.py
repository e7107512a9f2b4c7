"""Precedents (past tickets and the article that answered them) as one more vote in article search."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import pytest
from qdrant_client import AsyncQdrantClient

from kb.articles import load_articles
from kb.embeddings import Embedder
from kb.fusion import fuse
from kb.index import KnowledgeBase
from kb.mirror import Ranked
from kb.precedents import PRECEDENTS_FILE, WRITTEN_FILE, Precedent, Precedents, read_precedents
from tests.test_kb import ARTICLES, HELP_URL, write_article

# Customers word an overage charge as a bill "higher than the plan", not as "allowance" or "overage".
OVERAGE = (
    Precedent("our bill is higher than the plan price this month", ("plan-quotas",), "a"),
    Precedent("why were we charged extra on top of the subscription", ("plan-quotas",), "b"),
    Precedent("the sign-in email never came", ("password-reset",), "a"),
    Precedent("I can't get into my account, the link expired", ("password-reset",), "b"),
)
QUERY = "the invoice shows an extra amount we did not expect, can it be refunded"


def chunk(article_id: str) -> Ranked:
    return Ranked(point_id=f"{article_id}-0", score=1.0, payload={"article_id": article_id})


def test_a_vote_lifts_an_article_the_retrievers_found_and_adds_none() -> None:
    rankings = [(1.0, [chunk("a"), chunk("b"), chunk("c")]), (0.5, [chunk("a"), chunk("c")])]
    assert [c.payload["article_id"] for _, c in fuse(rankings, 3)] == ["a", "c", "b"]
    voted = fuse(rankings, 3, votes=[(1.0, ["b", "missing"])])
    assert [c.payload["article_id"] for _, c in voted] == ["b", "a", "c"]


def test_no_file_no_precedents(tmp_path: Path) -> None:
    assert read_precedents(tmp_path / "absent.jsonl") == []
    assert Precedents.load(tmp_path / "absent.jsonl") is None


def test_a_bad_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"text": "hi", "articles": ["x"]}) + "\n" + json.dumps({"text": "no articles"}) + "\n")
    with pytest.raises(ValueError, match=r"p\.jsonl:2: 'articles'"):
        read_precedents(path)


def test_a_source_can_be_left_out(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(
        "".join(json.dumps({"text": p.text, "articles": p.articles, "source": p.source}) + "\n" for p in OVERAGE)
    )
    assert len(Precedents.load(path) or []) == 4
    assert len(Precedents.load(path, leave_out="a") or []) == 2


def test_an_article_needs_two_precedents_and_the_most_alike_comes_first() -> None:
    lone = Precedent("how do I export a dashboard to PDF", ("exports",))
    precedents = Precedents([*OVERAGE, lone])
    from kb.embeddings import shared_embedder

    query = shared_embedder().embed(["we were billed more than our plan costs"], persist=False)
    ranked = precedents.rank(query, 5)
    assert [a for a, _ in ranked] == ["plan-quotas", "password-reset"]  # "exports" has one precedent only
    assert ranked[0][1] > ranked[1][1]
    assert precedents.rank(np.zeros((0, 384), dtype=np.float32), 5) == []


def test_the_shipped_precedents_name_demo_articles() -> None:
    from supportctl.prepare import demo_articles

    known = {a.id for a in demo_articles()}
    found = read_precedents(PRECEDENTS_FILE)
    assert len(found) > 300
    assert all(set(p.articles) <= known for p in found)
    assert not {"blind36", "blind39", "blind40", "blind41", "blind42", "blind43", "blind44"} & {
        p.source for p in found
    }  # held-out sets are never examples


async def test_precedents_reorder_search_towards_the_article_that_answered_alike_tickets(tmp_path: Path) -> None:
    for article_id, (title, category, body) in ARTICLES.items():
        write_article(tmp_path, article_id, title, category, body)
    articles = load_articles([tmp_path], HELP_URL)
    found: dict[bool, list[str]] = {}
    for with_precedents in (False, True):
        client = AsyncQdrantClient(location=":memory:")
        kb = KnowledgeBase(client, precedents=Precedents(OVERAGE) if with_precedents else None)
        await kb.ensure_collection()
        await kb.ingest(articles)
        await kb.warm_up()
        found[with_precedents] = [h.article_id for h in await kb.search(QUERY, limit=3)]
        # BM25 alone is BM25 alone: the precedents vote only in hybrid search.
        assert (await kb.search(QUERY, limit=1, mode="bm25"))[0].article_id == "refunds"
        await client.close()
    assert found[False][:2] == ["refunds", "plan-quotas"]
    assert found[True][:2] == ["plan-quotas", "refunds"]


def test_the_written_precedents_speak_for_every_demo_article_in_varied_words() -> None:
    from supportctl.prepare import demo_articles

    known = {a.id for a in demo_articles()}
    written = read_precedents(WRITTEN_FILE)
    assert {p.source for p in written} == {"written"}  # never a set's name: leave-one-out keeps them all in
    assert all(set(p.articles) <= known for p in written)
    per_article = Counter(a for p in written for a in p.articles)
    assert set(per_article) == known and min(per_article.values()) >= 8
    texts = [p.text.casefold() for p in written]
    assert len(set(texts)) == len(texts)
    shipped = {p.text.casefold() for p in read_precedents(PRECEDENTS_FILE)}
    assert not shipped & set(texts)  # written, not copied from the eval sets
    assert sum(len(p.articles) > 1 for p in written) >= 20  # two questions in one ticket


def test_the_worker_loads_both_files_and_a_single_one_on_request() -> None:
    both = len(read_precedents(PRECEDENTS_FILE)) + len(read_precedents(WRITTEN_FILE))
    assert len(Precedents.load() or []) == both
    assert len(Precedents.load(WRITTEN_FILE) or []) == len(read_precedents(WRITTEN_FILE))
    # Leaving a set out keeps the written ones, which no set produced.
    kept = Precedents.load(leave_out="blind") or Precedents([])
    assert len(kept) == both - sum(p.source == "blind" for p in read_precedents(PRECEDENTS_FILE))


class _Fixed:
    """An embedder stand-in: each text's vector is given."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self._vectors = vectors

    def embed(self, texts: Sequence[str], *args: object, **kwargs: object) -> npt.NDArray[np.float32]:
        return np.array([self._vectors[t] for t in texts], dtype=np.float32)


def test_an_article_asked_about_in_two_ways_is_found_by_either() -> None:
    # "refunds" is asked about as a wrong charge (x) and as a cancellation (y); "invoices" sits nearer x than
    # the average of refunds' two ways, but not as near as refunds' own tickets worded like x.
    vectors = {f"refund x{i}": [1.0, 0.0, 0.0] for i in range(3)}
    vectors |= {f"refund y{i}": [0.0, 1.0, 0.0] for i in range(3)}
    vectors |= {f"invoice {i}": [0.8, 0.0, 0.6] for i in range(3)}
    precedents = [Precedent(t, ("refunds" if t.startswith("refund") else "invoices",)) for t in vectors]
    ranked = Precedents(precedents, cast(Embedder, _Fixed(vectors))).rank(np.array([[1.0, 0.0, 0.0]]), 2)
    assert [a for a, _ in ranked] == ["refunds", "invoices"]
    assert ranked[0][1] == pytest.approx(1.0) and ranked[1][1] == pytest.approx(0.8)
