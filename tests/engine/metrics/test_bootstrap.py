import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from engine.metrics.bootstrap import auc_by_ranks, bootstrap_ci


def test_rank_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    same = rng.random(200) < 0.4
    scores = np.round(rng.normal(size=200) + same, 1)  # many ties
    assert auc_by_ranks(scores, same) == pytest.approx(roc_auc_score(same, scores))


def test_interval_contains_point_estimate_and_is_deterministic():
    rng = np.random.default_rng(1)
    same = rng.random(500) < 0.5
    scores = rng.normal(size=500) + same
    ci = bootstrap_ci(scores, same, threshold=0.5, n_boot=400, seed=0)
    auc = roc_auc_score(same, scores)
    acc = np.mean((scores >= 0.5) == same)
    assert ci["roc_auc_ci"][0] < auc < ci["roc_auc_ci"][1]
    assert ci["accuracy_ci"][0] < acc < ci["accuracy_ci"][1]
    assert ci["roc_auc_ci"][1] - ci["roc_auc_ci"][0] < 0.15
    assert ci == bootstrap_ci(scores, same, threshold=0.5, n_boot=400, seed=0)
