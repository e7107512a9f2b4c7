"""A learned stand-in for the "that fixed it" expressions, in the customer's own words.

``domain.resolution`` recognises a confirmation by its expressions ("worked", "sorted", "did the
trick"); customers also say "it loads now, ta" or "the SSO test passes now". This detector is a
calibrated logistic regression over our shipped sentence embeddings (``kb.embeddings``), trained at
worker start on ``resolution_examples.jsonl`` (a few hundred written messages: confirmations, and the
hard negatives: still broken, partly working, "I'll try that", thanks plus a new question, questions
about the fix, sarcasm such as "great, now it's worse"). Its threshold is the lowest whose out-of-fold
precision reaches ``PRECISION`` (chosen at fit, on the examples the model was not fitted on): a ticket
closed on a customer who is still stuck costs far more than one left waiting on them.

The detector only stands in for the expressions: the rule's vetoes (a question, a hedge, a negation, a
new request or problem, a long message) always win (``domain.resolution.confirms_resolution``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from domain.resolution import confirms_resolution, leaves_something_open
from kb.embeddings import Embedder, shared_embedder
from triage.trained import TrainedOnce

log = logging.getLogger("triage.resolution")

EXAMPLES = Path(__file__).with_name("resolution_examples.jsonl")
PRECISION = 0.95  # out-of-fold precision the threshold must reach
THRESHOLD_FLOOR, THRESHOLD_CEILING = 0.5, 0.95
FOLDS = 5
# A confirmation often follows what the customer did: "IT allowlisted the domain and it loads now, ta".
# The message is scored whole and clause by clause, and its best score counts.
_CLAUSE = re.compile(r"[.,;:!\n]+|\s+(?:and|so)\s+", re.IGNORECASE)

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Example:
    text: str
    confirms: bool


@dataclass(frozen=True)
class OutOfFold:
    """How the decision (rule OR detector, under the rule's vetoes) does on examples the detector was not
    fitted on, at its threshold; ``rule_recall``: the expressions alone."""

    threshold: float
    precision: float
    recall: float
    rule_precision: float
    rule_recall: float
    examples: int


def load_examples(path: Path = EXAMPLES) -> list[Example]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Example(r["text"], bool(r["confirms"])) for r in rows]


def units(text: str) -> list[str]:
    """The message (whitespace folded) and its clauses of two words or more."""
    whole = " ".join(text.split())
    clauses = [c.strip() for c in _CLAUSE.split(whole) if len(c.split()) >= 2]
    return [whole, *(c for c in clauses if c != whole)]


def _model() -> CalibratedClassifierCV:
    base = LogisticRegression(C=4.0, class_weight="balanced", solver="liblinear")
    return CalibratedClassifierCV(base, method="sigmoid", cv=3, ensemble=False)


def _precision_recall(y: npt.NDArray[np.int_], flagged: npt.NDArray[np.bool_]) -> tuple[float, float]:
    tp = int((flagged & (y == 1)).sum())
    precision = tp / int(flagged.sum()) if flagged.any() else 1.0
    return precision, tp / max(int((y == 1).sum()), 1)


def choose_threshold(y: npt.NDArray[np.int_], p: npt.NDArray[np.float64], target: float = PRECISION) -> float:
    """The lowest threshold within the bounds whose precision on ``p`` reaches ``target`` (else the ceiling)."""
    for t in np.arange(THRESHOLD_FLOOR, THRESHOLD_CEILING + 1e-9, 0.025):
        if _precision_recall(y, p >= t)[0] >= target:
            return round(float(t), 3)
    return THRESHOLD_CEILING


class ConfirmationDetector:
    """Train once (``fit``), then score any number of messages; safe to share between threads."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder
        self._model: CalibratedClassifierCV | None = None
        self.threshold = THRESHOLD_CEILING
        self.out_of_fold: OutOfFold | None = None
        self._lock = threading.Lock()

    def _embed(self, texts: Sequence[str], persist: bool) -> Vectors:
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder.embed(list(texts), persist=persist)

    def fit(self, examples: Sequence[Example] | None = None) -> ConfirmationDetector:
        """Choose the threshold on out-of-fold probabilities, then fit on every example."""
        examples = list(examples) if examples is not None else load_examples()
        x = self._embed([e.text for e in examples], persist=True)
        y = np.array([int(e.confirms) for e in examples])
        oof = self._out_of_fold(examples, x, y)
        # The threshold is chosen for the decision as it is made (rule OR model, under the rule's vetoes):
        # a message the vetoes stop never reaches the model, one the expressions confirm needs no model.
        by_rule = np.array([confirms_resolution(e.text) for e in examples])
        standing = np.array([confirms_resolution(e.text, learned=True) for e in examples])
        combined = np.where(by_rule, 1.0, np.where(standing, oof, 0.0))
        # Held to PRECISION: what the model adds to the rule (messages the rule leaves standing, unconfirmed).
        added = standing & ~by_rule
        threshold = choose_threshold(y[added], oof[added])
        precision, recall = _precision_recall(y, combined >= threshold)
        model = _model().fit(x, y)
        with self._lock:
            self._model, self.threshold = model, threshold
            rule_p, rule_r = _precision_recall(y, by_rule)
            self.out_of_fold = OutOfFold(
                threshold, round(precision, 3), round(recall, 3), round(rule_p, 3), round(rule_r, 3), len(examples)
            )
        return self

    def _out_of_fold(self, examples: Sequence[Example], x: Vectors, y: npt.NDArray[np.int_]) -> npt.NDArray[np.float64]:
        """Each example's score (its best unit) from a model fitted on the other folds' whole examples."""
        example_units = [units(e.text) for e in examples]
        unit_x = [self._embed(u, persist=True) for u in example_units]
        oof = np.zeros(len(examples))
        for train, test in StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0).split(x, y):
            model = _model().fit(x[train], y[train])
            for i in test:
                oof[i] = model.predict_proba(unit_x[i])[:, 1].max()
        return oof

    def probability(self, text: str) -> float:
        """The calibrated probability that the message, or one of its clauses, confirms a fix."""
        if self._model is None:
            raise RuntimeError("ConfirmationDetector.fit() first")
        x = self._embed(units(text), persist=False)
        return float(self._model.predict_proba(x)[:, 1].max())

    def confirms(self, text: str) -> bool:
        """The rule with this detector standing in for its expressions: the fix is confirmed and nothing
        is left open. The embedding is computed only for a message the rule's vetoes leave standing."""
        if confirms_resolution(text):
            return True
        latest = " ".join(text.split())
        if not latest or leaves_something_open(latest) or not confirms_resolution(latest, learned=True):
            return False
        return self.probability(latest) >= self.threshold


_shared = TrainedOnce(
    lambda: ConfirmationDetector().fit(), lambda d: log.info("confirmation detector trained; %s", d.out_of_fold)
)


def shared_confirmation_detector() -> ConfirmationDetector:
    """The process's detector, trained on first use (about a second with the embedding cache warm)."""
    return _shared.get()
