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


def _bootstrap_by_loop(scores, same, *, threshold, n_boot, seed, level):
    """One resample at a time: sklearn's weighted ROC-AUC (resamples with one class skipped) and the
    weighted share of right calls at `threshold`, then numpy's percentiles at (1 -+ level) / 2."""
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(scores), np.full(len(scores), 1 / len(scores)), size=n_boot)
    aucs, accs = [], []
    for w in weights:
        accs.append(np.sum(w * ((scores >= threshold) == same)) / len(scores))
        if (w * same).sum() > 0 and (w * ~same).sum() > 0:
            aucs.append(roc_auc_score(same, scores, sample_weight=w))
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {"roc_auc_ci": list(np.percentile(aucs, [lo, hi])), "accuracy_ci": list(np.percentile(accs, [lo, hi]))}


@pytest.mark.parametrize("n_boot, chunk, level", [(250, 100, 0.8), (37, 200, 0.95), (60, 7, 0.5)])
def test_interval_equals_a_resample_by_resample_loop(n_boot, chunk, level):
    # 8 pairs: some resamples hold one class only; two scores sit exactly on the threshold
    scores = np.array([0.1, 0.5, 0.5, 0.7, 0.2, 0.9, 0.4, 0.6])
    same = np.array([0, 1, 0, 1, 0, 1, 1, 0], bool)
    got = bootstrap_ci(scores.tolist(), same.astype(int).tolist(), threshold=0.5, n_boot=n_boot, seed=4, level=level, chunk=chunk)
    want = _bootstrap_by_loop(scores, same, threshold=0.5, n_boot=n_boot, seed=4, level=level)
    assert got == {k: pytest.approx(v, abs=1e-12) for k, v in want.items()}
    assert all(type(x) is float for v in got.values() for x in v)


def test_weighted_auc_by_hand_with_a_tie_and_a_zero_weight():
    # positives 0.8 (w 2), 0.5 (w 1); negatives 0.5 (w 1), 0.2 (w 3), 0.9 (w 0: left out)
    scores = np.array([0.8, 0.5, 0.5, 0.2, 0.9])
    same = np.array([1, 1, 0, 0, 0], bool)
    w = np.array([[2, 1, 1, 3, 0]])
    # pairs (weight): 0.8>0.5 (2), 0.8>0.2 (6), 0.5=0.5 (1, counts 1/2), 0.5>0.2 (3) of 3 * 4 = 12
    assert weighted_auc(scores, same, w)[0] == pytest.approx((2 + 6 + 0.5 + 3) / 12, abs=1e-15)
    assert np.isnan(weighted_auc(scores, same, np.array([[1, 1, 0, 0, 0]])))[0]  # no negative weight: no AUC


def test_defaults_float32_scores_and_no_warning_for_one_class_resamples():
    import warnings

    scores = np.array([0.1, 0.5, 0.5, 0.7, 0.2, 0.9, 0.4, 0.6], np.float32)
    same = np.array([0, 1, 0, 1, 0, 1, 1, 0], bool)
    threshold = float(np.float32(0.5)) + 1e-12  # above both 0.5s in float64; equal to them in float32
    got = bootstrap_ci(scores, same, threshold=threshold)
    assert got == bootstrap_ci(scores.astype(np.float64), same, threshold=threshold, n_boot=1000, seed=0)
    assert got != bootstrap_ci(scores.astype(np.float64), same, threshold=float(np.float32(0.5)), n_boot=1000, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(weighted_auc(scores, same, np.array([[0, 1, 0, 1, 0, 1, 1, 0]]))[0])  # positives only
