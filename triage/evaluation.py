"""`supportctl eval triage`: train on one file, measure on another, report one JSON line."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from triage.classifier import EmbeddingMode, TextClassifier, read_examples, score

REPORT_TOP = 5  # labels and mix-ups listed on stderr


def evaluate_triage(
    train: Path,
    test: Path,
    label_field: str,
    text_field: str = "text",
    embeddings: EmbeddingMode = "auto",
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train only on ``train``, predict every row of ``test``; accuracy, macro-F1 and counts.

    A test label the training data never had counts as an error (the model cannot predict it).
    """
    log = say or (lambda _msg: None)
    started = time.perf_counter()
    train_texts, train_labels = read_examples(train, label_field, text_field)
    test_texts, test_labels = read_examples(test, label_field, text_field)
    log(f"train: {len(train_texts)} examples, {len(set(train_labels))} labels; test: {len(test_texts)} examples")
    model = TextClassifier.train(
        train_texts, train_labels, embeddings=embeddings, label_field=label_field, text_field=text_field, progress=log
    )
    trained = time.perf_counter()
    log(f"trained in {trained - started:.1f}s; predicting {len(test_texts)} examples")
    predicted = [p.label for p in model.predict_many(test_texts, persist=True)]
    for line in error_report(test_labels, predicted):
        log(line)
    result: dict[str, Any] = score(test_labels, predicted)
    result.update(
        {
            "n_train": len(train_texts),
            "labels": len(set(train_labels) | set(test_labels)),
            "unseen_test_labels": len(set(test_labels) - set(train_labels)),
            "features": model.info.features,
            "train_seconds": round(trained - started, 1),
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    return result


def error_report(truth: Sequence[str], predicted: Sequence[str], top: int = REPORT_TOP) -> list[str]:
    """Where the model goes wrong, for the team that owns the labels: the labels it gets least
    right (F1 on the test set) and the mix-ups it makes most often, each at most ``top``."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = sorted(set(truth) | set(predicted))
    _, _, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    weakest = sorted((f, label, n) for label, f, n in zip(labels, f1, support, strict=True) if n)[:top]
    mixups = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p).most_common(top)
    lines = ["weakest labels (F1 on the test set): " + ", ".join(f"{label} {f:.2f} (n {n})" for f, label, n in weakest)]
    if mixups:
        lines.append(
            "most frequent mix-ups (true → predicted): " + ", ".join(f"{t} → {p} ×{n}" for (t, p), n in mixups)
        )
    return lines
