"""Same-artist verification on sampled pairs: pair sampling, cosine scores and the standard metrics.

A pair (i, j) is *same* when labels[i] == labels[j]. Scores are cosine similarities; a pair is
called same-artist when score >= threshold.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from engine.base.errors import EngineError
from engine.base.vectors import l2_normalize

logger = logging.getLogger(__name__)

_TRIES = 25  # random draws per attempt before an artist is considered exhausted


class _PairDrawer:
    """Rejection sampler for unique, non-duplicate pairs anchored on one artist."""

    def __init__(self, labels: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> None:
        self.labels, self.groups, self.rng = labels, groups, rng
        self.artists = sorted(set(labels.tolist()))
        self.members = {a: np.flatnonzero(labels == a) for a in self.artists}
        self.seen: set[tuple[int, int]] = set()

    def _accept(self, i: int, j: int) -> bool:
        key = (min(i, j), max(i, j))
        if i == j or self.groups[i] == self.groups[j] or key in self.seen:
            return False
        self.seen.add(key)
        return True

    def same(self, artist: str) -> tuple[int, int] | None:
        members = self.members[artist]
        if len(members) < 2:
            return None
        for _ in range(_TRIES):
            i, j = self.rng.choice(members, 2, replace=False)
            if self._accept(int(i), int(j)):
                return int(i), int(j)
        return None

    def different(self, artist: str) -> tuple[int, int] | None:
        others = [a for a in self.artists if a != artist]
        if not others:
            return None
        for _ in range(_TRIES):
            # other artist uniformly, not other image: big artists must not dominate the negatives
            other = others[self.rng.integers(len(others))]
            i = int(self.rng.choice(self.members[artist]))
            j = int(self.rng.choice(self.members[other]))
            if self._accept(i, j):
                return i, j
        return None


def sample_pairs(
    labels: Sequence[str],
    *,
    n_pairs: int,
    per_artist_cap: int,
    seed: int,
    groups: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balanced same/different-artist pairs -> (i, j, same), each of shape (P,), P <= n_pairs.

    Round-robin over artists in a seeded order: each round every artist with capacity anchors
    one same pair and one different pair, so every artist anchors about the same number of pairs
    and at most `per_artist_cap`. No self pairs, no pair twice, no pair of equal `groups`
    (sha256 / duplicate cluster). The two halves are truncated to equal size, so P is even.
    """
    labels_arr = np.asarray([str(x) for x in labels], dtype=object)
    groups_arr = np.arange(len(labels_arr)) if groups is None else np.asarray([str(g) for g in groups], dtype=object)
    if len(groups_arr) != len(labels_arr):
        raise ValueError("labels and groups differ in length")
    rng = np.random.default_rng(seed)
    drawer = _PairDrawer(labels_arr, groups_arr, rng)
    same, diff = _round_robin(drawer, n_pairs // 2, per_artist_cap, rng)
    n = min(len(same), len(diff))
    pairs = same[:n] + diff[:n]
    flags = np.array([True] * n + [False] * n, dtype=bool)
    order = rng.permutation(len(pairs))
    ij = np.array(pairs, dtype=np.int64).reshape(-1, 2)[order]
    if n < n_pairs // 2:
        logger.info("sampled %d pairs (asked for %d): not enough distinct pairs under the cap", 2 * n, n_pairs)
    return ij[:, 0], ij[:, 1], flags[order]


def _round_robin(drawer: _PairDrawer, half: int, cap: int, rng: np.random.Generator):
    same: list[tuple[int, int]] = []
    diff: list[tuple[int, int]] = []
    anchored = dict.fromkeys(drawer.artists, 0)
    progress = True
    while progress and (len(same) < half or len(diff) < half):
        progress = False
        for artist in rng.permutation(drawer.artists):
            for wanted, bucket, draw in ((len(same) < half, same, drawer.same), (len(diff) < half, diff, drawer.different)):
                if wanted and anchored[artist] < cap:
                    pair = draw(artist)
                    if pair is not None:
                        bucket.append(pair)
                        anchored[artist] += 1
                        progress = True
    return same, diff


def cosine_scores(emb: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Cosine similarity of rows emb[i] and emb[j] -> (P,) float64 in [-1, 1]."""
    unit = l2_normalize(emb, dtype=np.float64)
    return np.clip(np.einsum("pd,pd->p", unit[np.asarray(i)], unit[np.asarray(j)]), -1.0, 1.0)


def equal_error_rate(scores: np.ndarray, same: np.ndarray) -> float:
    """The rate where false accepts (FPR) equal false rejects (1 - TPR), linearly interpolated on the ROC."""
    fpr, tpr, _ = roc_curve(same, scores)
    fnr = 1.0 - tpr
    diff = fnr - fpr  # decreasing from 1 to -1 along the curve
    k = int(np.flatnonzero(diff <= 0)[0])
    if k == 0 or diff[k] == 0:
        return float((fpr[k] + fnr[k]) / 2)
    t = diff[k - 1] / (diff[k - 1] - diff[k])
    return float(fpr[k - 1] + t * (fpr[k] - fpr[k - 1]))


def verification_metrics(scores: np.ndarray, same: np.ndarray, *, threshold: float | None = None) -> dict:
    """roc_auc, average_precision, eer, accuracy (score >= threshold means same), threshold, pairs.

    Without `threshold` the accuracy-maximising one on these very pairs is used: optimistic, so
    reports pass a threshold calibrated on the val split.
    """
    scores = np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    if len(scores) != len(same):
        raise ValueError("scores and same differ in length")
    if same.all() or not same.any():
        raise EngineError("verification needs both same-artist and different-artist pairs; use a split with at least 2 artists")
    if threshold is None:
        from engine.evaluate.calibration import best_threshold

        threshold = best_threshold(scores, same)
    return {
        "roc_auc": float(roc_auc_score(same, scores)),
        "average_precision": float(average_precision_score(same, scores)),
        "eer": equal_error_rate(scores, same),
        "accuracy": float(np.mean((scores >= threshold) == same)),
        "threshold": float(threshold),
        "pairs": int(len(scores)),
    }
