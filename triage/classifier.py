"""The category classifier a support team trains on its own ticket history.

TF-IDF over words and character n-grams feeding a linear SVM: fast to train on a laptop, robust to
typos and ticket jargon. The demo trains it from `demo/triage_examples.jsonl`.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from domain.models import Category

DEMO_EXAMPLES = Path(__file__).resolve().parents[1] / "demo" / "triage_examples.jsonl"
ARTIFACT_VERSION = 1


@dataclass(frozen=True)
class Prediction:
    category: Category
    confidence: float


class CategoryClassifier:
    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    @classmethod
    def train(cls, texts: list[str], labels: list[str]) -> CategoryClassifier:
        if len(set(labels)) < 2:
            raise ValueError("training needs at least two categories")
        features = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
                ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)),
            ]
        )
        # Calibration gives a usable confidence; with few examples per class fall back to 2 folds.
        folds = max(2, min(3, min(labels.count(label) for label in set(labels))))
        model = CalibratedClassifierCV(LinearSVC(C=0.8), cv=folds)
        pipeline = Pipeline([("features", features), ("svm", model)])
        pipeline.fit(texts, labels)
        return cls(pipeline)

    def predict(self, text: str) -> Prediction:
        probs = self._pipeline.predict_proba([text])[0]
        classes = list(self._pipeline.classes_)
        best = int(probs.argmax())
        return Prediction(Category(classes[best]), round(float(probs[best]), 4))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump({"version": ARTIFACT_VERSION, "pipeline": self._pipeline}, f)
        tmp.replace(path)  # atomic: a worker never loads a half-written model

    @classmethod
    def load(cls, path: Path) -> CategoryClassifier:
        with path.open("rb") as f:
            data = pickle.load(f)  # noqa: S301 - our own artifact, written by save()
        if data.get("version") != ARTIFACT_VERSION:
            raise ValueError(f"{path}: triage model version {data.get('version')}, expected {ARTIFACT_VERSION}")
        return cls(data["pipeline"])


def read_examples(path: Path, label_field: str = "category", text_field: str = "text") -> tuple[list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    with path.open() as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                texts.append(str(row[text_field]))
                labels.append(str(row[label_field]))
            except (json.JSONDecodeError, KeyError) as e:
                raise ValueError(f"{path}:{n}: expected JSON with {text_field!r} and {label_field!r}: {e}") from e
    return texts, labels


def load_or_train(artifact: Path, examples: Path = DEMO_EXAMPLES) -> CategoryClassifier:
    """Load the team's trained model; train the demo model from the examples when none exists yet."""
    if artifact.exists():
        return CategoryClassifier.load(artifact)
    texts, labels = read_examples(examples)
    clf = CategoryClassifier.train(texts, labels)
    clf.save(artifact)
    return clf
