"""The three scikit-learn estimators the triage pipeline is built from.

* ``SentenceEmbeddings``: texts -> scaled all-MiniLM-L6-v2 sentence vectors (``kb.embeddings``);
* ``NBWeightedSVM``: NB-SVM, one linear SVM per label over naive-Bayes re-weighted TF-IDF;
* ``TreeBlend``: a calibrated text classifier blended with LightGBM trees over word TF-IDF.

Which of them a corpus gets, and how they are put together, is ``triage.classifier``'s choice.
Trained models pickle these classes as ``triage.classifier.<name>`` (where they were first
defined, and still re-exported): each class keeps that ``__module__`` so that artifacts saved
before and after the split load in either release.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from kb.embeddings import DIMENSION, LAYERS, Embedder, shared_embedder

EMBEDDING_WEIGHT = 2.5  # scale of the (unit-length) sentence vector next to the TF-IDF blocks
# A second pooled vector, from an earlier layer of the same pass (nothing more to compute), and its scale.
INNER_LAYER = 4
INNER_WEIGHT = 1.0
SVM_C = 0.5
# Gradient-boosted trees see conjunctions of words a linear model cannot; three seeds averaged are steadier.
TREE_WEIGHT = 0.4
TREE_FEATURES = 5_000
TREE_ROUNDS = 150
TREE_SEEDS = 3
NB_ALPHA = 0.3  # smoothing added to each label's summed TF-IDF weight of a feature
NB_POWER = 0.5  # features scaled by sign(r)·|r|^power, r the log-count ratio (1 = classic NB-SVM)
PICKLED_AS = "triage.classifier"  # the module name in saved artifacts (see the module docstring)

# Whether sentence vectors go through the embedder's disk cache. Training texts and evaluation
# sets come back (a second run, another model on the same data): yes. Tickets being triaged are
# unique: no, only the in-memory cache (``predict``'s default; a SQLite round trip per ticket).
PERSIST_EMBEDDINGS: contextvars.ContextVar[bool] = contextvars.ContextVar("persist_embeddings", default=False)

Progress = Callable[[str], None]
# label -> a ``(done, total)`` callback that reports a long stage's progress through a ``Progress``.
Ticker = Callable[[str], Callable[[int, int], None]]


class SentenceEmbeddings(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """A scikit-learn transformer: texts → scaled sentence vectors (as a sparse block).

    Each text gets the last layer's pooled vector times ``weight`` and, when ``inner_layer`` is set,
    that earlier layer's pooled vector times ``inner_weight`` beside it (one model pass for both).
    While training, vectors are remembered so the held-out run and the final fit embed each text
    once; ``forget()`` ends that. The memo and the ONNX session are never pickled.
    """

    __module__ = PICKLED_AS

    def __init__(
        self,
        weight: float = EMBEDDING_WEIGHT,
        inner_layer: int | None = INNER_LAYER,
        inner_weight: float = INNER_WEIGHT,
    ) -> None:
        self.weight = weight
        self.inner_layer = inner_layer
        self.inner_weight = inner_weight
        self._memo: dict[str, npt.NDArray[np.float32]] = {}
        self._remember = False
        self._embedder: Embedder | None = None

    def fit(self, texts: Sequence[str], y: Any = None) -> SentenceEmbeddings:
        return self

    def bind(self, embedder: Embedder) -> None:
        """Embed with ``embedder`` (never pickled: a loaded model takes the shared one when it first embeds)."""
        self._embedder = embedder

    def remember(self) -> None:
        self._remember = True

    def prefetch(self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None) -> None:
        """Embed and remember every text now (with ``progress(done, total)``), for the fits to come."""
        self.remember()
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            self._memo.update(zip(missing, self._rows(missing, progress), strict=True))

    def forget(self) -> None:
        self._memo = {}
        self._remember = False

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        texts = list(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        fresh: dict[str, npt.NDArray[np.float32]] = {}
        if missing:
            fresh = dict(zip(missing, self._rows(missing), strict=True))
            if self._remember:
                self._memo.update(fresh)
        if not texts:
            width = DIMENSION * (1 if self.inner_layer is None else 2)
            return sparse.csr_matrix((0, width), dtype=np.float32)
        return sparse.csr_matrix(np.stack([fresh[t] if t in fresh else self._memo[t] for t in texts]))

    def _rows(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> npt.NDArray[np.float32]:
        if self._embedder is None:
            self._embedder = shared_embedder()
        persist = self._remember or PERSIST_EMBEDDINGS.get()
        scaled = [(LAYERS, self.weight)] + ([] if self.inner_layer is None else [(self.inner_layer, self.inner_weight)])
        vectors = self._embedder.embed_layers(texts, [layer for layer, _ in scaled], progress=progress, persist=persist)
        return np.hstack([v * w for v, (_, w) in zip(vectors, scaled, strict=True)]).astype(np.float32)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_memo={}, _remember=False, _embedder=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models trained before the inner layer existed keep predicting exactly as they did.
        state.setdefault("inner_layer", None)
        state.setdefault("inner_weight", INNER_WEIGHT)
        self.__dict__.update(state)


class NBWeightedSVM(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """NB-SVM (Wang & Manning 2012), one-vs-rest, on non-negative features (TF-IDF).

    For each label, every feature is scaled by sign(r)·|r|^``power``, r the log-count ratio
    log((p/|p|₁)/(q/|q|₁)) of the feature's summed weight p in that label's texts and q in the
    others' (both + ``alpha``), then a linear SVM separates the label from the rest. The scaling
    folds into the weights, so the fitted model is linear: ``coef_`` (labels × features).
    """

    __module__ = PICKLED_AS

    def __init__(self, C: float = SVM_C, alpha: float = NB_ALPHA, power: float = NB_POWER) -> None:
        self.C = C
        self.alpha = alpha
        self.power = power

    def fit(self, X: Any, y: Sequence[str]) -> NBWeightedSVM:
        X = sparse.csr_matrix(X)
        if X.nnz and X.data.min() < 0:
            raise ValueError("NBWeightedSVM needs non-negative features")
        labels = np.asarray(y)
        self.classes_ = np.unique(labels)
        if len(self.classes_) < 2:
            raise ValueError("training needs at least two labels")
        # Per label: the summed feature weights of its texts (p) and of everyone else's (q).
        member = sparse.csr_matrix(
            (np.ones(len(labels)), (np.searchsorted(self.classes_, labels), np.arange(len(labels)))),
            shape=(len(self.classes_), len(labels)),
        )
        in_label = np.asarray((member @ X).todense())
        per_label = in_label + self.alpha
        others = np.asarray(X.sum(axis=0)).ravel() - in_label + self.alpha
        # Two labels: one SVM (the second label against the first), as scikit-learn's binary models do.
        targets = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        coefs: list[npt.NDArray[np.float64]] = []
        intercepts: list[float] = []
        for label in targets:
            k = int(np.searchsorted(self.classes_, label))
            p, q = per_label[k], others[k]
            ratio = np.log((p / p.sum()) / (q / q.sum()))
            scale = np.sign(ratio) * np.abs(ratio) ** self.power
            svm = LinearSVC(C=self.C).fit(X @ sparse.diags(scale), (labels == label).astype(int))
            coefs.append(svm.coef_.ravel() * scale)
            intercepts.append(float(svm.intercept_[0]))
        self.coef_ = np.vstack(coefs)
        self.intercept_ = np.asarray(intercepts)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: Any) -> npt.NDArray[np.float64]:
        scores: npt.NDArray[np.float64] = np.asarray(sparse.csr_matrix(X) @ self.coef_.T) + self.intercept_
        return scores.ravel() if len(self.classes_) == 2 else scores

    def predict(self, X: Any) -> npt.NDArray[Any]:
        scores = self.decision_function(X)
        best = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        predicted: npt.NDArray[Any] = self.classes_[best]
        return predicted


class TreeBlend(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A text classifier (``primary``, with ``predict_proba``) blended with LightGBM trees over word
    TF-IDF: probabilities ``(1 - weight) * primary + weight * trees``. Fits both on the same texts."""

    __module__ = PICKLED_AS

    def __init__(self, primary: Any = None, weight: float = TREE_WEIGHT, seed: int = 0) -> None:
        self.primary = primary
        self.weight = weight
        self.seed = seed

    def fit(
        self, texts: Sequence[str], y: Sequence[str], say: Progress | None = None, ticker: Ticker | None = None
    ) -> TreeBlend:
        """``say``: progress lines for the minutes a large history takes, ``ticker``: how the trees' rounds
        are counted in them (neither is kept on the model)."""
        from lightgbm import LGBMClassifier  # imported only where the trees are trained (large corpora)

        texts, say = list(texts), say or (lambda _msg: None)
        say("  fitting the NB-SVM (calibrated on cross-validated scores)")
        self.primary.fit(texts, list(y))
        self.classes_ = self.primary.classes_
        min_df = 3 if len(texts) >= 1_000 else 1  # words seen in one or two tickets are noise to a tree
        self.words_ = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, max_features=TREE_FEATURES)
        X = self.words_.fit_transform(texts).astype(np.float32)
        target = np.searchsorted(self.classes_, np.asarray(y))
        say(f"  growing {TREE_SEEDS} x {TREE_ROUNDS} rounds of trees over {X.shape[1]} word features")
        report = ticker("trees") if ticker else lambda _done, _total: None
        self.trees_ = []
        total = TREE_SEEDS * TREE_ROUNDS
        for k in range(TREE_SEEDS):  # the same trees from other seeds (rows and columns sampled anew), averaged
            trees = LGBMClassifier(
                n_estimators=TREE_ROUNDS, learning_rate=0.25, num_leaves=31, min_child_samples=10,
                colsample_bytree=0.3, subsample=0.8, subsample_freq=1, max_bin=15, random_state=self.seed + k,
                verbose=-1,
            )  # fmt: skip
            trees.fit(X, target, callbacks=[lambda env, done=k * TREE_ROUNDS: report(done + env.iteration + 1, total)])
            self.trees_.append(trees)
        return self

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        texts = list(texts)
        linear = np.asarray(self.primary.predict_proba(texts), dtype=np.float64)
        X = self.words_.transform(texts).astype(np.float32)
        forest = self.trees_ if isinstance(self.trees_, list) else [self.trees_]  # models trained before TREE_SEEDS
        trees = np.mean([np.asarray(t.predict_proba(X)) for t in forest], axis=0)
        blended: npt.NDArray[np.float64] = (1 - self.weight) * linear + self.weight * trees
        return blended

    def predict(self, texts: Sequence[str]) -> npt.NDArray[Any]:
        predicted: npt.NDArray[Any] = self.classes_[self.predict_proba(texts).argmax(axis=1)]
        return predicted
