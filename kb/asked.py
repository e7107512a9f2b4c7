"""The questions customers ask that one help-article sentence answers: the customers' words for it.

An article states "Optionally add a password and an expiry date"; a customer asks for a link that "stops
working by itself when the contract ends". The sentence and the question share no word and sit apart in
meaning, so the reply's sentence ranker (``agents.offline.ranking``) also compares the question with the
questions each sentence is known to answer, as the article search does with past tickets
(``kb.precedents``).

A file holds one JSON object a line: ``article`` (its id), ``anchor`` (a few consecutive words of the
sentence, Markdown markers removed, unique in the article) and ``questions`` (customers' wordings). The
demo help centre's file, ``sentence_questions.jsonl``, was written from the articles alone, by writers who
read no eval set. Another help centre without such a file ranks sentences as before.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jsonl

ASKED_FILE = Path(__file__).with_name("sentence_questions.jsonl")
MIN_ANCHOR_WORDS = 5  # fewer words could sit inside several sentences

_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def normal(text: str) -> str:
    """Text compared by its words: links by their text, no Markdown markers, one space, lower case."""
    text = _LINK.sub(r"\1", text).replace("*", "").replace("`", "").replace("_", " ")
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Asked:
    article: str
    anchor: str  # normalised
    questions: tuple[str, ...]


def read_asked(path: Path = ASKED_FILE) -> list[Asked]:
    """The rows of ``path``; none when the file is absent (a help centre without any)."""
    if not path.is_file():
        return []
    out: list[Asked] = []
    with path.open(encoding="utf-8") as f:
        for n, row in jsonl.objects(f, path):
            article, anchor, questions = row.get("article"), row.get("anchor"), row.get("questions")
            if not isinstance(article, str) or not article:
                raise ValueError(f"{path}:{n}: 'article' must be an article id")
            if not isinstance(anchor, str) or len(normal(anchor).split()) < MIN_ANCHOR_WORDS:
                raise ValueError(f"{path}:{n}: 'anchor' must hold at least {MIN_ANCHOR_WORDS} words of the sentence")
            if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions or [""]):
                raise ValueError(f"{path}:{n}: 'questions' must be a non-empty list of strings")
            out.append(Asked(article, normal(anchor), tuple(q.strip() for q in questions)))
    return out


class SentenceQuestions:
    """Looks up the questions a sentence of an article is known to answer."""

    def __init__(self, rows: Iterable[Asked]) -> None:
        self._by_article: dict[str, list[Asked]] = {}
        for row in rows:
            self._by_article.setdefault(row.article, []).append(row)

    @classmethod
    def load(cls, path: Path = ASKED_FILE) -> SentenceQuestions:
        return cls(read_asked(path))

    def __bool__(self) -> bool:
        return bool(self._by_article)

    def questions(self, article_id: str, sentence: str) -> tuple[str, ...]:
        """Every question written for a sentence of ``article_id`` whose anchor lies in ``sentence``."""
        rows = self._by_article.get(article_id)
        if not rows:
            return ()
        said = normal(sentence)
        return tuple(q for row in rows if row.anchor in said for q in row.questions)


_shared: SentenceQuestions | None = None
_shared_lock = threading.Lock()


def shared_sentence_questions() -> SentenceQuestions:
    """The process's questions per sentence: the shipped file, read once (or what `use_sentence_questions` set)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SentenceQuestions.load()
        return _shared


def use_sentence_questions(asked: SentenceQuestions | None) -> None:
    """Rank with `asked` from now on (evaluations, tests; ``SentenceQuestions([])`` for none); None: the
    shipped file again."""
    global _shared
    with _shared_lock:
        _shared = asked
