"""Percentile bootstrap intervals for verification ROC-AUC and accuracy.

Resamples pairs with replacement, as multinomial weights (B, P). Pairs share images and artists,
so this interval reflects pair-sampling noise only, not which artists happened to land in the
split (an artist-level interval would be wider).
"""

from __future__ import annotations

import numpy as np


def weighted_auc(scores: np.ndarray, same: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC under pair weights (B, P) -> (B,): P(s+ > s-) + P(s+ == s-) / 2 over weighted pairs."""
    order = np.argsort(scores, kind="stable")
    sorted_scores, same = scores[order], same[order]
    weights = np.atleast_2d(weights)[:, order].astype(np.float64)
    starts = np.flatnonzero(np.concatenate([[True], sorted_scores[1:] > sorted_scores[:-1]]))
    pos = np.add.reduceat(weights * same, starts, axis=1)  # weight of positives per distinct score
    neg = np.add.reduceat(weights * ~same, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + neg / 2)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def bootstrap_ci(
    scores,
    same,
    *,
    threshold: float,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    chunk: int = 200,
) -> dict:
    """{"roc_auc_ci": [lo, hi], "accuracy_ci": [lo, hi]} percentile intervals at `level`."""
    scores = np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    correct = (scores >= threshold) == same
    rng = np.random.default_rng(seed)
    aucs, accs = [], []
    for start in range(0, n_boot, chunk):  # chunks bound memory at chunk * P
        weights = rng.multinomial(len(scores), np.full(len(scores), 1 / len(scores)), size=min(chunk, n_boot - start))
        aucs.append(weighted_auc(scores, same, weights))
        accs.append(weights @ correct / len(scores))
    auc, acc = np.concatenate(aucs), np.concatenate(accs)
    auc = auc[np.isfinite(auc)]  # a resample with one class only has no AUC
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    return {
        "roc_auc_ci": [float(v) for v in np.percentile(auc, q)],
        "accuracy_ci": [float(v) for v in np.percentile(acc, q)],
    }
