"""How far stated probabilities are from observed frequencies: the reliability table and the ECE."""

from __future__ import annotations

import numpy as np

from engine.base.errors import EngineError


def scored_pairs(values, same) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64, same as bool), flat; EngineError unless they are non-empty and of one length
    (the check every calibration fit and calibration metric starts with)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    same = np.asarray(same, dtype=bool).ravel()
    if len(values) != len(same) or len(values) == 0:
        raise EngineError("calibration needs a non-empty set of scored pairs")
    return values, same


def _bin_index(prob: np.ndarray, bins: int) -> np.ndarray:
    return np.clip((prob * bins).astype(int), 0, bins - 1)


def reliability_table(prob, same, *, bins: int = 10) -> list[dict]:
    """Equal-width probability bins (non-empty ones): lo, hi, count, mean_probability, fraction_same."""
    p, same = scored_pairs(prob, same)
    idx = _bin_index(p, bins)
    rows = []
    for b in range(bins):
        mask = idx == b
        if mask.any():
            rows.append({
                "lo": b / bins, "hi": (b + 1) / bins, "count": int(mask.sum()),
                "mean_probability": float(p[mask].mean()), "fraction_same": float(same[mask].mean()),
            })
    return rows


def expected_calibration_error(prob, same, *, bins: int = 10) -> float:
    """ECE = sum_b (n_b / N) * |mean(p in b) - fraction same in b| over equal-width bins."""
    p, _ = scored_pairs(prob, same)
    rows = reliability_table(prob, same, bins=bins)
    return float(sum(r["count"] / len(p) * abs(r["mean_probability"] - r["fraction_same"]) for r in rows))
