"""One model's calibration from its embedded val split: the pair threshold and Platt scaling (pooled with
cross-fitted held-out pairs when given) and the open-set attribution rule."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.base.vectors import cosine_scores
from engine.calibrate.attribution import AttributionCalibration, fit_attribution_calibration
from engine.calibrate.held_out import HeldOutPairs, pooled_calibration
from engine.metrics.pair_sampling import Pairs


@dataclass(frozen=True)
class Calibrated:
    """A decision threshold and Platt calibration, and where they came from; also the open-set
    attribution rule (engine.calibrate.attribution) when it was fit or stored, else None."""

    threshold: float
    calibration: dict
    source: str
    attribution: AttributionCalibration | None = None


def calibrate(
    emb: np.ndarray, pairs: Pairs, *, source: str, labels=None, groups=None, seed: int = 0, held_out: HeldOutPairs | None = None
) -> Calibrated:
    """Fit the accuracy-maximising threshold and Platt scaling anchored at it (p = 0.5 there) on these pairs,
    pooled with the `held_out` pairs when given (engine.calibrate.held_out); with the paintings' `labels`
    (and duplicate `groups`) also the open-set attribution rule."""
    scores = cosine_scores(emb, pairs.i, pairs.j)
    threshold, calibration = pooled_calibration(scores, pairs.same, held_out)
    attribution = None if labels is None else fit_attribution_calibration(emb, labels, seed=seed, groups=groups)
    if held_out is not None:
        source = f"{source} + held-out pairs of {held_out.artists} training artists ({held_out.folds} cross-fitted heads)"
    return Calibrated(threshold, calibration, source, attribution)
