"""Calibration pairs from more painters than the val split holds: cross-fitted held-out scores.

Four to eight val artists are too few to fit a calibration that holds on other painters (the CV's
ECE moved by +-0.04 with the val artists drawn). `engine train` therefore also scores pairs of its
*training* artists with heads that never saw them (engine.train.crossfit: J heads, each trained
without one J-th of the artists), and the threshold and Platt scaling are fit on the val pairs and
these held-out pairs together, each source carrying half the weight:

    w_i = weight / N_held_out  for a held-out pair,  (1 - weight) / N_val  for a val pair.

The held-out heads learn from (J-1)/J of the artists, so alone they rank a little worse than the
model (lower slope); the model's own val pairs keep half the say.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.base.errors import EngineError
from engine.calibrate.band import fit_band
from engine.calibrate.platt import best_threshold, fit_calibration, probability

HELD_OUT_WEIGHT = 0.5


@dataclass(frozen=True)
class HeldOutPairs:
    """Cosines (P,) and same-artist flags (P,) of pairs whose artists the scoring head never saw."""

    scores: np.ndarray
    same: np.ndarray
    artists: int  # distinct artists the pairs were drawn from
    folds: int  # heads that scored them

    def __post_init__(self) -> None:
        if len(self.scores) != len(self.same) or len(self.scores) == 0:
            raise EngineError("held-out calibration pairs must be a non-empty list of (score, same) pairs")

    def to_dict(self) -> dict:
        return {"scores": [float(s) for s in self.scores], "same": [bool(v) for v in self.same],
                "artists": int(self.artists), "folds": int(self.folds)}

    @classmethod
    def from_dict(cls, record: dict | None) -> "HeldOutPairs | None":
        if not record:
            return None
        try:
            return cls(np.asarray(record["scores"], dtype=np.float64), np.asarray(record["same"], dtype=bool),
                       int(record["artists"]), int(record["folds"]))
        except (KeyError, TypeError, ValueError):
            raise EngineError("unreadable held-out calibration pairs in the model; re-train with `engine train`") from None


def pooled_weights(n_val: int, n_held_out: int, *, weight: float = HELD_OUT_WEIGHT) -> np.ndarray:
    """(n_val + n_held_out,) weights: the val pairs first, each source summing to its share (total 1)."""
    if not 0 <= weight <= 1:
        raise EngineError(f"held-out weight must be in [0, 1], got {weight}")
    return np.concatenate([np.full(n_val, (1 - weight) / max(n_val, 1)), np.full(n_held_out, weight / max(n_held_out, 1))])


def pooled_calibration(val_scores, val_same, held_out: HeldOutPairs | None, *, weight: float = HELD_OUT_WEIGHT) -> tuple[float, dict]:
    """(threshold, anchored Platt calibration with verify's uncertain band, engine.calibrate.band) on the val
    pairs, pooled with `held_out` when given."""
    val_scores = np.asarray(val_scores, dtype=np.float64)
    val_same = np.asarray(val_same, dtype=bool)
    if held_out is None:
        threshold = best_threshold(val_scores, val_same)
        calibration = fit_calibration(val_scores, val_same, anchor=threshold)
        return threshold, {**calibration, "band": fit_band(probability(val_scores, calibration), val_same)}
    scores = np.concatenate([val_scores, held_out.scores])
    same = np.concatenate([val_same, held_out.same])
    w = pooled_weights(len(val_scores), len(held_out.scores), weight=weight)
    threshold = best_threshold(scores, same, weights=w)
    calibration = fit_calibration(scores, same, anchor=threshold, weights=w)
    band = fit_band(probability(scores, calibration), same, weights=w)
    return threshold, {**calibration, "held_out_artists": held_out.artists, "held_out_weight": weight, "band": band}
