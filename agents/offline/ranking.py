"""Sentence-level ranking of help-article passages against one question: meaning and words, combined.

Each sentence of the retrieved passages is scored against the question by the MiniLM sentence
embeddings we already ship (`kb.embeddings`: the worker's one shared embedder, the model the KB search
has loaded, never a second copy) and by a BM25-style term overlap, plus how well its section's
"Title > Heading" matches. A sentence must clear a relevance bar (shared content terms, or a close
meaning) before it can answer anything, so a passage about something else never does.

Without the embedding model (not installed) the lexical half works alone. Article sentences are
embedded through the embedder's caches (they come back on every ticket about the topic); questions
through the memory cache only.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from agents.offline.article_text import blocks, label_heading, passage, sentences_of, terms
from domain.models import KbHit
from kb.asked import shared_sentence_questions

log = logging.getLogger("agents.offline.ranking")

Vectors = npt.NDArray[np.float32]
# texts -> L2-normalised vectors; `persist` says the texts recur (article sentences) or not (questions).
Encoder = Callable[[Sequence[str], bool], Vectors]

MIN_OVERLAP = 2  # distinct content terms shared with the question for a sentence to count on words alone
MIN_HEADING_OVERLAP = 3  # content terms the question shares with a section's own heading (not the title)
DENSE_ALONE = 0.55  # or this close in meaning, whatever the words
DENSE_WITH_ONE_TERM = 0.35  # or one shared term and this close
MAX_HITS = 4
MIN_SENTENCE_WORDS = 4  # shorter: no sentence to quote
JOIN_WORDS = 6  # shorter: it finishes the sentence before it in the same paragraph or item
# How much the closest question a sentence is known to answer (kb.asked) counts beside the sentence's own
# meaning; and that close, it answers whatever the words. Chosen on the spent sets (docs/knowledge-and-triage.md).
ASKED_WEIGHT = 1.3
ASKED_ALONE = 0.5
# When no sentence of the search's best article clears the relevance bar: how close in meaning one of them must
# come to the question, itself and by one of the questions it is known to answer (kb.asked), to answer it; and
# the lower bar when the search put that article this far ahead of the next. Chosen on the spent sets together
# with `hit_rank` (docs/knowledge-and-triage.md).
TOP_ARTICLE_BAR = 0.3
CLEAR_MARGIN = 1.5
CLEAR_BAR = 0.1
_FIGURE = re.compile(r"(?<![\w/])\d")  # a limit, a price, a duration: a digit not inside a path ("/v2/")
# An identifier the customer quotes: an error code ("insufficient_scope", "EXPORT_PERMISSION_DENIED") or an HTTP
# status ("403"). A section headed with another one is about another case. (As a bonus to the sentences naming the
# customer's code it cost 16 of 1,125 answers in the leave-one-set-out check: a customer quotes the error and asks
# what to do, and the remedy sits in another section.)
_CODE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b|\b[45]\d\d\b", re.IGNORECASE)
_EXAMPLE = re.compile(r"^(?:example|for example|for instance|e\.g\.)\b", re.IGNORECASE)
# A section that gives background ("Why verify", "What a CORS error means", "About data exports", "How rate limiting
# works") explains; one asking what to do ("how should our receiver tell a real call from a forged one?", "any way to
# clean them up?") wants the section that says it. A "why" heading with a subject and verb ("Why an alert did not
# fire", "Why tax changed") diagnoses, and is no background.
_BACKGROUND_HEADING = re.compile(
    r"^(?:why \w+(?: (?!\w+ed$)\w+)?|what (?:an? |the )?[\w -]+ (?:means?|is|are|shows?)|what is [\w -]+|about [\w -]+|"
    r"how [\w -]+ works?)$",
    re.IGNORECASE,
)
_ASKS_WHAT_TO_DO = re.compile(
    r"\b(?:how (?:do|can|should|would|could|to)\b|what (?:do|does|should|must|can) (?:i|we|she|he|they|you|our \w+) "
    r"(?:need|have to|do)\b|(?:i|we|you) (?:need|have) to\b|(?:any|a|the|best|fastest|quickest|easiest|right) way "
    r"(?:to|for)\b|steps?\b)",
    re.IGNORECASE,
)


def asks_what_to_do(question: str) -> bool:
    """The question asks what to do, not why something is so."""
    return not question.lstrip().lower().startswith("why") and bool(_ASKS_WHAT_TO_DO.search(question))


def is_background(heading: str) -> bool:
    return bool(_BACKGROUND_HEADING.match(heading.strip()))


# Weights of the combined score (each measure lies roughly in 0..1). The heading is the section's own (the
# title is shared by every section of the article; the heading tells them apart): "Events missing from
# scripts, cron jobs or serverless functions" for a cron job's events.
WEIGHTS = {
    "dense": 1.0,
    "asked": ASKED_WEIGHT,
    "lexical": 0.6,
    "section_dense": 0.35,
    "section_lexical": 0.25,
    "heading_lexical": 0.3,
    "hit_rank": -0.4,  # the search's order: it weighs the whole article, its tags and past tickets
    "figure": 0.05,
    "long": -0.1,
    "example": -0.15,
    "background": -0.4,
}


@dataclass(frozen=True)
class Sentence:
    """One sentence of a retrieved passage, where it sits, and (once ranked) how well it answers."""

    text: str
    article_id: str
    hit_rank: int
    section: str  # the heading it sits under ("" for the article's introduction)
    position: int  # reading order within its hit
    terms: frozenset[str] = field(default=frozenset(), compare=False)
    score: float = 0.0
    relevant: bool = False
    matched: frozenset[str] = frozenset()
    lead: bool = False  # it ends in ":" and introduces a list: quoted with that list or not at all
    block: int = field(default=-1, compare=False)  # its paragraph or list item within the hit


def codes(text: str) -> frozenset[str]:
    """The error codes and HTTP statuses a text names, lower-cased."""
    return frozenset(c.lower() for c in _CODE.findall(text))


def is_example(text: str) -> bool:
    """The sentence illustrates ("Example: ...", "For instance, ...") rather than states."""
    return bool(_EXAMPLE.match(text))


def sentences_of_hits(hits: Sequence[KbHit]) -> list[Sentence]:
    """Every quotable sentence of the hits' passages (the best chunk, then the article's next section).

    Headings are not sentences; a lead-in ending in ":" means nothing without its list; very short or
    very long sentences make poor answers."""
    out: list[Sentence] = []
    seen: set[str] = set()
    for rank, hit in enumerate(hits[:MAX_HITS]):
        label, body = passage(hit)
        parts = blocks(body, label_heading(label)) + (blocks(hit.more) if hit.more else [])
        position = 0
        for n, block in enumerate(parts):
            said = _joined_short(sentences_of(block.text))
            # A sentence introducing a list ("... works without signing in:") answers with its list.
            introduces = n + 1 < len(parts) and parts[n + 1].list_no >= 0 and block.list_no < 0
            for i, sentence in enumerate(said):
                key = " ".join(sentence.lower().split())
                words = len(sentence.split())
                position += 1
                lead = sentence.endswith(":") and introduces and i == len(said) - 1
                if sentence.endswith(":") and not lead and i == len(said) - 1 and _FIGURE.search(sentence):
                    # Before a table or code, not a list: "Paying yearly costs 15% less than paying monthly:"
                    # states its figure whatever follows ("The limits depend on your plan:" says nothing).
                    sentence = sentence[:-1] + "."
                if key in seen or words < MIN_SENTENCE_WORDS or words > 60 or (sentence.endswith(":") and not lead):
                    continue
                seen.add(key)
                out.append(
                    Sentence(
                        sentence,
                        hit.article_id,
                        rank,
                        block.heading,
                        position,
                        frozenset(terms(sentence)),
                        lead=lead,
                        block=n,
                    )
                )
    return out


def words_of(sentences: Sequence[Sentence]) -> int:
    return sum(len(s.text.split()) for s in sentences)


def follow_on(line: Sentence, all_sentences: Sequence[Sentence], chosen: Sequence[Sentence]) -> Sentence | None:
    """The sentence after `line` in the same paragraph or list item, when it states a figure and is not chosen."""
    if line.block < 0:
        return None
    where = (line.article_id, line.section, line.block, line.position + 1)
    for s in all_sentences:
        if (s.article_id, s.section, s.block, s.position) == where and _FIGURE.search(s.text):
            return s if all(c.text != s.text for c in chosen) else None
    return None


def _joined_short(said: list[str]) -> list[str]:
    """A very short sentence ("Upload the new metadata.") finishes the one before it in the same block
    ("...: the IdP certificate changed."): alone it is too short to win, or to quote, and the fix is lost."""
    out: list[str] = []
    for sentence in said:
        if out and len(sentence.split()) < JOIN_WORDS and not out[-1].endswith(":"):
            out[-1] = f"{out[-1]} {sentence}"
        else:
            out.append(sentence)
    return out


_encoder: Encoder | None = None
_encoder_ready = False
_encoder_lock = threading.Lock()


def set_encoder(encoder: Encoder | None) -> None:
    """Use `encoder` for sentence meaning (tests; a worker with its own embedder); None: words only."""
    global _encoder, _encoder_ready
    with _encoder_lock:
        _encoder, _encoder_ready = encoder, True


def encoder() -> Encoder | None:
    """The process's shared sentence embedder (the one the KB search uses), or None when not installed."""
    global _encoder, _encoder_ready
    with _encoder_lock:
        if not _encoder_ready:
            _encoder_ready = True
            try:
                from kb.embeddings import model_file, shared_embedder, tokenizer_file

                if model_file().is_file() and tokenizer_file().is_file():
                    shared = shared_embedder()
                    _encoder = lambda texts, persist: shared.embed(list(texts), persist=persist)  # noqa: E731
            except Exception as e:  # the model is optional: words alone still rank
                log.warning("sentence embeddings unavailable (%s); ranking replies by terms only", e)
                _encoder = None
        return _encoder


def _idf(pool: Sequence[frozenset[str]]) -> dict[str, float]:
    df: dict[str, int] = {}
    for doc in pool:
        for t in doc:
            df[t] = df.get(t, 0) + 1
    n = len(pool)
    return {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}


def _bm25(question: set[str], doc: frozenset[str], length: int, avg: float, idf: dict[str, float]) -> float:
    k1, b = 1.2, 0.75
    norm = k1 * (1 - b + b * length / max(avg, 1.0))
    return sum(idf.get(t, 0.0) * (k1 + 1) / (1 + norm) for t in question & doc)


def _distinctive_number(overlap: set[str] | frozenset[str]) -> bool:
    return any(t.isdigit() and len(t) >= 3 for t in overlap)


def _best_article_answers(
    scored: list[tuple[Sentence, dict[str, float]]], clear: bool
) -> list[tuple[Sentence, dict[str, float]]]:
    """When no sentence of the search's best article clears the relevance bar, those of its sentences that come
    loosely close in meaning (``TOP_ARTICLE_BAR``; ``CLEAR_BAR`` when the search was ``clear``ly sure of it), both
    themselves and by a question they are known to answer, do: the search weighed the whole article, its tags and
    past tickets ("Is that on your roadmap, and how do we ask for it?" shares no term with "Ideas portal: ...",
    and a figure of speech can lend another article's line the one term it shares: "I'd sell my grandmother for
    chart annotations" and "We do not sell it")."""
    if any(s.relevant for s, _ in scored if s.hit_rank == 0):
        return scored
    bar = CLEAR_BAR if clear else TOP_ARTICLE_BAR
    return [
        (replace(s, relevant=True) if s.hit_rank == 0 and min(m["dense"], m["asked"]) >= bar else s, m)
        for s, m in scored
    ]


class Ranker:
    """Scores the sentences of one turn's hits against any number of questions, embedding each text once."""

    def __init__(self, hits: Sequence[KbHit], use_meaning: bool = True) -> None:
        self.sentences = sentences_of_hits(hits)
        self._labels = {h.article_id: (h.title, passage(h)[0]) for h in hits}
        self._clear = len(hits) > 1 and hits[0].score >= CLEAR_MARGIN * hits[1].score
        self._encoder = encoder() if use_meaning and self.sentences else None
        self._vectors: Vectors | None = None
        self._section_vectors: dict[tuple[str, str], Vectors] = {}
        self._asked_vectors: list[Vectors | None] = [None] * len(self.sentences)
        pool = [s.terms | frozenset(terms(self._section_label(s))) for s in self.sentences]
        self._idf = _idf(pool)
        self._avg = sum(len(s.terms) for s in self.sentences) / max(1, len(self.sentences))
        if self._encoder is not None:
            labels = sorted({(s.article_id, s.section) for s in self.sentences})
            texts = [s.text for s in self.sentences] + [self._label_text(a, h) for a, h in labels]
            try:
                vectors = self._encoder(texts, True)
            except Exception as e:
                log.warning("sentence embeddings failed (%s); ranking replies by terms only", e)
                self._encoder = None
            else:
                self._vectors = vectors[: len(self.sentences)]
                self._section_vectors = dict(zip(labels, vectors[len(self.sentences) :], strict=True))
                self._embed_asked()

    def _embed_asked(self) -> None:
        """Each sentence's known questions (kb.asked), embedded once per text through the disk cache."""
        asked = shared_sentence_questions()
        if not asked or self._encoder is None:
            return
        per_sentence = [asked.questions(s.article_id, s.text) for s in self.sentences]
        texts = sorted({q for qs in per_sentence for q in qs})
        if not texts:
            return
        try:
            vectors = self._encoder(texts, True)
        except Exception as e:
            log.warning("question embeddings failed (%s); ranking without the questions sentences answer", e)
            return
        row = {t: i for i, t in enumerate(texts)}
        self._asked_vectors = [vectors[[row[q] for q in qs]] if qs else None for qs in per_sentence]

    def _label_text(self, article_id: str, heading: str) -> str:
        title, _ = self._labels.get(article_id, ("", ""))
        return f"{title}: {heading}" if heading and heading != title else title

    def _section_label(self, s: Sentence) -> str:
        return self._label_text(s.article_id, s.section)

    def features(
        self, question: str, context: str = "", exclude: Callable[[str], bool] | None = None
    ) -> list[tuple[Sentence, dict[str, float]]]:
        """Each sentence (not excluded) with its relevance decided and the measures its score weighs."""
        wanted = terms(question)
        around = terms(context) - wanted
        if not wanted and not around:
            return []
        q_vec: Vectors | None = None
        if self._encoder is not None and self._vectors is not None:
            texts = [question] + ([f"{question} {context}"] if context.strip() else [])
            try:
                vecs = self._encoder(texts, False)
                q_vec = vecs[0] if len(vecs) == 1 else 0.75 * vecs[0] + 0.25 * vecs[1]
            except Exception as e:
                log.warning("question embedding failed (%s); ranking by terms only", e)
        lexical = [
            _bm25(wanted, s.terms, len(s.terms), self._avg, self._idf)
            + 0.3 * _bm25(around, s.terms, len(s.terms), self._avg, self._idf)
            for s in self.sentences
        ]
        top = max(lexical, default=0.0) or 1.0
        quoted = codes(f"{question} {context}")
        what_to_do = asks_what_to_do(question)
        out: list[tuple[Sentence, dict[str, float]]] = []
        for i, s in enumerate(self.sentences):
            if exclude is not None and exclude(s.text):
                continue
            overlap = s.terms & wanted
            label_terms = terms(self._section_label(s))
            dense = float(np.dot(self._vectors[i], q_vec)) if q_vec is not None and self._vectors is not None else 0.0
            section_vec = self._section_vectors.get((s.article_id, s.section))
            section_dense = float(np.dot(section_vec, q_vec)) if section_vec is not None and q_vec is not None else 0.0
            heading_shared = len(terms(s.section) & wanted)
            known = self._asked_vectors[i]
            asked = float(np.max(known @ q_vec)) if known is not None and q_vec is not None else 0.0
            # A section headed with another code ("HTTP 401 Unauthorized" for a customer's 403) is about another case.
            another_case = bool(quoted) and bool(codes(s.section)) and not quoted & codes(s.section)
            relevant = not another_case and (
                len(overlap) >= MIN_OVERLAP
                or _distinctive_number(overlap)
                or (q_vec is not None and (dense >= DENSE_ALONE or (overlap and dense >= DENSE_WITH_ONE_TERM)))
                or (len(overlap | (s.terms & around)) >= MIN_OVERLAP and len(label_terms & (wanted | around)) >= 1)
                # A section headed with the question's topic ("Events missing from scripts, cron jobs or
                # serverless functions" for "events from our cron job don't show up") answers it in words
                # of its own ("Call `client.flush()` before the function returns").
                or heading_shared >= MIN_HEADING_OVERLAP
                or asked >= ASKED_ALONE
            )
            measures = {
                "dense": dense,
                # How close the nearest question this sentence is known to answer is (0 without any).
                "asked": asked,
                "lexical": lexical[i] / top,
                "section_dense": section_dense,
                "section_lexical": len(label_terms & wanted) / max(1, len(wanted)),
                # One shared word ("webhooks") is the article's topic, not this section's.
                "heading_lexical": heading_shared / max(1, len(wanted)) if heading_shared >= 2 else 0.0,
                "hit_rank": float(s.hit_rank),
                # Concrete facts (limits, prices, days) beat generalities; a digit in a path ("/v2/") is no fact.
                "figure": 1.0 if _FIGURE.search(s.text) else 0.0,
                "long": 1.0 if len(s.text.split()) > 40 else 0.0,
                # An example illustrates a rule; the rule is the answer.
                "example": 1.0 if is_example(s.text) else 0.0,
                "background": 1.0 if what_to_do and is_background(s.section) else 0.0,
            }
            out.append((replace(s, relevant=relevant, matched=frozenset(overlap)), measures))
        return _best_article_answers(out, self._clear)

    def rank(
        self,
        question: str,
        context: str = "",
        exclude: Callable[[str], bool] | None = None,
        plan_bonus: Callable[[str], float] | None = None,
    ) -> list[Sentence]:
        """The sentences scored against `question` (with `context`, such as the subject, weighing less),
        best first. `exclude` drops sentences the customer was already sent; `plan_bonus` adds to a
        sentence's score (a row for the customer's plan beats another plan's)."""
        out = [
            replace(
                s,
                score=sum(WEIGHTS[name] * value for name, value in measures.items())
                + (plan_bonus(s.text) if plan_bonus is not None else 0.0),
            )
            for s, measures in self.features(question, context, exclude)
        ]
        return sorted(out, key=lambda s: (-s.score, s.hit_rank, s.position))
