"""All metrics of one model on one embedded split, with the threshold/calibration chosen upstream."""

from __future__ import annotations

import numpy as np

from engine.base.vectors import cosine_scores
from engine.calibrate.fit import Calibrated
from engine.calibrate.platt import probability
from engine.evaluate.open_set import open_set_metrics
from engine.metrics.attribution import attribution_metrics
from engine.metrics.bootstrap import bootstrap_ci
from engine.metrics.calibration_error import expected_calibration_error, reliability_table
from engine.metrics.pair_sampling import Pairs
from engine.metrics.retrieval import retrieval_metrics
from engine.metrics.triplets import triplet_accuracy
from engine.metrics.verification import verification_metrics


def score_model(emb: np.ndarray, labels, groups, pairs: Pairs, cal: Calibrated, *, config) -> tuple[dict, dict]:
    """(JSON block, plot details) for one model: verification, calibration, triplets, attribution, retrieval."""
    scores = cosine_scores(emb, pairs.i, pairs.j)
    verification = verification_metrics(scores, pairs.same, threshold=cal.threshold)
    verification.update(bootstrap_ci(scores, pairs.same, threshold=cal.threshold, n_boot=config.bootstrap, seed=config.seed))
    verification["threshold_source"] = cal.source
    prob = probability(scores, cal.calibration)
    block = {
        "verification": verification,
        "calibration": _calibration_block(prob, pairs.same, cal, bins=config.bins),
        "triplet_accuracy": triplet_accuracy(emb, labels, n_triplets=config.triplets, seed=config.seed, groups=groups),
        "attribution": attribution_metrics(
            emb, labels, k=config.knn, top=5, fraction=config.enrol_fraction, seed=config.seed, groups=groups
        ),
        "retrieval": retrieval_metrics(emb, labels, groups=groups),
        "open_set": None if cal.attribution is None else open_set_metrics(
            emb, labels, calibration=cal.attribution, seed=config.seed, groups=groups),
    }
    return block, {"scores": scores, "same": pairs.same, "probability": prob, "threshold": cal.threshold}


def _calibration_block(prob: np.ndarray, same: np.ndarray, cal: Calibrated, *, bins: int) -> dict:
    return {
        **cal.calibration,
        "source": cal.source,
        "ece": expected_calibration_error(prob, same, bins=bins),
        "reliability": reliability_table(prob, same, bins=bins),
    }
