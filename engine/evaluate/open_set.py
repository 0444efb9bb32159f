"""How well the open-set attribution rule (engine.calibrate.attribution) answers on artists the model never saw."""

from __future__ import annotations

import numpy as np

from engine.calibrate.attribution import AttributionCalibration, episodes, log_probabilities
from engine.metrics.calibration_error import expected_calibration_error


def open_set_metrics(
    embeddings: np.ndarray, labels: np.ndarray, *, calibration: AttributionCalibration, seed: int = 0,
    groups=None, repeats: int = 4, bins: int = 10,
) -> dict:
    """Index half of the artists, query with held-out paintings of all (`repeats` random halves):

    known_correct: share of indexed painters' queries answered with their name; unknown_correct:
    share of the others answered "unknown"; auroc: ROC-AUC of 1 - P(unknown) for indexed vs not;
    ece: expected calibration error of the probability of the answer given; closed_top1: share of
    indexed painters' queries whose best candidate is right (the answer with "unknown" ignored).
    """
    ep = episodes(embeddings, labels, groups, k=calibration.k, seed=seed + 10_000, repeats=repeats)
    log_p, log_unknown = log_probabilities(np.array([calibration.w_best, calibration.w_vote, calibration.bias]), ep)
    best = np.argmax(log_p, axis=1)
    named = np.take_along_axis(log_p, best[:, None], axis=1)[:, 0] > log_unknown
    answer = np.where(named, best, -1)
    correct = np.where(ep.known, (answer == ep.target) & (ep.target >= 0), answer == -1)
    confidence = np.exp(np.maximum(np.take_along_axis(log_p, best[:, None], axis=1)[:, 0], log_unknown))
    return {
        "known_correct": float(correct[ep.known].mean()) if ep.known.any() else float("nan"),
        "unknown_correct": float(correct[~ep.known].mean()) if (~ep.known).any() else float("nan"),
        "auroc": _auroc(ep.known, -log_unknown),
        "closed_top1": float(np.mean(best[ep.known] == ep.target[ep.known])) if ep.known.any() else float("nan"),
        "ece": expected_calibration_error(confidence, correct, bins=bins),
        "queries_known": int(ep.known.sum()),
        "queries_unknown": int((~ep.known).sum()),
        "repeats": repeats,
    }


def _auroc(known: np.ndarray, score: np.ndarray) -> float:
    if known.all() or not known.any():
        return float("nan")
    from sklearn.metrics import roc_auc_score  # lazily: ~1.5 s of imports, evaluation only

    return float(roc_auc_score(known, score))
