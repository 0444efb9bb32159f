"""Pooled calibration: weighted Platt and threshold against the same fits on repeated pairs, the
weights' shares, and the record model.pt stores."""

from __future__ import annotations

import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.calibrate.platt import best_threshold, fit_calibration, platt_targets, probability
from engine.calibrate.band import fit_band
from engine.calibrate.held_out import HeldOutPairs, pooled_calibration, pooled_weights


def _pairs(n: int, seed: int, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    same = rng.random(n) < 0.5
    scores = np.where(same, 0.35, 0.1) + shift + 0.12 * rng.standard_normal(n)
    return np.round(scores, 3), same  # rounding makes ties, which the threshold must never cut between


def _weighted_nll(a: float, b: float, s, y, w) -> float:
    z, t = a * s + b, platt_targets(y)
    return float(np.sum(w * (t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z))))


def test_weighted_fit_is_the_weighted_likelihood_optimum():
    s, y = _pairs(300, 0)
    w = np.random.default_rng(1).random(len(s)) * 3
    free = fit_calibration(s, y, weights=w)
    a_grid, b_grid = free["a"] + np.linspace(-2, 2, 41), free["b"] + np.linspace(-0.5, 0.5, 41)
    brute = min((_weighted_nll(a, b, s, y, w), a, b) for a in a_grid for b in b_grid)
    assert brute[1:] == (pytest.approx(free["a"], abs=0.11), pytest.approx(free["b"], abs=0.03))
    anchored = fit_calibration(s, y, anchor=0.2, weights=w)
    slopes = anchored["a"] + np.linspace(-1, 1, 201)
    best = slopes[np.argmin([_weighted_nll(a, -a * 0.2, s, y, w) for a in slopes])]
    assert best == pytest.approx(anchored["a"], abs=0.011) and anchored["b"] == pytest.approx(-anchored["a"] * 0.2)
    assert fit_calibration(s, y, weights=w)["a"] != fit_calibration(s, y)["a"]  # the weights do count


def test_weighted_threshold_matches_brute_force():
    s, y = _pairs(200, 2)
    w = np.random.default_rng(3).random(len(s))
    t = best_threshold(s, y, weights=w)
    cuts = np.concatenate([[s.min() - 1], (np.sort(np.unique(s))[1:] + np.sort(np.unique(s))[:-1]) / 2, [s.max() + 1]])
    accuracy = [float((w * ((s >= c) == y)).sum()) for c in cuts]
    assert float((w * ((s >= t) == y)).sum()) == pytest.approx(max(accuracy))


def test_unit_weights_change_nothing():
    s, y = _pairs(250, 4)
    assert best_threshold(s, y, weights=np.ones(len(s))) == best_threshold(s, y)
    assert fit_calibration(s, y, anchor=0.2, weights=np.ones(len(s))) == fit_calibration(s, y, anchor=0.2)


def test_bad_weights_are_refused():
    s, y = _pairs(10, 5)
    for bad in (np.ones(9), -np.ones(10), np.zeros(10), np.full(10, np.nan)):
        with pytest.raises(EngineError, match="weights"):
            fit_calibration(s, y, weights=bad)


def test_each_source_gets_its_share():
    w = pooled_weights(200, 600, weight=0.5)
    assert w[:200].sum() == pytest.approx(0.5) and w[200:].sum() == pytest.approx(0.5)
    assert pooled_weights(10, 30, weight=0.25)[10:].sum() == pytest.approx(0.25)
    with pytest.raises(EngineError):
        pooled_weights(1, 1, weight=1.5)


def test_pooling_moves_the_fit_towards_the_held_out_pairs():
    vs, vy = _pairs(400, 6)
    hs, hy = _pairs(1200, 7, shift=0.1)  # held-out artists whose cosines sit higher
    alone = pooled_calibration(vs, vy, None)
    pooled = pooled_calibration(vs, vy, HeldOutPairs(hs, hy, artists=24, folds=3))
    held_only = best_threshold(hs, hy)
    assert alone[0] == best_threshold(vs, vy)
    assert {k: v for k, v in alone[1].items() if k != "band"} == fit_calibration(vs, vy, anchor=alone[0])
    assert alone[1]["band"] == fit_band(probability(vs, alone[1]), vy)  # verify's uncertain band, on the same pairs
    assert pooled[1]["band"] == fit_band(probability(np.concatenate([vs, hs]), pooled[1]), np.concatenate([vy, hy]),
                                         weights=pooled_weights(len(vs), len(hs)))
    assert alone[0] < pooled[0] < held_only
    assert pooled[1]["held_out_artists"] == 24 and pooled[1]["anchor"] == pooled[0]


def test_record_round_trip_and_damage():
    pairs = HeldOutPairs(np.array([0.1, 0.5]), np.array([False, True]), artists=4, folds=2)
    back = HeldOutPairs.from_dict(pairs.to_dict())
    assert np.array_equal(back.scores, pairs.scores) and np.array_equal(back.same, pairs.same)
    assert (back.artists, back.folds) == (4, 2) and HeldOutPairs.from_dict(None) is None
    with pytest.raises(EngineError, match="re-train"):
        HeldOutPairs.from_dict({"scores": [0.1]})
    with pytest.raises(EngineError):
        HeldOutPairs(np.array([0.1]), np.array([True, False]), artists=2, folds=2)


def test_pooled_slope_is_the_brute_force_weighted_likelihood_optimum():
    """Threshold and slope of the pooled fit against a cut scan and a grid search of the weighted NLL written
    from the module docstring: weight / N_held_out per held-out pair, (1 - weight) / N_val per val pair,
    Platt's smoothed targets over all pooled pairs, p = sigmoid(a (s - t))."""
    from calibration_reference_kit import brute_slope, brute_threshold

    rng = np.random.default_rng(13)  # a draw where one cut is best (ties are broken by an unspecified rule)
    vy = rng.random(37) < 0.5
    vs = np.where(vy, 0.45, 0.15) + 0.05 * rng.standard_normal(37)
    hy = rng.random(101) < 0.5  # weaker held-out heads: closer and wider apart
    hs = np.where(hy, 0.34, 0.24) + 0.2 * rng.standard_normal(101)
    held = HeldOutPairs(hs, hy, artists=20, folds=4)
    s, y = np.concatenate([vs, hs]), np.concatenate([vy, hy])
    for weight in (0.5, 0.25):
        w = np.concatenate([np.full(37, (1 - weight) / 37), np.full(101, weight / 101)])
        t = brute_threshold(s, y, w)
        a = brute_slope(s, y, t, weights=w)
        threshold, calibration = pooled_calibration(vs, vy, held, weight=weight)
        assert threshold == pytest.approx(t, abs=1e-12)
        assert calibration["a"] == pytest.approx(a, abs=1e-3) and calibration["b"] == pytest.approx(-calibration["a"] * t)
        assert calibration["held_out_weight"] == weight
        # dropping the held-out pairs from the slope fit would move it far
        assert brute_slope(vs, vy, t) - a > 3


def test_pooled_threshold_counts_each_pair_by_its_sources_share():
    """4 val pairs (3 different at ~0.7, 1 same at 0.9) against 20 held-out pairs (same ~0.6, different ~0.55):
    counted pair by pair the held-out pairs win (cut ~0.58, 21 of 24 right); weighted half and half, the val
    pairs do (cut ~0.8: all val pairs and half the held-out ones right, 0.75 against 0.625)."""
    from calibration_reference_kit import brute_slope, brute_threshold

    vs, vy = np.array([0.70, 0.71, 0.72, 0.90]), np.array([False, False, False, True])
    hs = np.concatenate([0.600 + 0.001 * np.arange(10), 0.550 + 0.001 * np.arange(10)])
    hy = np.arange(20) < 10
    s, y = np.concatenate([vs, hs]), np.concatenate([vy, hy])
    w = np.concatenate([np.full(4, 0.5 / 4), np.full(20, 0.5 / 20)])
    t = brute_threshold(s, y, w)
    assert 0.72 < t < 0.9 and 0.559 < brute_threshold(s, y) < 0.6  # the two rules disagree here
    threshold, calibration = pooled_calibration(vs, vy, HeldOutPairs(hs, hy, artists=8, folds=2))
    assert threshold == pytest.approx(t, abs=1e-12)
    assert calibration["a"] == pytest.approx(brute_slope(s, y, t, weights=w), abs=1e-3)


def test_pooled_weights_by_hand_at_the_edges():
    np.testing.assert_allclose(pooled_weights(1, 3), [0.5, 1 / 6, 1 / 6, 1 / 6])
    np.testing.assert_allclose(pooled_weights(3, 1), [1 / 6, 1 / 6, 1 / 6, 0.5])
    np.testing.assert_allclose(pooled_weights(2, 2, weight=0.0), [0.5, 0.5, 0.0, 0.0])  # the held-out pairs ignored
    np.testing.assert_allclose(pooled_weights(2, 2, weight=1.0), [0.0, 0.0, 0.5, 0.5])  # the val pairs ignored
    for bad in (-0.1, 1.1):
        with pytest.raises(EngineError, match=rf"^held-out weight must be in \[0, 1\], got {bad}$"):
            pooled_weights(2, 2, weight=bad)


def test_one_held_out_pair_is_enough_and_none_is_refused_with_its_message():
    assert len(HeldOutPairs(np.array([0.3]), np.array([True]), artists=2, folds=2).scores) == 1
    for scores, same in (([], []), ([0.1], [True, False])):
        with pytest.raises(EngineError, match=r"^held-out calibration pairs must be a non-empty list of \(score, same\) pairs$"):
            HeldOutPairs(np.array(scores), np.array(same, dtype=bool), artists=2, folds=2)


def test_from_dict_reads_numbers_as_float64_and_flags_as_bool():
    back = HeldOutPairs.from_dict({"scores": [1, 0], "same": [1, 0], "artists": "3", "folds": 2})
    assert back.scores.dtype == np.float64 and back.same.dtype == bool
    assert back.same.tolist() == [True, False] and back.artists == 3
    with pytest.raises(EngineError, match=r"^unreadable held-out calibration pairs in the model; re-train with `engine train`$"):
        HeldOutPairs.from_dict({"scores": [0.1], "same": [True], "artists": "many", "folds": 2})
