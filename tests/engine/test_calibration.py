import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from engine.calibration import (
    best_threshold,
    expected_calibration_error,
    fit_calibration,
    platt_targets,
    probability,
    reliability_table,
)


def _two_gaussians(n, seed, d=1.0):
    rng = np.random.default_rng(seed)
    same = rng.random(n) < 0.5
    return 0.3 + 0.15 * rng.normal(size=n) + 0.2 * d * same, same


def test_newton_fit_matches_sklearn_with_platt_targets():
    s, same = _two_gaussians(400, 0)
    cal = fit_calibration(s, same)
    t = platt_targets(same)
    # smoothed targets == each point twice, labelled 1 with weight t and 0 with weight 1 - t
    x = np.concatenate([s, s])[:, None]
    y = np.concatenate([np.ones_like(s), np.zeros_like(s)])
    w = np.concatenate([t, 1 - t])
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(x, y, sample_weight=w)
    assert cal["method"] == "platt"
    assert cal["a"] == pytest.approx(ref.coef_[0, 0], rel=1e-4)
    assert cal["b"] == pytest.approx(ref.intercept_[0], rel=1e-4, abs=1e-4)


def test_separated_scores_give_finite_fit():
    cal = fit_calibration([0.1, 0.2, 0.8, 0.9], [False, False, True, True])
    assert np.isfinite(cal["a"]) and cal["a"] > 0
    p = probability([0.1, 0.9], cal)
    assert p[0] < 0.5 < p[1]


def test_platt_is_calibrated_on_held_out_pairs():
    s_val, same_val = _two_gaussians(4000, 1)
    s_test, same_test = _two_gaussians(4000, 2)
    cal = fit_calibration(s_val, same_val)
    p = probability(s_test, cal)
    assert expected_calibration_error(p, same_test) < 0.03
    # the raw cosine read as a probability is badly calibrated
    assert expected_calibration_error(np.clip(s_test, 0, 1), same_test) > 0.1
    for row in reliability_table(p, same_test):
        if row["count"] > 200:
            assert abs(row["mean_probability"] - row["fraction_same"]) < 0.06


def test_best_threshold_matches_brute_force():
    rng = np.random.default_rng(3)
    for trial in range(5):
        same = rng.random(60) < 0.5
        s = np.round(rng.normal(size=60) + same, 1)
        t = best_threshold(s, same)
        acc = np.mean((s >= t) == same)
        brute = max(np.mean((s >= c) == same) for c in np.concatenate([np.unique(s), [np.inf]]))
        assert acc == pytest.approx(brute)


def test_best_threshold_midpoint_and_ends():
    assert best_threshold([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == pytest.approx(0.5)
    assert best_threshold([0.1, 0.2], [True, True]) < 0.1


def test_ece_and_table_by_hand():
    prob = np.array([0.05, 0.05, 0.95, 0.95, 0.55, 0.55])
    same = np.array([0, 0, 1, 0, 1, 1], bool)
    table = reliability_table(prob, same, bins=10)
    assert [r["count"] for r in table] == [2, 2, 2]
    assert [r["fraction_same"] for r in table] == [0.0, 1.0, 0.5]
    expected = (2 * 0.05 + 2 * 0.45 + 2 * 0.45) / 6
    assert expected_calibration_error(prob, same) == pytest.approx(expected)
    assert table[-1]["lo"] == 0.9 and table[-1]["hi"] == 1.0
