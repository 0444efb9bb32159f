"""All metrics of one model on one embedded split, with the threshold/calibration chosen upstream."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.evaluate.calibration import expected_calibration_error, probability, reliability_table
from engine.evaluate.held_out import HeldOutPairs, pooled_calibration
from engine.evaluate.metrics.attribution import attribution_metrics
from engine.evaluate.metrics.bootstrap import bootstrap_ci
from engine.evaluate.metrics.retrieval import retrieval_metrics
from engine.evaluate.metrics.triplets import triplet_accuracy
from engine.evaluate.metrics.verification import cosine_scores, sample_pairs, verification_metrics
from engine.evaluate.openset import AttributionCalibration, fit_attribution_calibration, open_set_metrics


@dataclass(frozen=True)
class Pairs:
    """Sampled pairs of a split: indices (P,), same-artist flags (P,)."""

    i: np.ndarray
    j: np.ndarray
    same: np.ndarray


@dataclass(frozen=True)
class Calibrated:
    """A decision threshold and Platt calibration, and where they came from; also the open-set
    attribution rule (engine.evaluate.openset) when it was fit or stored, else None."""

    threshold: float
    calibration: dict
    source: str
    attribution: AttributionCalibration | None = None


def draw_pairs(labels, groups, *, n_pairs: int, per_artist_cap: int, seed: int) -> Pairs:
    """Balanced pairs; a cap of 0 means twice an artist's fair share, ceil(2 * n_pairs / artists)."""
    cap = per_artist_cap or math.ceil(2 * n_pairs / max(len(set(labels)), 1))
    i, j, same = sample_pairs(labels, n_pairs=n_pairs, per_artist_cap=cap, seed=seed, groups=groups)
    if len(i) == 0:
        from engine.base.errors import EngineError

        raise EngineError("no same-artist pairs could be drawn: every artist of this split has a single painting")
    return Pairs(i, j, same)


def calibrate(
    emb: np.ndarray, pairs: Pairs, *, source: str, labels=None, groups=None, seed: int = 0, held_out: HeldOutPairs | None = None
) -> Calibrated:
    """Fit the accuracy-maximising threshold and Platt scaling anchored at it (p = 0.5 there) on these pairs,
    pooled with the `held_out` pairs when given (engine.evaluate.held_out); with the paintings' `labels`
    (and duplicate `groups`) also the open-set attribution rule."""
    scores = cosine_scores(emb, pairs.i, pairs.j)
    threshold, calibration = pooled_calibration(scores, pairs.same, held_out)
    attribution = None if labels is None else fit_attribution_calibration(emb, labels, seed=seed, groups=groups)
    if held_out is not None:
        source = f"{source} + held-out pairs of {held_out.artists} training artists ({held_out.folds} cross-fitted heads)"
    return Calibrated(threshold, calibration, source, attribution)


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
