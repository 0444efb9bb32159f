"""Turning a cosine similarity into a same-artist probability and a decision threshold.

The decision threshold t is the cosine that maximises accuracy on pairs of the val split.
Platt scaling anchored at it: p = sigmoid(a * (cosine - t)), a >= 0 fitted by maximum likelihood
(Newton's method) with Platt's smoothed targets (positives (N+ + 1)/(N+ + 2), negatives
1/(N- + 2)), which keeps a finite even on perfectly separated scores. Anchoring makes p >= 0.5
exactly when cosine >= t, so `verify` never says "different artists, probability 0.53".
Stored as {"method": "platt", "a": a, "b": -a * t, "anchor": t}: p = sigmoid(a * s + b) for
every reader, and models calibrated before anchoring (free a, b; no "anchor") still work.

Optional per-pair `weights` w_i make both fits weighted: accuracy sum_i w_i [correct_i] and the
NLL sum_i w_i nll_i (so pairs of several sources can count by source, engine.calibrate.held_out).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.base.errors import EngineError
from engine.metrics.calibration_error import scored_pairs

_MAX_ITER = 100


def _weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if len(w) != n or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise EngineError("calibration weights must be one finite, non-negative number per pair, not all 0")
    return w


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def platt_targets(same: np.ndarray) -> np.ndarray:
    """Platt (1999) smoothed 0/1 targets."""
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    return np.where(same, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))


def _nll(theta: np.ndarray, design: np.ndarray, t: np.ndarray, w: np.ndarray) -> float:
    z = design @ theta
    return float(np.sum(w * (t * np.logaddexp(0.0, -z) + (1 - t) * np.logaddexp(0.0, z))))


def fit_calibration(scores, same, *, anchor: float | None = None, weights=None) -> dict:
    """Platt scaling fitted on (scores, same), each pair weighted by `weights` (None: all 1).

    anchor=None: free fit p = sigmoid(a * s + b) -> {"method": "platt", "a", "b"};
    anchor=t: p = sigmoid(a * (s - t)), a >= 0 -> {"method": "platt", "a", "b": -a * t, "anchor": t}.
    """
    x, same = scored_pairs(scores, same)
    w = _weights(weights, len(x))
    t = platt_targets(same)
    if anchor is None:
        prior = np.log((same.sum() + 1) / ((~same).sum() + 1))
        theta = _newton(np.stack([x, np.ones_like(x)], axis=1), t, w, np.array([0.0, prior]))
        return {"method": "platt", "a": float(theta[0]), "b": float(theta[1])}
    anchor = float(anchor)
    # The NLL is convex in a, so the best a >= 0 is the unconstrained optimum clipped at 0
    # (a < 0 would only happen for scores that rank different-artist pairs higher).
    a = max(0.0, float(_newton((x - anchor)[:, None], t, w, np.zeros(1))[0]))
    return {"method": "platt", "a": a, "b": -a * anchor, "anchor": anchor}


def _newton(design: np.ndarray, t: np.ndarray, w: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Minimise the weighted logistic NLL of targets t over theta (z = design @ theta) by damped Newton steps."""
    for _ in range(_MAX_ITER):
        p = _sigmoid(design @ theta)
        grad = design.T @ (w * (p - t))
        hess = design.T @ (design * (w * p * (1 - p))[:, None]) + 1e-12 * np.eye(len(theta))
        step = np.linalg.solve(hess, grad)
        theta = _backtrack(theta, step, design, t, w)
        if np.max(np.abs(step)) < 1e-10:
            break
    return theta


def _backtrack(theta: np.ndarray, step: np.ndarray, design: np.ndarray, t: np.ndarray, w: np.ndarray) -> np.ndarray:
    current, scale = _nll(theta, design, t, w), 1.0
    while scale > 1e-8:
        candidate = theta - scale * step
        if _nll(candidate, design, t, w) <= current + 1e-12:
            return candidate
        scale /= 2
    return theta


def probability(scores, calibration: dict) -> np.ndarray:
    """sigmoid(a * s + b) for each score, from a calibration record; (P,) float64 (PairCalibration.probability
    for a model's)."""
    if not calibration or calibration.get("method") != "platt":
        raise EngineError("the model has no Platt calibration; run `engine calibrate` to calibrate it")
    s = np.asarray(scores, dtype=np.float64)
    return _sigmoid(calibration["a"] * s + calibration["b"])


def best_threshold(scores, same, *, weights=None) -> float:
    """Cosine t maximising the (weighted) accuracy of (s >= t) == same; the midpoint of the best gap
    between distinct sorted scores (below the minimum / above the maximum at the ends)."""
    s, same = scored_pairs(scores, same)
    w = _weights(weights, len(s))
    order = np.argsort(s, kind="stable")
    s, same, w = s[order], same[order], w[order]
    # cut k: the k lowest scores are called different
    neg_below = np.concatenate([[0], np.cumsum(w * ~same)])
    pos_above = float((w * same).sum()) - np.concatenate([[0], np.cumsum(w * same)])
    correct = neg_below + pos_above
    valid = np.concatenate([[True], s[1:] > s[:-1], [True]])  # never cut between equal scores
    k = int(np.argmax(np.where(valid, correct, -1)))
    if k == 0:
        return float(s[0] - 1e-6)
    if k == len(s):
        return float(s[-1] + 1e-6)
    return float((s[k - 1] + s[k]) / 2)


@dataclass(frozen=True)
class PairCalibration:
    """A model's same-artist decision and probability for a cosine s: same when s >= threshold,
    p = sigmoid(a * s + b) (anchored fits: b = -a * threshold, so p >= 0.5 exactly when same).

    model.pt stores it as `threshold` plus the `calibration` record {"method": "platt", "a", "b",
    "anchor"?, ...}; `record` keeps every stored key (e.g. `held_out_artists`) for readers and reports."""

    threshold: float
    a: float
    b: float
    anchor: float | None = None
    record: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_stored(cls, threshold: float | None, calibration: dict | None) -> "PairCalibration | None":
        """The stored pair; None when either half is missing (an uncalibrated model)."""
        if threshold is None or not calibration:
            return None
        if calibration.get("method") != "platt":
            raise EngineError(f"unknown calibration method {calibration.get('method')!r}; run `engine calibrate` to re-fit it")
        anchor = calibration.get("anchor")
        return cls(float(threshold), float(calibration["a"]), float(calibration["b"]),
                   None if anchor is None else float(anchor), dict(calibration))

    def probability(self, scores) -> np.ndarray:
        """sigmoid(a * s + b) for each score; (P,) float64."""
        return _sigmoid(self.a * np.asarray(scores, dtype=np.float64) + self.b)

    def same_artist(self, score: float) -> bool:
        return bool(score >= self.threshold)

    @property
    def band(self) -> dict | None:
        """verify's uncertain band (engine.calibrate.band) stored with the calibration; None for models
        calibrated before it existed."""
        band = self.record.get("band")
        return band if isinstance(band, dict) and {"low", "high"} <= set(band) else None
