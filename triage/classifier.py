"""The ticket classifier a support team trains on its own ticket history.

It predicts the team's own labels (intents, queues, topic groups: whatever ``--label`` names);
mapping those onto the product's five categories is ``triage.categories``' job, not the model's.

Features: TF-IDF over words (1-2-grams) and character n-grams (robust to typos and jargon), plus,
for short texts, all-MiniLM-L6-v2 sentence embeddings (``kb.embeddings``) that know "my card
hasn't come" and "card still not delivered" mean the same. A linear SVM on top, calibrated
(temperature scaling) so the confidence is a usable probability. With thousands of examples per
label the SVM is an NB-SVM (``NBWeightedSVM``): one SVM per label over the TF-IDF features
re-weighted by that label's naive-Bayes log-count ratios. Trains on two CPU cores in seconds
(TF-IDF only) to a few minutes (embeddings for ~10,000 texts; ~30,000 long tickets, NB-SVM).

The artifact is one pickle with its metadata (``ModelInfo``): format, a model version, the label
and text fields, the labels, the training data's SHA-256, when it was made, the metrics on a
held-out slice of the training data, and the team's own label -> category map, if it gave one.

This module chooses the features and estimators for a corpus, trains, predicts, saves and loads.
The estimators are in ``triage.estimators``, reading and splitting labelled examples in
``triage.datasets``, and the scores of a measurement in ``triage.metrics``.
"""

from __future__ import annotations

import json
import logging
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from domain.models import Category
from kb.embeddings import MODEL_ID, shared_embedder
from triage.categories import known_category, to_category
from triage.datasets import DEMO_EXAMPLE_FILES, data_hash, read_examples, stratified_split
from triage.estimators import INNER_LAYER, PERSIST_EMBEDDINGS, SVM_C, Progress

# Re-exported: saved artifacts name the three estimators ``triage.classifier.<name>`` (see triage.estimators).
from triage.estimators import TREE_SEEDS as TREE_SEEDS
from triage.estimators import NBWeightedSVM as NBWeightedSVM
from triage.estimators import SentenceEmbeddings as SentenceEmbeddings
from triage.estimators import TreeBlend as TreeBlend
from triage.metrics import error_report, score

ARTIFACT_FORMAT = 2
# "auto" embeds when the training texts hold at most this many words in total: about two
# minutes of embedding on two cores. Longer corpora (tens of thousands of multi-paragraph tickets)
# stay TF-IDF only: they carry enough words for it, and embedding them would take most of an hour.
AUTO_EMBED_MAX_WORDS = 200_000
# NB-SVM (``NBWeightedSVM``) when the training data has at least this many examples per label on
# average: with fewer, its log-count ratios are too noisy and the plain SVM does better.
NB_MIN_EXAMPLES_PER_LABEL = 1_000
HOLDOUT_FRACTION = 0.1
FEW_EXAMPLES = 50  # below this, character n-grams seen once are kept (see _features)
HOLDOUT_SEED = 13

EmbeddingMode = Literal["auto", "on", "off"]
log = logging.getLogger("triage")


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float


@dataclass
class ModelInfo:
    """What a trained artifact is: enough to know which data made it and how good it was."""

    version: str
    label_field: str
    text_field: str
    labels: list[str]
    training_data_sha256: str
    n_train: int
    created_at: str
    features: str
    metrics: dict[str, float] = field(default_factory=dict)
    artifact_format: int = ARTIFACT_FORMAT
    # The team's own label -> category map (``triage train --categories``); labels it leaves out go
    # through ``triage.categories``' table. Models saved before it existed load with none.
    categories: dict[str, str] = field(default_factory=dict)


def _every_few_seconds(say: Progress, label: str, every: float = 10.0) -> Callable[[int, int], None]:
    """A ``(done, total)`` callback that says "<label> done/total" at most every ``every`` seconds,
    and once at the end: minutes of embedding show they are moving, a warm cache says nothing."""
    started = last = time.monotonic()

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done >= total and now - started >= 1.0 or now - last >= every:
            last = now
            say(f"  {label} {done}/{total} ({now - started:.0f}s)")

    return report


def wants_nb_weighting(labels: Sequence[str]) -> bool:
    return len(labels) >= NB_MIN_EXAMPLES_PER_LABEL * len(set(labels))


def _features(embeddings: bool, inner_layer: int | None = INNER_LAYER, n_texts: int | None = None) -> FeatureUnion:
    # Character n-grams seen once are noise in a real history; in a handful of examples they may be
    # all there is (with min_df 2, two short texts sharing no 3-gram left no feature at all).
    char_min_df = 1 if n_texts is not None and n_texts < FEW_EXAMPLES else 2
    parts: list[tuple[str, Any]] = [
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=char_min_df)),
    ]
    if embeddings:
        parts.append(("minilm", SentenceEmbeddings(inner_layer=inner_layer)))
    return FeatureUnion(parts)


def _usable_inner_layer() -> int | None:
    """``INNER_LAYER`` when the embedding model exposes it. A model file swapped in through
    ``EMBEDDING_MODEL_PATH`` may be another export whose inner tensors are named otherwise: its
    classifier is then trained on the sentence embedding alone rather than not at all."""
    if INNER_LAYER in shared_embedder().layers():
        return INNER_LAYER
    log.warning("the embedding model does not expose layer %d; training on its sentence embedding alone", INNER_LAYER)
    return None


def wants_embeddings(texts: Sequence[str], mode: EmbeddingMode = "auto") -> bool:
    if mode != "auto":
        return mode == "on"
    return sum(len(t.split()) for t in texts) <= AUTO_EMBED_MAX_WORDS


def _fit(
    texts: Sequence[str], labels: Sequence[str], embeddings: bool, features: FeatureUnion | None, nb: bool = False,
    say: Progress | None = None,
) -> Pipeline | TreeBlend:  # fmt: skip
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    if len(counts) < 2:
        raise ValueError("training needs at least two labels")
    folds = max(2, min(3, min(counts.values())))
    # A label seen once cannot be calibrated by cross-validation; a plain SVM still predicts it.
    # NB-SVM only over TF-IDF (the ratios need non-negative features; sentence vectors are not).
    svm: Any = NBWeightedSVM() if nb and not embeddings else LinearSVC(C=SVM_C)
    # ensemble=False: one SVM fit on all the data, calibrated on cross-validated scores. Temperature
    # scaling (one softmax temperature over the SVM's scores) keeps the SVM's own choice of label.
    calibrated = CalibratedClassifierCV(svm, method="temperature", cv=folds, ensemble=False)
    model: Any = calibrated if min(counts.values()) >= 2 else svm
    pipeline = Pipeline([("features", features or _features(embeddings)), ("svm", model)])
    if nb and not embeddings and model is calibrated:
        blend = TreeBlend(pipeline)
        blend.fit(list(texts), list(labels), say, partial(_every_few_seconds, say) if say else None)
        return blend
    pipeline.fit(list(texts), list(labels))
    return pipeline


def _describe(embeddings: bool, nb: bool, inner_layer: int | None = INNER_LAYER) -> str:
    if embeddings:
        return f"tfidf-words+chars+{MODEL_ID}" + (f"+layer{inner_layer}" if inner_layer is not None else "")
    return "tfidf-words+chars+nbsvm+trees" if nb else "tfidf-words+chars"


class TextClassifier:
    """A trained classifier and its metadata."""

    def __init__(self, pipeline: Pipeline | TreeBlend, info: ModelInfo) -> None:
        self._pipeline = pipeline
        self.info = info
        self._own_categories = {label: Category(cat) for label, cat in info.categories.items()}

    @property
    def labels(self) -> list[str]:
        return [str(label) for label in self._pipeline.classes_]

    def category_of(self, label: str) -> Category:
        """The product category a predicted label routes to (the team's map first)."""
        return to_category(label, self._own_categories)

    def set_categories(self, own: Mapping[str, Category]) -> list[str]:
        """Keep the team's map for this model's labels; returns the map's labels the model does not
        know (most likely typos), which are not kept."""
        known = set(self.labels)
        self.info.categories = {label: cat.value for label, cat in own.items() if label in known}
        self._own_categories = {label: Category(cat) for label, cat in self.info.categories.items()}
        return sorted(label for label in own if label not in known)

    def unmapped_labels(self) -> list[str]:
        """Labels nothing maps onto a category: tickets predicted as them go to the general agent."""
        return [label for label in self.labels if known_category(label, self._own_categories) is None]

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        embeddings: EmbeddingMode = "auto",
        label_field: str = "category",
        text_field: str = "text",
        holdout: float = 0.0,
        progress: Progress | None = None,
    ) -> TextClassifier:
        """Train on ``texts``/``labels``; with ``holdout`` > 0 first measure on that slice, then train on all."""
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        say = progress or (lambda _msg: None)
        use_embeddings = wants_embeddings(texts, embeddings)
        use_nb = wants_nb_weighting(labels) and not use_embeddings
        inner_layer = _usable_inner_layer() if use_embeddings else None
        features = _features(use_embeddings, inner_layer, len(texts))
        embedding: SentenceEmbeddings | None = features.transformer_list[-1][1] if use_embeddings else None
        if embedding is not None:
            embedding.bind(shared_embedder())
            say(f"embedding {len(texts)} texts with {MODEL_ID} (remembered for the final fit)")
            embedding.prefetch(texts, _every_few_seconds(say, "embedded"))  # every text once, length-sorted
        metrics: dict[str, float] = {}
        if holdout > 0:
            train_idx, test_idx = stratified_split(labels, holdout, HOLDOUT_SEED)
            if test_idx:
                say(f"measuring on a held-out {len(test_idx)} of {len(texts)} examples")
                probe = _fit(
                    [texts[i] for i in train_idx], [labels[i] for i in train_idx], use_embeddings, features, use_nb, say
                )
                truth = [labels[i] for i in test_idx]
                predicted = [str(p) for p in probe.predict([texts[i] for i in test_idx])]
                metrics = score(truth, predicted)
                for line in error_report(truth, predicted):
                    say(line)
        kind = "TF-IDF + sentence embeddings" if use_embeddings else "TF-IDF, NB-SVM + trees" if use_nb else "TF-IDF"
        say(f"training on {len(texts)} examples ({kind})")
        pipeline = _fit(texts, labels, use_embeddings, features, use_nb, say)
        if embedding is not None:
            embedding.forget()
        info = ModelInfo(
            version="",
            label_field=label_field,
            text_field=text_field,
            labels=[str(label) for label in pipeline.classes_],
            training_data_sha256=data_hash(texts, labels),
            n_train=len(texts),
            created_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
            features=_describe(use_embeddings, use_nb, inner_layer),
            metrics=metrics,
        )
        info.version = f"{info.created_at.replace('-', '').replace(':', '')[:15]}Z-{info.training_data_sha256[:8]}"
        return cls(pipeline, info)

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str], *, persist: bool = False) -> list[Prediction]:
        """Labels and confidences. ``persist``: keep the texts' sentence vectors in the disk cache
        (evaluation sets that are predicted again); tickets in the worker use memory only."""
        if not texts:
            return []
        token = PERSIST_EMBEDDINGS.set(persist)
        try:
            return self._predict(texts)
        finally:
            PERSIST_EMBEDDINGS.reset(token)

    def _predict(self, texts: Sequence[str]) -> list[Prediction]:
        classes = self.labels
        model = self._pipeline
        if hasattr(model, "predict_proba"):
            try:
                probs = model.predict_proba(list(texts))
            except AttributeError:  # an uncalibrated SVM (a label seen once): no probabilities
                pass
            else:
                best = probs.argmax(axis=1)
                return [Prediction(classes[int(b)], round(float(p[b]), 4)) for b, p in zip(best, probs, strict=True)]
        return [Prediction(str(label), 1.0) for label in model.predict(list(texts))]

    def save(self, path: Path) -> None:
        if path.suffix.lower() == ".json":
            raise ValueError(f"{path}: the metadata is written beside the model as .json; give the model a .pkl path")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with tmp.open("wb") as f:
            pickle.dump({"format": ARTIFACT_FORMAT, "info": asdict(self.info), "pipeline": self._pipeline}, f)
        tmp.replace(path)  # atomic: a worker never loads a half-written model
        path.with_suffix(".json").write_text(json.dumps(asdict(self.info), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> TextClassifier:
        with path.open("rb") as f:
            try:
                data = pickle.load(f)  # noqa: S301 - our own artifact, written by save()
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError) as e:
                raise ValueError(f"{path}: not a triage model ({type(e).__name__}: {e}); retrain it") from None
        found = data.get("format", data.get("version")) if isinstance(data, dict) else None
        if found != ARTIFACT_FORMAT:
            raise ValueError(f"{path}: triage model format {found}, expected {ARTIFACT_FORMAT}; retrain it")
        return cls(data["pipeline"], ModelInfo(**data["info"]))


# The name the worker and the activity have always used.
CategoryClassifier = TextClassifier


def load_or_train(artifact: Path, examples: Sequence[Path] = DEMO_EXAMPLE_FILES) -> TextClassifier:
    """Load the team's trained model; train the demo model from the examples when none exists yet
    (or when the file is from an older format)."""
    if artifact.exists():
        try:
            return TextClassifier.load(artifact)
        except ValueError as err:
            # An artifact of an older format: keep it next to the new one, then fall back to the demo.
            kept = artifact.with_suffix(artifact.suffix + ".old")
            artifact.replace(kept)
            log.warning(
                "%s; kept it as %s and triaging with the demo model until you retrain "
                "(supportctl triage train --data FILE.jsonl --label FIELD)",
                err,
                kept,
            )
    texts, labels = [], []
    for path in examples:
        more_texts, more_labels = read_examples(path)
        texts += more_texts
        labels += more_labels
    # about 1,300 examples, 256 of them one line: with embeddings (seconds with the embedding cache warm)
    clf = TextClassifier.train(texts, labels, holdout=HOLDOUT_FRACTION)
    clf.save(artifact)
    return clf
