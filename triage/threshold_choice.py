"""A detector's threshold from out-of-fold probabilities, chosen so a handful of examples cannot move it far.

The plain rule ("the lowest threshold whose out-of-fold precision reaches the target") is a step function
of the few negatives that score highest: with a few dozen positives per reason, one hard negative more or
less above a candidate bar flips whether that bar reaches the target, and the chosen threshold jumps from
one end of the range to the other. Here the plain rule is applied to many bootstrap resamples of the
examples and the thresholds it picks are averaged: each example then moves the result by about its share
of the resamples, not all or nothing. The resamples are drawn with a fixed seed, so the choice is the
same on every run for the same probabilities.

The out-of-fold probabilities themselves move when the examples change if the folds are drawn by
shuffling: one example more reshuffles every fold. ``folds_by_text`` puts each example in a fold by a
hash of its text, so the others keep their folds and their out-of-fold probabilities move only by what
the added or removed examples change in the models.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FLOOR, CEILING = 0.5, 0.9  # below even odds a detector claims what is more likely not there
STEP = 0.01
RESAMPLES = 300
SEED = 0


Split = tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]


def folds_by_text(texts: Sequence[str], folds: int, seed: int) -> list[Split]:
    """(train, test) index pairs with each text's fold fixed by a hash of the seed and the text."""
    fold = np.array([int(hashlib.sha256(f"{seed}:{t}".encode()).hexdigest()[:8], 16) % folds for t in texts])
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]


def _grid() -> npt.NDArray[np.float64]:
    return np.round(np.arange(FLOOR, CEILING + 1e-9, STEP), 3)


def _lowest_reaching(tp: npt.NDArray[np.float64], flagged: npt.NDArray[np.float64], target: float) -> float:
    """The plain rule on one (resampled) set: counts per grid threshold in, threshold out; the most precise
    threshold when none reaches the target (a bar above every score flags nothing and counts as precise)."""
    grid = _grid()
    precision = np.where(flagged > 0, tp / np.maximum(flagged, 1), 1.0)
    reaching = np.flatnonzero(precision >= target - 1e-12)
    if reaching.size:
        return float(grid[reaching[0]])
    return float(grid[int(np.argmax(precision))])


def plain_threshold(y: npt.NDArray[np.int_], p: npt.NDArray[np.float64], target: float) -> float:
    """The lowest grid threshold whose precision on (y, p) reaches ``target``: the unstable rule, kept for
    comparison and as the step of each resample."""
    above = (p[:, None] >= _grid()[None, :]).astype(np.float64)
    return _lowest_reaching((y == 1).astype(np.float64) @ above, above.sum(axis=0), target)


def stable_threshold(y: npt.NDArray[np.int_], p: npt.NDArray[np.float64], target: float) -> float:
    """The mean over ``RESAMPLES`` bootstrap resamples of the plain rule's threshold, rounded to ``STEP``."""
    above = (p[:, None] >= _grid()[None, :]).astype(np.float64)  # example x grid threshold
    rng = np.random.default_rng(SEED)
    n = len(y)
    # Each resample as per-example counts: a weighted sum replaces indexing, one matrix product for all.
    weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(RESAMPLES)]).astype(np.float64)
    tp = (weights * (y == 1)) @ above
    flagged = weights @ above
    chosen = [_lowest_reaching(tp[i], flagged[i], target) for i in range(RESAMPLES)]
    return round(round(float(np.mean(chosen)) / STEP) * STEP, 3)
