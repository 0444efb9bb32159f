"""Same-artist verification on sampled pairs (engine.metrics.pair_sampling): cosine scores and the standard metrics.

A pair (i, j) is *same* when labels[i] == labels[j]. Scores are cosine similarities; a pair is
called same-artist when score >= threshold.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from engine.base.errors import EngineError

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


def verification_metrics(scores: np.ndarray, same: np.ndarray, *, threshold: float) -> dict:
    """roc_auc, average_precision, eer, accuracy (score >= threshold means same), threshold, pairs.

    The caller chooses `threshold` (engine.calibrate.platt.best_threshold): reports pass one
    calibrated on the val split; the best one on these very pairs would be optimistic.
    """
    scores = np.asarray(scores, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    if len(scores) != len(same):
        raise ValueError("scores and same differ in length")
    if same.all() or not same.any():
        raise EngineError("verification needs both same-artist and different-artist pairs; use a split with at least 2 artists")
    return {
        "roc_auc": float(roc_auc_score(same, scores)),
        "average_precision": float(average_precision_score(same, scores)),
        "eer": equal_error_rate(scores, same),
        "accuracy": float(np.mean((scores >= threshold) == same)),
        "threshold": float(threshold),
        "pairs": int(len(scores)),
    }
