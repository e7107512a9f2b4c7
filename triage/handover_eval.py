"""Measure the hand-over detectors on a split of their own examples and ship the chosen thresholds.

``python -m triage.handover_eval``: fits on 70 % of ``handover_examples.jsonl`` (thresholds chosen by
cross-validation inside that part), reports precision and recall per reason on the other 30 % (rules
and models together, and each alone), then chooses thresholds on all examples and writes
``handover_thresholds.json``. The figures are in docs/knowledge-and-triage.md.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from triage import handover_rules, language
from triage.handover import (
    LANGUAGE,
    REASONS,
    THRESHOLDS,
    Example,
    HandoverDetector,
    examples_hash,
    load_examples,
)


@dataclass(frozen=True)
class Score:
    reason: str
    support: int
    precision: float
    recall: float


def _score(reason: str, truth: Sequence[bool], said: Sequence[bool]) -> Score:
    tp = sum(1 for t, s in zip(truth, said, strict=True) if t and s)
    return Score(reason, sum(truth), tp / max(sum(said), 1), tp / max(sum(truth), 1))


def split_scores(examples: Sequence[Example], seed: int = 0) -> dict[str, list[Score]]:
    """Per reason on the held-out 30 %: "detector" (what triage uses), "model" and "rules" alone."""
    strata = [min(e.reasons) if e.reasons else "none" for e in examples]
    train, test = train_test_split(list(examples), test_size=0.3, random_state=seed, stratify=strata)
    detector = HandoverDetector().fit(train, choose=True)
    found = [detector.detect(e.text) for e in test]
    model_found = [detector.model_reasons(e.text) for e in test]
    out: dict[str, list[Score]] = {"detector": [], "model": [], "rules": []}
    for reason in (*REASONS, LANGUAGE):
        truth = [reason in e.reasons for e in test]
        said = [reason in h.reasons or (reason == "unhappy" and h.unhappy) for h in found]
        out["detector"].append(_score(reason, truth, said))
        if reason == LANGUAGE:
            out["model"].append(_score(reason, truth, [language.other_language(e.text) is not None for e in test]))
            continue
        model = [reason in m for m in model_found]
        out["model"].append(_score(reason, truth, model))
        out["rules"].append(_score(reason, truth, [reason in handover_rules.matches(e.text) for e in test]))
    return out


def main() -> None:
    examples = load_examples()
    for view, scores in split_scores(examples).items():
        sys.stdout.write(f"{view}\n")
        for s in scores:
            sys.stdout.write(f"  {s.reason:10} n={s.support:3} precision={s.precision:.2f} recall={s.recall:.2f}\n")
    detector = HandoverDetector()
    learned = [e for e in examples if LANGUAGE not in e.reasons]
    x = detector._embed([e.text for e in learned], persist=True)
    texts = [e.text for e in learned]
    labels = {r: np.array([int(r in e.reasons) for e in learned]) for r in REASONS}
    chosen = {r: detector.choose_thresholds(x, labels[r], texts) for r in REASONS}
    whole = {r: t[0] for r, t in chosen.items()}
    sentence = {r: t[1] for r, t in chosen.items()}
    shipped = {"examples": examples_hash(examples), "thresholds": whole, "sentence_thresholds": sentence}
    THRESHOLDS.write_text(json.dumps(shipped, indent=2) + "\n")
    sys.stdout.write(f"wrote {THRESHOLDS}: whole {whole}, sentence {sentence}\n")


if __name__ == "__main__":
    main()
