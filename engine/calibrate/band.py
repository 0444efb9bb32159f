"""The uncertain band of `verify`: probabilities too close to a coin toss to answer.

Outside the band [low, high) verify answers "same" (p >= high) or "different" (p < low); inside it,
"uncertain". The band is fitted on the calibration pairs (the val painters, pooled with the held-out
pairs of engine.calibrate.held_out when the model has them, with the same weights) as the narrowest
band around p = 0.5 (low <= 0.5 <= high) whose outside reaches `target` accuracy while answering the
largest (weighted) share of pairs, its coverage. When no band reaches the target, the band keeps the
best accuracy among bands answering at least `min_coverage` of the pairs and records `reached: false`.
Models calibrated before the band existed have none: verify then answers same/different only.

Stored in the calibration record as "band": {"low", "high", "target", "coverage", "accuracy", "reached"}.
"""

from __future__ import annotations

import numpy as np

TARGET_ACCURACY = 0.90
MIN_COVERAGE = 0.10
_CANDIDATES = 256  # cut points tried on each side of 0.5 (quantiles of the probabilities)


def fit_band(probabilities, same, *, weights=None, target: float = TARGET_ACCURACY, min_coverage: float = MIN_COVERAGE) -> dict:
    """The band record (module docstring) for pairs with calibrated `probabilities` and `same` flags."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    same = np.asarray(same, dtype=bool).ravel()
    w = np.ones(len(p)) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    w = w / w.sum()
    lows = _cuts(p[p < 0.5], upper=False)
    highs = _cuts(p[p >= 0.5], upper=True)
    # covered / correct mass of "different" below each low and "same" at or above each high
    below = np.array([w[p < lo].sum() for lo in lows])
    below_ok = np.array([w[(p < lo) & ~same].sum() for lo in lows])
    above = np.array([w[p >= hi].sum() for hi in highs])
    above_ok = np.array([w[(p >= hi) & same].sum() for hi in highs])
    coverage = below[:, None] + above[None, :]
    correct = below_ok[:, None] + above_ok[None, :]
    accuracy = np.divide(correct, coverage, out=np.zeros_like(correct), where=coverage > 0)
    ok = accuracy >= target
    reached = bool(ok.any())
    if reached:
        score = np.where(ok, coverage, -1.0)  # most pairs answered; ties: the narrower band (first found)
    else:
        score = np.where(coverage >= min_coverage, accuracy, -1.0)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    return {"low": float(lows[i]), "high": float(highs[j]), "target": float(target), "coverage": float(coverage[i, j]),
            "accuracy": float(accuracy[i, j]), "reached": reached}


def _cuts(values: np.ndarray, *, upper: bool) -> np.ndarray:
    """Cut points on one side of 0.5, nearest to 0.5 first: 0.5 itself (no band on that side), then
    the (quantiles of the) probabilities of that side (a low cut just above a value keeps it outside)."""
    if len(values):
        picked = np.unique(np.quantile(values, np.linspace(0, 1, min(_CANDIDATES, len(values)))))
        picked = picked if upper else np.nextafter(picked, 1.0)  # p < low: a low just above a value keeps that value outside
    else:
        picked = np.array([])
    cuts = np.concatenate([[0.5], picked])
    return np.sort(cuts) if upper else np.sort(cuts)[::-1]


def decision(probability: float, band: dict | None) -> str:
    """"same" / "different" / "uncertain" for a calibrated probability; without a band, p >= 0.5 is "same"."""
    if band is None:
        return "same" if probability >= 0.5 else "different"
    if probability >= band["high"]:
        return "same"
    if probability < band["low"]:
        return "different"
    return "uncertain"


def band_rates(probabilities, same, band: dict | None) -> dict:
    """{"pairs", "coverage", "accuracy"} of `decision` on pairs: the share answered (outside the band) and the
    share of the answered ones whose answer (same / different) is right (None when none is answered)."""
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    same = np.asarray(same, dtype=bool).ravel()
    answers = np.array([decision(float(x), band) for x in p])
    answered = answers != "uncertain"
    right = ((answers == "same") & same) | ((answers == "different") & ~same)
    return {"pairs": int(len(p)), "coverage": float(answered.mean()) if len(p) else 0.0,
            "accuracy": float(right[answered].mean()) if answered.any() else None}
