"""The questions each help-article sentence is known to answer (`kb.asked`): customers' words for a
sentence that shares none of them, so the reply quotes it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.offline.ranking import Ranker, sentences_of_hits
from domain.models import KbHit
from kb.asked import (
    ASKED_FILE,
    Asked,
    SentenceQuestions,
    normal,
    read_asked,
    shared_sentence_questions,
    use_sentence_questions,
)
from supportctl.prepare import demo_articles
from tests.test_offline_answer_choice import article

SHARING = article("kb-dashboard-sharing", "Sharing dashboards inside and outside your team")
EXPIRY = "Optionally add a password and an expiry date."
# Neither shares a content word with the sentence that answers it.
PARTNER = Asked(
    "kb-dashboard-sharing",
    normal("Optionally add a **password** and an **expiry date**"),
    ("Can the view we give an outside partner stop working on its own after a set day?",),
)
QUESTION = "will the partner's view of our board stop working on its own after the day we choose?"


@pytest.fixture(autouse=True)
def shipped_questions_again() -> Iterator[None]:
    yield
    use_sentence_questions(None)


def test_a_sentence_is_found_by_its_anchor_whatever_its_markdown() -> None:
    asked = SentenceQuestions([PARTNER])
    assert asked.questions("kb-dashboard-sharing", EXPIRY) == PARTNER.questions
    assert asked.questions("kb-dashboard-sharing", "Share it with specific people.") == ()
    assert asked.questions("kb-other-article", EXPIRY) == ()


def test_no_file_no_questions(tmp_path: Path) -> None:
    assert read_asked(tmp_path / "absent.jsonl") == []
    assert not SentenceQuestions.load(tmp_path / "absent.jsonl")


@pytest.mark.parametrize(
    "row",
    [
        '{"article": "kb-x", "anchor": "too short", "questions": ["q"]}',
        '{"article": "kb-x", "anchor": "five words make an anchor", "questions": []}',
        '{"anchor": "five words make an anchor", "questions": ["q"]}',
    ],
)
def test_a_bad_row_names_its_line(tmp_path: Path, row: str) -> None:
    path = tmp_path / "asked.jsonl"
    path.write_text('{"article": "kb-x", "anchor": "five words make an anchor", "questions": ["q"]}\n' + row + "\n")
    with pytest.raises(ValueError, match=r"asked\.jsonl:2"):
        read_asked(path)


def test_every_shipped_anchor_names_one_sentence_the_reply_can_quote() -> None:
    # An article edited under a row leaves it pointing at nothing (or at two sentences): caught here.
    rows = read_asked(ASKED_FILE)
    assert len(rows) >= 44 * 10
    articles = {a.id: a for a in demo_articles()}
    assert {r.article for r in rows} == set(articles)
    quoted = {
        a.id: [
            normal(s.text)
            for s in sentences_of_hits(
                [KbHit(article_id=a.id, title=a.title, url="", score=1.0, snippet="", text=a.body)]
            )
        ]
        for a in articles.values()
    }
    wrong = [(r.article, r.anchor) for r in rows if sum(r.anchor in s for s in quoted[r.article]) != 1]
    assert wrong == []


def position_of(sentence: str) -> int:
    ranked = Ranker([SHARING]).rank(QUESTION)
    return next(i for i, s in enumerate(ranked) if s.text == sentence)


def test_a_sentence_known_to_answer_the_customers_words_ranks_higher_and_may_answer() -> None:
    use_sentence_questions(SentenceQuestions([]))
    without = position_of(EXPIRY)
    unknown = next(s for s, _ in Ranker([SHARING]).features(QUESTION) if s.text == EXPIRY)
    use_sentence_questions(SentenceQuestions([PARTNER]))
    known = {s.text: (s, m) for s, m in Ranker([SHARING]).features(QUESTION)}[EXPIRY]
    assert position_of(EXPIRY) < without
    assert known[1]["asked"] > 0.6 and known[0].relevant and not unknown.relevant


def test_the_shipped_questions_are_what_the_process_ranks_with() -> None:
    assert shared_sentence_questions().questions("kb-dashboard-sharing", EXPIRY)
