"""Percentile bootstrap intervals for verification ROC-AUC and accuracy.

Resamples pairs with replacement. Pairs share images and artists, so this interval reflects
pair-sampling noise only, not which artists happened to land in the split (narrower than an
artist-level interval would be).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auc_by_ranks(scores: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Mann-Whitney ROC-AUC along the last axis (ties count half): (..., P) -> (...)."""
    ranks = rankdata(scores, axis=-1)
    n_pos = same.sum(axis=-1)
    n_neg = same.shape[-1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * same).sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


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
        idx = rng.integers(0, len(scores), (min(chunk, n_boot - start), len(scores)))
        aucs.append(auc_by_ranks(scores[idx], same[idx]))
        accs.append(correct[idx].mean(axis=1))
    auc, acc = np.concatenate(aucs), np.concatenate(accs)
    auc = auc[np.isfinite(auc)]  # a resample with one class only has no AUC
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    return {
        "roc_auc_ci": [float(v) for v in np.percentile(auc, q)],
        "accuracy_ci": [float(v) for v in np.percentile(acc, q)],
    }
