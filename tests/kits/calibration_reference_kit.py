"""Independent references for threshold, Platt slope and ECE, written from the documented rules
(engine.calibrate.platt, engine.calibrate.held_out, engine.metrics.calibration_error) without calling
them: a scan of every cut for the threshold, a refined grid search of the weighted likelihood for the
slope, a loop over bins for the ECE; and embeddings whose pair cosines are set by construction."""

from __future__ import annotations

import math

import numpy as np


def brute_threshold(scores, same, weights=None) -> float:
    """The midpoint of the gap (between distinct sorted scores) whose cut gives the highest (weighted)
    accuracy of (s >= t) == same. Callers build data where that best gap is unique."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(same, dtype=bool)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=np.float64)
    levels = np.unique(s)
    cuts = [levels[0] - 1e-6] + [(lo + hi) / 2 for lo, hi in zip(levels[:-1], levels[1:])] + [levels[-1] + 1e-6]
    scored = [(float(np.sum(w * ((s >= c) == y))), c) for c in cuts]
    best = max(v for v, _ in scored)
    winners = [c for v, c in scored if v >= best - 1e-12]
    assert len(winners) == 1, f"the test data must have one best cut, got {winners}"
    return float(winners[0])


def platt_smoothed(same) -> np.ndarray:
    """Platt's targets by the documented formula: positives (N+ + 1)/(N+ + 2), negatives 1/(N- + 2)."""
    y = np.asarray(same, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return np.array([(n_pos + 1) / (n_pos + 2) if v else 1 / (n_neg + 2) for v in y])


def weighted_nll(a: float, x, targets, weights) -> float:
    z = a * np.asarray(x, dtype=np.float64)
    return float(np.sum(weights * (targets * np.logaddexp(0, -z) + (1 - targets) * np.logaddexp(0, z))))


def brute_slope(scores, same, anchor: float, *, weights=None, targets=None, top: float = 400.0) -> float:
    """argmin over a >= 0 of the weighted NLL of p = sigmoid(a * (s - anchor)), by grid search refined
    around the best point (step 0.5 on [0, top], then 1e-3, then 1e-6)."""
    x = np.asarray(scores, dtype=np.float64) - anchor
    t = platt_smoothed(same) if targets is None else np.asarray(targets, dtype=np.float64)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    lo, hi, step = 0.0, top, 0.5
    best = 0.0
    for _ in range(3):
        grid = np.arange(lo, hi + step / 2, step)
        best = float(grid[int(np.argmin([weighted_nll(a, x, t, w) for a in grid]))])
        assert best < top - 1, "the slope search hit the top of its grid"
        lo, hi, step = max(0.0, best - step), best + step, step / 500
    return best


def sigmoid(z) -> np.ndarray:
    return 1 / (1 + np.exp(-np.asarray(z, dtype=np.float64)))


def hand_ece(prob, same, bins: int = 10) -> float:
    """sum over equal-width bins of (n_b / N) |mean p in b - fraction same in b|; p = 1 goes in the last bin."""
    prob = [float(p) for p in prob]
    same = [bool(v) for v in same]
    total = 0.0
    for b in range(bins):
        members = [k for k, p in enumerate(prob) if min(math.floor(p * bins), bins - 1) == b]
        if members:
            mean_p = sum(prob[k] for k in members) / len(members)
            frac = sum(same[k] for k in members) / len(members)
            total += len(members) / len(prob) * abs(mean_p - frac)
    return total


def constructed_embeddings(artists: int, per_artist: int, *, diff: tuple[float, float], margin: tuple[float, float],
                           seed: int = 0, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors whose cosines are set by construction: painting i of artist k is
    sqrt(d_i) g + sqrt(m_i) u_k + sqrt(1 - d_i - m_i) v_i (g, u_k, v_i orthonormal), d_i uniform in `diff`,
    m_i uniform in `margin`, so cos(i, j) = sqrt(d_i d_j) (in `diff`) across artists and
    sqrt(d_i d_j) + sqrt(m_i m_j) (in diff + margin) within one.
    -> (embeddings (N, 1 + artists + N), artist names "artist {offset + k}" (N,))."""
    rng = np.random.default_rng(seed)
    n = artists * per_artist
    d = rng.uniform(*diff, size=n)
    m = rng.uniform(*margin, size=n)
    assert np.all(d + m < 1)
    emb = np.zeros((n, 1 + artists + n))
    labels = np.repeat(np.arange(artists), per_artist)
    emb[:, 0] = np.sqrt(d)
    emb[np.arange(n), 1 + labels] = np.sqrt(m)
    emb[np.arange(n), 1 + artists + np.arange(n)] = np.sqrt(1 - d - m)
    return emb, np.array([f"artist {offset + a}" for a in labels], dtype=object)


def pair_cosines(emb: np.ndarray, i, j) -> np.ndarray:
    """Cosines of rows i and j, from the dot products of the unit vectors (no product helper)."""
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    return np.einsum("pd,pd->p", unit[np.asarray(i)], unit[np.asarray(j)])
