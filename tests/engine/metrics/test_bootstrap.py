import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from engine.metrics.bootstrap import bootstrap_ci, weighted_auc


def test_weighted_auc_matches_sklearn_with_ties_and_weights():
    rng = np.random.default_rng(0)
    same = rng.random(200) < 0.4
    scores = np.round(rng.normal(size=200) + same, 1)  # many ties
    assert weighted_auc(scores, same, np.ones(200))[0] == pytest.approx(roc_auc_score(same, scores))
    weights = rng.multinomial(200, np.full(200, 1 / 200), size=3)
    expected = [roc_auc_score(same, scores, sample_weight=w) for w in weights]
    assert weighted_auc(scores, same, weights) == pytest.approx(expected)


def test_interval_contains_point_estimate_and_is_deterministic():
    rng = np.random.default_rng(1)
    same = rng.random(500) < 0.5
    scores = rng.normal(size=500) + same
    ci = bootstrap_ci(scores, same, threshold=0.5, n_boot=400, seed=0)
    auc = roc_auc_score(same, scores)
    acc = np.mean((scores >= 0.5) == same)
    assert ci["roc_auc_ci"][0] < auc < ci["roc_auc_ci"][1]
    assert ci["accuracy_ci"][0] < acc < ci["accuracy_ci"][1]
    # width close to the normal approximation 2 * 1.96 * sqrt(acc (1 - acc) / n)
    assert ci["accuracy_ci"][1] - ci["accuracy_ci"][0] == pytest.approx(3.92 * np.sqrt(acc * (1 - acc) / 500), rel=0.25)
    assert ci == bootstrap_ci(scores, same, threshold=0.5, n_boot=400, seed=0)
