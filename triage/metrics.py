"""How well predicted labels match the true ones: the scores a measurement reports, and where it goes wrong."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

REPORT_TOP = 5  # weakest labels and most frequent mix-ups reported after a measurement


def score(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 (over the labels present in either list), rounded to 4 places."""
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "n": len(truth),
    }


def error_report(truth: Sequence[str], predicted: Sequence[str], top: int = REPORT_TOP) -> list[str]:
    """Where the model goes wrong, for the team that owns the labels: the labels it gets least
    right (F1 on the held-out examples) and the mix-ups it makes most often, each at most ``top``."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = sorted(set(truth) | set(predicted))
    _, _, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    weakest = sorted((f, label, n) for label, f, n in zip(labels, f1, support, strict=True) if n)[:top]
    mixups = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p).most_common(top)
    worst = ", ".join(f"{label} {f:.2f} (n {n})" for f, label, n in weakest)
    lines = [f"weakest labels (F1 on the held-out examples): {worst}"]
    if mixups:
        lines.append(
            "most frequent mix-ups (true → predicted): " + ", ".join(f"{t} → {p} ×{n}" for (t, p), n in mixups)
        )
    return lines
