from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score
from scipy.stats import norm

from engine.base.errors import EngineError
from engine.base.vectors import cosine_scores
from engine.metrics.verification import equal_error_rate, verification_metrics
from engine.metrics.pair_sampling import sample_pairs


def _labels(sizes):
    return [f"artist{a}" for a, n in enumerate(sizes) for _ in range(n)]


def test_pairs_are_balanced_and_deterministic():
    labels = _labels([30, 20, 10, 40])
    i, j, same = sample_pairs(labels, n_pairs=200, per_artist_cap=1000, seed=3)
    assert len(i) == 200 and same.sum() == 100
    lab = np.array(labels)
    assert np.array_equal(lab[i] == lab[j], same)
    again = sample_pairs(labels, n_pairs=200, per_artist_cap=1000, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip((i, j, same), again))
    other = sample_pairs(labels, n_pairs=200, per_artist_cap=1000, seed=4)
    assert not np.array_equal(i, other[0])


def test_no_self_pairs_no_repeats_no_duplicate_groups():
    labels = _labels([6, 6, 6])
    # images 0 and 1 are the same painting scanned twice; 6 and 12 a cross-labelled duplicate
    groups = [f"g{k}" for k in range(18)]
    groups[1] = "g0"
    groups[12] = "g6"
    i, j, same = sample_pairs(labels, n_pairs=10_000, per_artist_cap=10_000, seed=0, groups=groups)
    assert len(i) > 0
    assert np.all(i != j)
    g = np.array(groups)
    assert np.all(g[i] != g[j])
    keys = {(min(a, b), max(a, b)) for a, b in zip(i.tolist(), j.tolist())}
    assert len(keys) == len(i)
    # exhaustive: 3 * C(6,2) = 45 same pairs minus the one duplicate pair
    assert same.sum() == 44 and (~same).sum() == 44


def test_per_artist_cap_limits_anchors_and_big_artists_do_not_dominate():
    labels = _labels([500, 20, 20, 20, 20])
    i, _, _ = sample_pairs(labels, n_pairs=400, per_artist_cap=30, seed=1)
    counts = Counter(np.array(labels)[i].tolist())
    assert max(counts.values()) <= 30
    assert len(i) == 150  # 5 artists x 30 anchors, split evenly into same and different
    assert counts["artist0"] == 30


def test_single_artist_gives_no_pairs():
    i, j, same = sample_pairs(["a"] * 5, n_pairs=10, per_artist_cap=10, seed=0)
    assert len(i) == len(j) == len(same) == 0


def test_cosine_scores_match_brute_force():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(10, 4)) * rng.uniform(0.5, 3, size=(10, 1))
    i, j = np.array([0, 3, 5]), np.array([1, 3, 9])
    expected = [emb[a] @ emb[b] / np.linalg.norm(emb[a]) / np.linalg.norm(emb[b]) for a, b in zip(i, j)]
    assert np.allclose(cosine_scores(emb, i, j), expected)


def test_metrics_match_sklearn_and_threshold_rule():
    rng = np.random.default_rng(0)
    same = rng.random(300) < 0.5
    scores = rng.normal(size=300) + same
    m = verification_metrics(scores, same, threshold=0.5)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(same, scores))
    assert m["average_precision"] == pytest.approx(average_precision_score(same, scores))
    assert m["accuracy"] == pytest.approx(np.mean((scores >= 0.5) == same))
    assert m["threshold"] == 0.5 and m["pairs"] == 300


def test_eer_hand_made_and_brute_force():
    # perfectly separated -> 0; one swapped pair of 4+4 -> FPR = FNR = 1/4 at the crossing
    assert equal_error_rate(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1], bool)) == 0
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])
    same = np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)
    assert equal_error_rate(scores, same) == pytest.approx(0.25)
    # brute force on random data: at every threshold max(FPR, FNR) >= EER >= min(FPR, FNR) at the crossing
    rng = np.random.default_rng(1)
    same = rng.random(400) < 0.5
    scores = rng.normal(size=400) + 1.5 * same
    eer = equal_error_rate(scores, same)
    rates = [(np.mean(scores[~same] >= t), np.mean(scores[same] < t)) for t in np.unique(scores)]
    assert min(max(f, r) for f, r in rates) >= eer - 1e-12
    assert eer >= min(min(f, r) for f, r in rates if abs(f - r) == min(abs(a - b) for a, b in rates))


def test_eer_of_two_gaussians_matches_theory():
    rng = np.random.default_rng(2)
    n, d = 20_000, 2.0
    scores = np.concatenate([rng.normal(0, 1, n), rng.normal(d, 1, n)])
    same = np.concatenate([np.zeros(n, bool), np.ones(n, bool)])
    assert equal_error_rate(scores, same) == pytest.approx(norm.cdf(-d / 2), abs=0.01)


def test_accuracy_at_the_callers_threshold_and_one_class_is_an_error():
    from engine.calibrate.platt import best_threshold

    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])
    same = np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)
    assert verification_metrics(scores, same, threshold=best_threshold(scores, same))["accuracy"] == pytest.approx(7 / 8)
    assert verification_metrics(scores, same, threshold=0.5)["accuracy"] == pytest.approx(6 / 8)  # 0.6 and 0.4 wrong
    assert verification_metrics(scores, same, threshold=0.95)["accuracy"] == pytest.approx(4 / 8)
    with pytest.raises(EngineError):
        verification_metrics(scores, np.ones(8, bool), threshold=0.5)


def _eer_by_brute_force(scores, same):
    """Every threshold's (FPR, FNR), highest threshold first, from counting; the first point where
    FNR <= FPR and the linear interpolation of FNR - FPR = 0 between it and the point before."""
    points = [(0.0, 1.0)]  # above every score: nothing accepted
    for t in sorted(set(scores.tolist()), reverse=True):
        accepted = scores >= t
        points.append((accepted[~same].mean(), 1.0 - accepted[same].mean()))
    for k, (fpr, fnr) in enumerate(points):
        if fnr - fpr <= 0:
            if fnr == fpr:
                return fpr
            (f0, n0) = points[k - 1]
            t = (n0 - f0) / ((n0 - f0) - (fnr - fpr))
            return f0 + t * (fpr - f0)
    raise AssertionError("unreachable: the last point accepts everything")


def test_eer_interpolates_between_the_roc_points_by_hand():
    # negatives 0.9, 0.9, 0.1; positives 0.9, 0.2: at 0.9 FPR 2/3 > FNR 1/2 already -> between (0, 1) and (2/3, 1/2):
    # FNR - FPR goes 1 -> -1/6, zero at t = 6/7 of the way: EER = 6/7 * 2/3 = 4/7
    scores = np.array([0.9, 0.9, 0.1, 0.9, 0.2])
    same = np.array([0, 0, 0, 1, 1], bool)
    assert equal_error_rate(scores, same) == pytest.approx(4 / 7, abs=1e-12)
    # negatives 0.1, 0.3, 0.5; positives 0.4, 0.6: (FPR, FNR) = (0, 1) (0, 1/2) (1/3, 1/2) (1/3, 0):
    # FNR - FPR goes 1/6 -> -1/3 on a vertical step, EER = 1/3
    scores = np.array([0.1, 0.3, 0.5, 0.4, 0.6])
    same = np.array([0, 0, 0, 1, 1], bool)
    assert equal_error_rate(scores, same) == pytest.approx(1 / 3, abs=1e-12) == _eer_by_brute_force(scores, same)


@pytest.mark.parametrize("seed", range(40))
def test_eer_equals_the_brute_force_crossing_on_small_tied_samples(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 12))
    same = rng.random(n) < 0.5
    same[:2] = [True, False]
    scores = rng.integers(0, 5, n).astype(np.float64) / 4 + 0.3 * same * rng.random()
    assert equal_error_rate(scores, same) == pytest.approx(_eer_by_brute_force(scores, same), abs=1e-12)


def test_metrics_report_eer_and_count_a_score_at_the_threshold_as_same():
    scores = [0.2, 0.5, 0.5, 0.9]
    same = [0, 1, 0, 1]  # 0/1 ints are read as booleans
    m = verification_metrics(scores, same, threshold=0.5)
    assert m["eer"] == equal_error_rate(np.array(scores), np.array(same, bool))
    assert m["accuracy"] == 0.75  # both 0.5s are called same: one right, one wrong
    assert verification_metrics(scores, same, threshold=0.50001)["accuracy"] == 0.75  # now 0.5 (same) is wrong, 0.5 (diff) right
    assert verification_metrics([0.2, 0.5, 0.9], [0, 1, 1], threshold=0.5)["accuracy"] == 1.0


def test_bad_input_messages():
    with pytest.raises(ValueError, match=r"^scores and same differ in length$"):
        verification_metrics([0.1, 0.2], [True], threshold=0.5)
    with pytest.raises(EngineError) as info:
        verification_metrics([0.1, 0.2], [False, False], threshold=0.5)
    assert str(info.value) == ("verification needs both same-artist and different-artist pairs; "
                               "use a split with at least 2 artists")


def test_float32_scores_are_compared_with_the_threshold_in_float64():
    # a threshold a hair above float32(0.1): as float32 it would round onto the score and accept it
    scores = np.array([0.1, 0.9, 0.05, 0.95], np.float32)
    threshold = float(np.float32(0.1)) + 1e-12
    m = verification_metrics(scores, np.array([0, 1, 0, 1], bool), threshold=threshold)
    assert m["accuracy"] == 1.0


def test_an_artist_with_two_paintings_gives_exactly_one_same_pair():
    labels = _labels([2, 2, 2])
    i, j, same = sample_pairs(labels, n_pairs=100, per_artist_cap=100, seed=0)
    assert same.sum() == 3 and len(i) == 6  # one same pair each; as many different ones
    assert {tuple(sorted(p)) for p in zip(i[same].tolist(), j[same].tolist())} == {(0, 1), (2, 3), (4, 5)}


def test_the_cap_counts_every_pair_an_artist_anchors():
    # cap 3: each round an artist anchors a same then a different pair -> same, different, same: 4 artists give
    # 8 same and 4 different pairs, truncated to 4 + 4 (a cap of 4 would give 8 + 8)
    labels = _labels([10, 10, 10, 10])
    i, j, same = sample_pairs(labels, n_pairs=1000, per_artist_cap=3, seed=2)
    assert same.sum() == 4 and (~same).sum() == 4


def test_an_odd_request_gives_the_even_number_below_it_and_no_log(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="engine.metrics.pair_sampling"):
        i, _, same = sample_pairs(_labels([10, 10, 10]), n_pairs=7, per_artist_cap=100, seed=0)
    assert len(i) == 6 and same.sum() == 3
    assert not caplog.records


def test_the_same_half_is_filled_after_the_different_half_is_full():
    # two single-painting artists give only different pairs, so the different half fills first; the same
    # half must go on filling from the third artist until it too holds n_pairs / 2
    labels = ["solo1", "solo2"] + ["many"] * 10
    i, j, same = sample_pairs(labels, n_pairs=20, per_artist_cap=100, seed=0)
    assert same.sum() == 10 and (~same).sum() == 10


def test_a_short_sample_is_logged_with_its_counts(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="engine.metrics.pair_sampling"):
        i, _, same = sample_pairs(_labels([2] * 8), n_pairs=20, per_artist_cap=100, seed=0)  # 8 same pairs at most
    assert len(i) == 16
    assert [r.getMessage() for r in caplog.records] == ["sampled 16 pairs (asked for 20): not enough distinct pairs under the cap"]


def test_no_pairs_still_come_as_typed_empty_arrays_and_bad_groups_are_refused():
    i, j, same = sample_pairs(["a"] * 5, n_pairs=10, per_artist_cap=10, seed=0)
    assert i.dtype == j.dtype == np.int64 and same.dtype == bool
    with pytest.raises(ValueError, match=r"^labels and groups differ in length$"):
        sample_pairs(["a", "b"], n_pairs=2, per_artist_cap=2, seed=0, groups=["g"])
