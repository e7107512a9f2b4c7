"""Hand-over detection: one detector per reason a person must take a ticket instead of the agents.

Each reason (``REASONS``) is the mean of two calibrated logistic regressions over our shipped
embedding model (``kb.embeddings``: the sentence vector, and it with an inner layer beside it;
``TwoViews``), trained at worker start on ``handover_examples.jsonl`` (about 1,100 written examples,
hard negatives included) and ``handover_examples_sets.jsonl`` (sentences and whole messages of the spent
eval sets' tickets, in their writers' words), OR'ed with the high-precision rules of
``triage.handover_rules``.
A message is scored sentence by sentence (and whole): the one line "a contractor pushed our key to a
public gist" inside a long, polite e-mail is what matters. Each reason's threshold is chosen on
out-of-fold probabilities (the examples the model was not fitted on), so no number here is hand-tuned:
the lowest one whose out-of-fold precision reaches ``PRECISION`` for the whole message, and a stricter
bar (``SENTENCE_PRECISION``) for a single sentence, since a long mail's dozen sentences are a dozen
chances of a false alarm. The choice is averaged over bootstrap resamples of the examples, on folds
keyed to each example's text (``triage.threshold_choice``), so a handful of examples more or less moves
a bar by hundredths, not across its range.
Another language comes from ``triage.language`` (a packaged model, no download).

``unhappy`` is not a reason on its own: the workflow hands an unhappy customer over only when the
account is VIP or enterprise (``domain.policy.handover_reason``), since it knows the customer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from kb.embeddings import DIMENSION, LAYERS, Embedder, shared_embedder
from triage import handover_rules, language
from triage.threshold_choice import folds_by_text, stable_threshold
from triage.trained import TrainedOnce

log = logging.getLogger("triage.handover")

EXAMPLES = Path(__file__).with_name("handover_examples.jsonl")
# The spent eval sets' tickets in their writers' words: the sentences that carry a must-reach ticket's
# reason and a calm ticket's alarming ones, and each of those tickets' whole message (``unit``). Each row
# names its ``source`` set, so ``evals.handover_leave_one_out`` can leave a set out.
SET_EXAMPLES = Path(__file__).with_name("handover_examples_sets.jsonl")
EXAMPLE_FILES = (EXAMPLES, SET_EXAMPLES)
# Each reason's threshold, chosen by ``python -m triage.handover_eval`` on out-of-fold probabilities and
# keyed to the examples' hash: the worker then fits one model per reason and no cross-validation.
THRESHOLDS = Path(__file__).with_name("handover_thresholds.json")
# Learned reasons; "unhappy" is a signal the workflow combines with who the customer is.
REASONS = ("security", "legal", "outage", "data_loss", "person", "angry", "unhappy")
LANGUAGE = "language"
# What the workflow writes as the escalation reason, most serious first.
MESSAGES = {
    "security": "security incident reported",
    "legal": "legal threat",
    "outage": "outage reported",
    "data_loss": "data loss reported",
    "person": "customer asked for a human",
    LANGUAGE: "message in another language",
    "angry": "customer is angry with us",
}
# Out-of-fold precision a threshold must reach: a calm ticket handed over costs a person's time and the
# customer an answer, so each detector is tuned to be right when it fires, recall coming second.
# 0.9 / 0.95 since the spent sets' examples (0.95 / 0.98 before): with them, each of five sets left out in
# turn, it missed fewer must-reach tickets than before on all five and handed over fewer calm ones on four
# (as many on the fifth); figures in docs/knowledge-and-triage.md.
PRECISION = 0.9
SENTENCE_PRECISION = 0.95  # one sentence of many: the multiple-comparisons bar
SURE = 0.97  # a sentence's security score that hands over without an event in it (``describes_setup``)
# MiniLM's fourth layer pooled beside the sentence vector, as the triage classifier does
# (``triage.estimators.INNER_LAYER``): one model pass gives both.
INNER_LAYER = 4
FOLDS = 4
# Out-of-fold probabilities averaged over this many assignments to folds: with a few dozen positives a
# reason's threshold chosen on one assignment moves with its seed (and a blind set's calm tickets with
# it); the average is what the examples say, not what one split says.
REPEATS = 5
MAX_UNITS = 12  # sentences scored per message (a long e-mail's first dozen carry its request)
# A sentence shorter than this is not scored alone ("Invoices for Sue" read as legal, "no errors in
# cloudwatch" as an outage); the whole message, short ones included, always is.
MIN_UNIT_WORDS = 5
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# A line break inside a sentence: e-mail clients wrap at 70-100 characters, and a wrapped line's
# fragment ("The key was copied from the", "If I don't get a") scored alone is a false alarm or a
# lost one. A line that does not end a sentence continues when the next starts in lower case or
# when it is itself a long (wrapped) line.
_WRAPPED = re.compile(r"(?<=[^.!?:;\s])[ \t]*\n(?=[ \t]*[a-z0-9(\"'])|(?<=[^\n]{50}[^.!?:;\s\n])[ \t]*\n(?=[ \t]*\S)")
# A heading: a first line of at most 12 words without a sentence's end, then a blank line and more text.
# A subject line is a short alarm-sounding summary ("All my charts are empty", "Events not arriving")
# of a question the body asks; scored alone it handed calm tickets over, while the subjects of real
# incidents are restated in their bodies.
_HEADING = re.compile(r"\A[ \t]*(?:[^\s.!?\n]+[ \t]+){0,11}[^\s.!?\n]+[ \t]*\n[ \t]*\n(?=\s*\S)")

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Example:
    text: str
    reasons: frozenset[str]


@dataclass(frozen=True)
class Handover:
    """What the detectors found in one message."""

    reasons: list[str] = field(default_factory=list)  # keys of MESSAGES, most serious first
    unhappy: bool = False
    scores: dict[str, float] = field(default_factory=dict)  # calibrated probability per detector
    # The highest share of its bar the unhappy or angry score reaches (the message against the whole
    # message's bar, a sentence against a sentence's): a high-value account takes a lower bar
    # (``domain.policy.IMPORTANT_UNHAPPY_SHARE``), and only the workflow knows the account.
    unhappy_share: float = 0.0

    @property
    def reason(self) -> str | None:
        return MESSAGES[self.reasons[0]] if self.reasons else None


def load_examples(*paths: Path) -> list[Example]:
    """The examples of the given files (all of ``EXAMPLE_FILES`` when none is given)."""
    lines = [line for path in paths or EXAMPLE_FILES for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [json.loads(line) for line in lines if line.strip()]
    return [Example(r["text"], frozenset(r["reasons"])) for r in rows]


def unwrap(text: str) -> str:
    """The text with the line breaks of wrapped sentences joined (paragraphs and short lines kept)."""
    return _WRAPPED.sub(" ", text)


def units(text: str) -> list[str]:
    """The message and its sentences (wrapped lines joined; those of ``MIN_UNIT_WORDS`` or more), the message
    first. A heading (a ticket's subject) counts within the whole message, not alone."""
    body = unwrap(text)
    heading = _HEADING.match(body)
    if heading is not None:
        body = body[heading.end() :]
    parts = [p.strip() for p in _SENTENCE.split(body) if len(p.split()) >= MIN_UNIT_WORDS]
    whole = " ".join(text.split())
    # One sentence after a heading is scored alone too: the whole message is then heading and sentence.
    return [whole, *parts[:MAX_UNITS]] if len(parts) > 1 or (heading is not None and parts) else [whole]


def _calibrated() -> CalibratedClassifierCV:
    # Balanced weights: each reason has a few dozen positives among a few hundred examples.
    base = LogisticRegression(C=4.0, class_weight="balanced", solver="liblinear")
    return CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False)


class TwoViews(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """The mean of two calibrated regressions: on the sentence vector alone, and on it with the inner
    layer beside it. The inner layer separates the examples better (out of fold) but alone handed over
    more calm tickets of the dev set; the mean ranked must-reach tickets above calm ones more often
    than either (figures in docs/knowledge-and-triage.md)."""

    def fit(self, x: Vectors, y: npt.NDArray[np.int_]) -> TwoViews:
        self.sentence_ = _calibrated().fit(x[:, :DIMENSION], y)
        self.both_ = _calibrated().fit(x, y)
        self.classes_ = self.sentence_.classes_
        return self

    def predict_proba(self, x: Vectors) -> npt.NDArray[np.float64]:
        p: npt.NDArray[np.float64] = (self.sentence_.predict_proba(x[:, :DIMENSION]) + self.both_.predict_proba(x)) / 2
        return p

    def predict(self, x: Vectors) -> npt.NDArray[np.int_]:
        out: npt.NDArray[np.int_] = self.classes_[(self.predict_proba(x)[:, 1] >= 0.5).astype(int)]
        return out


def _model() -> TwoViews:
    return TwoViews()


def examples_hash(examples: Sequence[Example]) -> str:
    blob = json.dumps([[e.text, sorted(e.reasons)] for e in examples], ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


class HandoverDetector:
    """Train once (``fit``), then ``detect`` any number of messages; safe to share between threads."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder
        self._models: dict[str, TwoViews] = {}
        self.thresholds: dict[str, float] = {}  # the whole message's bar
        self.sentence_thresholds: dict[str, float] = {}  # a single sentence's (never lower)
        self._lock = threading.Lock()

    def _embed(self, texts: Sequence[str], persist: bool) -> Vectors:
        if self._embedder is None:
            self._embedder = shared_embedder()
        last, inner = self._embedder.embed_layers(list(texts), (LAYERS, INNER_LAYER), persist=persist)
        return np.hstack([last, inner]).astype(np.float32)

    def fit(self, examples: Sequence[Example] | None = None, *, choose: bool | None = None) -> HandoverDetector:
        """Fit one model per reason. ``choose``: pick thresholds by cross-validation (None: only when the
        shipped thresholds were chosen on other examples)."""
        examples = list(examples) if examples is not None else load_examples()
        learned = [e for e in examples if LANGUAGE not in e.reasons]  # language has its own model
        shipped = _shipped_thresholds(examples_hash(examples))
        if choose is None:
            choose = shipped is None
            if choose:
                log.warning("%s was chosen on other examples: choosing thresholds again", THRESHOLDS.name)
        x = self._embed([e.text for e in learned], persist=True)
        models, whole, sentence = {}, dict(shipped[0] if shipped else {}), dict(shipped[1] if shipped else {})
        for reason in REASONS:
            y = np.array([int(reason in e.reasons) for e in learned])
            if choose:
                whole[reason], sentence[reason] = self.choose_thresholds(x, y, [e.text for e in learned])
            models[reason] = _model().fit(x, y)
        with self._lock:
            self._models, self.thresholds, self.sentence_thresholds = models, whole, sentence
        return self

    @staticmethod
    def out_of_fold(x: Vectors, y: npt.NDArray[np.int_], texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Each example's probability from models not fitted on it, averaged over ``REPEATS`` assignments
        to folds (each example's fold fixed by its text, ``folds_by_text``)."""
        folds = [folds_by_text(texts, FOLDS, seed) for seed in range(REPEATS)]
        runs = [cross_val_predict(_model(), x, y, cv=f, method="predict_proba")[:, 1] for f in folds]
        oof: npt.NDArray[np.float64] = np.mean(runs, axis=0)
        return oof

    @staticmethod
    def choose_thresholds(
        x: Vectors,
        y: npt.NDArray[np.int_],
        texts: Sequence[str],
        precision: tuple[float, float] = (PRECISION, SENTENCE_PRECISION),
        oof: npt.NDArray[np.float64] | None = None,
    ) -> tuple[float, float]:
        """The whole message's and a single sentence's threshold, from out-of-fold probabilities (``oof``
        when already computed), for the two precision targets."""
        oof = HandoverDetector.out_of_fold(x, y, texts) if oof is None else oof
        whole = stable_threshold(y, oof, precision[0])
        return whole, max(whole, stable_threshold(y, oof, precision[1]))

    def _unit_probabilities(self, text: str) -> dict[str, npt.NDArray[np.float64]]:
        """Each reason's probability per unit (the message, then its sentences); zero on a unit whose
        reason a rule vetoes (``handover_rules.unit_vetoes``)."""
        if not self._models:
            raise RuntimeError("HandoverDetector.fit() first")
        parts = units(text)
        x = self._embed(parts, persist=False)
        scores = {r: m.predict_proba(x)[:, 1] for r, m in self._models.items()}
        for i, part in enumerate(parts):
            for reason in handover_rules.unit_vetoes(part):
                scores[reason][i] = 0.0
            # One sentence about security that reports no event needs near-certainty to hand over alone.
            if i and scores["security"][i] < SURE and handover_rules.describes_setup(part):
                scores["security"][i] = 0.0
        return scores

    def probabilities(self, text: str) -> dict[str, float]:
        """Each learned reason's calibrated probability: the highest over the message and its sentences."""
        return {r: float(p.max()) for r, p in self._unit_probabilities(text).items()}

    def _share_of_bar(self, reason: str, p: npt.NDArray[np.float64]) -> float:
        whole = p[0] / self.thresholds[reason]
        return float(max(whole, p[1:].max() / self.sentence_thresholds[reason])) if len(p) > 1 else float(whole)

    def _over_bars(self, unit_scores: dict[str, npt.NDArray[np.float64]]) -> set[str]:
        """The whole message (first unit) over its bar, or one sentence over the stricter sentence bar."""
        return {
            r
            for r, p in unit_scores.items()
            if p[0] >= self.thresholds[r] or (len(p) > 1 and p[1:].max() >= self.sentence_thresholds[r])
        }

    def model_reasons(self, text: str) -> set[str]:
        """The reasons the models alone find, before the rules and the message's vetoes."""
        return self._over_bars(self._unit_probabilities(text))

    def detect(self, text: str) -> Handover:
        if not any(ch.isalpha() for ch in text):
            return Handover()
        unit_scores = self._unit_probabilities(text)
        scores = {r: float(p.max()) for r, p in unit_scores.items()}
        vetoed = handover_rules.vetoes(text)
        found = self._over_bars(unit_scores) - vetoed
        share = max(
            (self._share_of_bar(r, unit_scores[r]) for r in ("unhappy", "angry") if r not in vetoed), default=0.0
        )
        found |= handover_rules.matches(text)
        other = language.other_language(text)
        if other is not None:
            found.add(LANGUAGE)
        rounded = {r: round(v, 3) for r, v in scores.items()}
        if other is not None:
            rounded[LANGUAGE] = 1.0
        ordered = [r for r in MESSAGES if r in found]
        unhappy = "unhappy" in found or "angry" in found
        return Handover(
            reasons=ordered, unhappy=unhappy, scores=rounded, unhappy_share=round(max(share, float(unhappy)), 3)
        )


def _shipped_thresholds(digest: str) -> tuple[dict[str, float], dict[str, float]] | None:
    """The shipped (whole message, single sentence) thresholds, when chosen on these examples."""
    try:
        shipped = json.loads(THRESHOLDS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if shipped.get("examples") != digest:
        return None
    whole, sentence = shipped.get("thresholds", {}), shipped.get("sentence_thresholds", {})
    if set(whole) != set(REASONS) or set(sentence) != set(REASONS):
        return None
    return {r: float(v) for r, v in whole.items()}, {r: float(v) for r, v in sentence.items()}


_shared = TrainedOnce(
    lambda: HandoverDetector().fit(), lambda d: log.info("hand-over detectors trained; thresholds %s", d.thresholds)
)


def shared_detector() -> HandoverDetector:
    """The process's detector, trained on first use (about a second with the embedding cache warm)."""
    return _shared.get()
