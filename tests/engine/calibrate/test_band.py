"""engine.calibrate.band: the widest-coverage band around p = 0.5 whose outside reaches the target accuracy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.calibrate.band import band_rates, decision, fit_band


def _brute_force(p, same, w, target):
    """Every (low, high) cut around 0.5 over the probabilities: the largest coverage with accuracy >= target."""
    lows = [0.5] + [np.nextafter(x, 1.0) for x in p if x < 0.5]
    highs = [0.5] + [x for x in p if x >= 0.5]
    best = -1.0
    for lo, hi in itertools.product(lows, highs):
        out = (p < lo) | (p >= hi)
        covered = w[out].sum()
        correct = w[out & (((p >= hi) & same) | ((p < lo) & ~same))].sum()
        if covered > 0 and correct / covered >= target:
            best = max(best, covered)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_band_matches_a_brute_force_search(seed):
    rng = np.random.default_rng(seed)
    same = rng.random(60) < 0.5
    p = np.clip(np.where(same, 0.62, 0.38) + rng.normal(0, 0.18, 60), 0.001, 0.999)
    w = rng.random(60) + 0.1
    band = fit_band(p, same, weights=w, target=0.85)
    want = _brute_force(p, same, w / w.sum(), 0.85)
    assert band["reached"] is True
    assert band["coverage"] == pytest.approx(want, abs=1e-12)
    assert band["low"] <= 0.5 <= band["high"] and band["accuracy"] >= 0.85
    outside = (p < band["low"]) | (p >= band["high"])  # the record agrees with the data
    assert band["coverage"] == pytest.approx(w[outside].sum() / w.sum(), abs=1e-12)


def test_separable_pairs_need_no_band():
    p = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    band = fit_band(p, p > 0.5, target=0.9)
    assert (band["low"], band["high"], band["coverage"], band["accuracy"]) == (0.5, 0.5, 1.0, 1.0)


def test_unreachable_target_keeps_the_most_accurate_band_with_min_coverage():
    rng = np.random.default_rng(0)
    p, same = rng.random(200), rng.random(200) < 0.5  # no skill: 99 % is out of reach
    band = fit_band(p, same, target=0.99, min_coverage=0.1)
    assert band["reached"] is False and band["coverage"] >= 0.1


def test_decision():
    band = {"low": 0.3, "high": 0.8}
    assert [decision(x, band) for x in (0.1, 0.3, 0.5, 0.79, 0.8, 0.95)] == \
        ["different", "uncertain", "uncertain", "uncertain", "same", "same"]
    assert [decision(x, None) for x in (0.49, 0.5)] == ["different", "same"]


def test_band_rates_against_a_hand_count():
    band = {"low": 0.3, "high": 0.8}
    p = np.array([0.1, 0.2, 0.5, 0.6, 0.85, 0.9])  # answered: 0.1 0.2 (different), 0.85 0.9 (same)
    same = np.array([False, True, True, False, True, True])  # right: 0.1, 0.85, 0.9; wrong: 0.2
    assert band_rates(p, same, band) == {"pairs": 6, "coverage": 4 / 6, "accuracy": 3 / 4}
    assert band_rates(p, same, {"low": 0.0, "high": 1.0})["accuracy"] is None  # nothing answered
    assert band_rates(p, same, None)["coverage"] == 1.0
