"""`supportctl eval triage`: train on one file, measure on another, report one JSON line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from triage.categories import known_category, to_category
from triage.classifier import EmbeddingMode, TextClassifier
from triage.datasets import read_examples, require_two_labels
from triage.metrics import error_report, score


def evaluate_triage(
    train: Path,
    test: Path,
    label_field: str,
    text_field: str = "text",
    embeddings: EmbeddingMode = "auto",
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train only on ``train``, predict every row of ``test``; accuracy, macro-F1 and counts, and
    ``category_accuracy`` (predicted and true label routed to the same category) when
    ``triage.categories`` maps every test label.

    A test label the training data never had counts as an error (the model cannot predict it).
    """
    log = say or (lambda _msg: None)
    started = time.perf_counter()
    train_texts, train_labels = read_examples(train, label_field, text_field)
    require_two_labels(train, train_labels, label_field)
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
    # What routing sees: how often the ticket reaches the right specialist, a confused pair of
    # labels in one category costing nothing. Only when the table maps every test label.
    if all(known_category(label) is not None for label in set(test_labels)):
        hits = sum(to_category(t) == to_category(p) for t, p in zip(test_labels, predicted, strict=True))
        result["category_accuracy"] = round(hits / len(test_labels), 4) if test_labels else 0.0
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
