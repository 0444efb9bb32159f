"""Open-set attribution: the probability rule, its fit, and the open-set metrics on generated clusters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.calibrate.attribution import (
    AttributionCalibration,
    _objective,
    _pad,
    candidate_features,
    fit_attribution_calibration,
    resolve_calibration,
)
from engine.evaluate.open_set import open_set_metrics


def clusters(n_artists: int, per: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_artists, 16))
    x = np.concatenate([centres[a] + noise * rng.normal(size=(per, 16)) for a in range(n_artists)])
    return x, np.repeat([f"artist {a}" for a in range(n_artists)], per)


def test_probabilities_sum_to_one_and_one_candidate_is_a_sigmoid():
    cal = AttributionCalibration(w_best=8.0, w_vote=2.0, bias=-5.0, k=3)
    named, unknown = cal.probabilities([0.9, 0.7, 0.6, 0.99], ["a", "b", None, "c"])  # "c" is beyond k=3
    assert set(named) == {"a", "b"}
    assert sum(named.values()) + unknown == pytest.approx(1.0)
    votes = {"a": 0.9 / 1.6, "b": 0.7 / 1.6}
    z = {"a": 8 * 0.9 + 2 * votes["a"] - 5, "b": 8 * 0.7 + 2 * votes["b"] - 5}
    norm = 1 + math.exp(z["a"]) + math.exp(z["b"])
    assert named["a"] == pytest.approx(math.exp(z["a"]) / norm)
    assert unknown == pytest.approx(1 / norm)
    named, unknown = AttributionCalibration(12.0, 0.0, -6.0).probabilities([0.7, 0.4], ["a", "a"])
    assert named["a"] == pytest.approx(1 / (1 + math.exp(-(12 * 0.7 - 6)))) == pytest.approx(1 - unknown)
    assert AttributionCalibration(1, 1, 1).probabilities([0.5], [None]) == ({}, 1.0)


def test_stored_record_round_trips_and_old_models_get_none():
    cal = AttributionCalibration(3.0, 1.0, -2.0, k=7)
    assert AttributionCalibration.from_dict(cal.to_dict()) == cal
    assert resolve_calibration(cal.to_dict()) == cal
    assert resolve_calibration(None) is None  # never derived from the verification calibration
    assert resolve_calibration({"method": "platt", "a": 5.0, "b": -1.0}) is None


def test_gradient_matches_finite_differences():
    x, y = clusters(4, 12, 1.0, seed=3)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    cands = [candidate_features(unit[q] @ unit[10:].T, y[10:].tolist()) for q in range(10)]
    ep = _pad(cands, y[:10].tolist(), np.ones(10, dtype=bool))
    theta = np.array([3.0, -1.0, 0.5])
    _, grad = _objective(theta, ep)
    numeric = [(_objective(theta + e, ep)[0] - _objective(theta - e, ep)[0]) / 2e-6 for e in np.eye(3) * 1e-6]
    assert np.allclose(grad, numeric, atol=1e-5)


def test_fit_on_val_artists_transfers_to_new_artists():
    val_x, val_y = clusters(6, 20, 0.9, seed=1)
    cal = fit_attribution_calibration(val_x, val_y, seed=0)
    assert cal.w_best > 0
    test_x, test_y = clusters(8, 20, 0.9, seed=2)
    m = open_set_metrics(test_x, test_y, calibration=cal, seed=0)
    assert m["known_correct"] > 0.7 and m["unknown_correct"] > 0.7 and m["auroc"] > 0.85
    assert m["queries_known"] > 0 and m["queries_unknown"] > 0


def test_unrelated_embeddings_give_chance_auroc():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(240, 16)), np.repeat([f"a{i}" for i in range(12)], 20)
    cal = fit_attribution_calibration(x, y, seed=0)
    m = open_set_metrics(x, y, calibration=cal, seed=1)
    assert abs(m["auroc"] - 0.5) < 0.12
    assert m["ece"] < 0.15  # the fitted rule knows it knows nothing


def test_needs_two_artists():
    x, y = clusters(1, 10, 1.0, seed=0)
    with pytest.raises(EngineError):
        fit_attribution_calibration(x, y)
