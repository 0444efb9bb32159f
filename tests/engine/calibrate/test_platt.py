import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from engine.base.errors import EngineError
from engine.calibrate.platt import best_threshold, fit_calibration, platt_targets, probability
from engine.metrics.calibration_error import expected_calibration_error, reliability_table


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


def test_anchored_fit_puts_probability_half_at_the_threshold():
    s, same = _two_gaussians(600, 4)
    t = best_threshold(s, same)
    cal = fit_calibration(s, same, anchor=t)
    assert cal["method"] == "platt" and cal["anchor"] == t and cal["a"] > 0
    assert probability([t], cal)[0] == 0.5
    # the decision and the probability agree on every score, including right at the threshold
    grid = np.concatenate([s, t + np.array([-1e-9, -1e-12, 0.0, 1e-12, 1e-9])])
    assert np.array_equal(probability(grid, cal) >= 0.5, grid >= t)


def test_anchored_fit_is_the_max_likelihood_slope():
    s, same = _two_gaussians(400, 5)
    t = 0.42
    cal = fit_calibration(s, same, anchor=t)
    w = platt_targets(same)
    x = np.concatenate([s, s])[:, None] - t
    y = np.concatenate([np.ones_like(s), np.zeros_like(s)])
    ref = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(x, y, sample_weight=np.concatenate([w, 1 - w]))
    assert cal["a"] == pytest.approx(ref.coef_[0, 0], rel=1e-4)
    assert cal["b"] == pytest.approx(-cal["a"] * t)


def test_anchored_fit_never_inverts_the_decision():
    """Scores that rank different-artist pairs higher: a is clipped at 0 (p = 0.5), never negative."""
    cal = fit_calibration([0.1, 0.2, 0.8, 0.9], [True, True, False, False], anchor=0.5)
    assert cal["a"] == 0.0
    assert np.allclose(probability([0.1, 0.9], cal), 0.5)


def test_separated_scores_give_finite_anchored_fit():
    cal = fit_calibration([0.1, 0.2, 0.8, 0.9], [False, False, True, True], anchor=0.5)
    assert np.isfinite(cal["a"]) and cal["a"] > 0


def test_models_calibrated_before_anchoring_still_work():
    """Old model.pt files store a free (a, b) and no "anchor": probability() reads them unchanged."""
    old = {"method": "platt", "a": 4.5, "b": -0.57}
    assert probability([0.2], old)[0] == pytest.approx(1 / (1 + np.exp(-(4.5 * 0.2 - 0.57))))


# 3 same-artist pairs, 2 different, not separable (0.4 same < 0.5 different): Platt's targets by hand are
# (3 + 1) / (3 + 2) = 0.8 for the positives and 1 / (2 + 2) = 0.25 for the negatives.
HAND_S = np.array([0.9, 0.6, 0.4, 0.5, 0.2])
HAND_SAME = np.array([True, True, True, False, False])
HAND_TARGETS = np.array([0.8, 0.8, 0.8, 0.25, 0.25])


def test_platt_targets_by_hand():
    np.testing.assert_allclose(platt_targets(HAND_SAME), HAND_TARGETS, rtol=0, atol=1e-15)
    np.testing.assert_allclose(platt_targets(np.array([True, False, False, False])), [2 / 3, 1 / 5, 1 / 5, 1 / 5])


def test_anchored_slope_is_the_brute_force_optimum_with_hand_targets():
    from calibration_reference_kit import brute_slope

    a = brute_slope(HAND_S, HAND_SAME, 0.45, targets=HAND_TARGETS)
    raw = brute_slope(HAND_S, HAND_SAME, 0.45, targets=HAND_SAME.astype(float))
    assert abs(a - raw) > 0.5  # raw 0/1 targets would give another slope
    cal = fit_calibration(HAND_S, HAND_SAME, anchor=0.45)
    assert cal["a"] == pytest.approx(a, abs=1e-4) and cal["b"] == pytest.approx(-a * 0.45, abs=1e-4)


def test_free_fit_zeroes_the_likelihood_gradient_with_hand_targets():
    """At the optimum of the free fit, sum(p - t) = 0 and sum((p - t) s) = 0 for the smoothed targets t."""
    cal = fit_calibration(HAND_S, HAND_SAME)
    p = 1 / (1 + np.exp(-(cal["a"] * HAND_S + cal["b"])))
    assert np.sum(p - HAND_TARGETS) == pytest.approx(0, abs=1e-8)
    assert np.sum((p - HAND_TARGETS) * HAND_S) == pytest.approx(0, abs=1e-8)
    assert abs(np.sum(p - HAND_SAME)) > 0.05  # not the raw 0/1 targets' optimum


# --- survivors of benchmarks/mutation.py (engine/calibrate/platt.py), killed by hand-computed cases ---

def test_weights_move_the_threshold_by_hand():
    """scores 0.1 0.2 0.3 0.4 with same = F T F T. Unweighted, the cuts at 0.15 and 0.35 both make 3 of 4
    right and the lowest wins (0.15); weighting the pair at 0.3 by 10 makes the cut above it (0.35) the only
    best one (12 of 13)."""
    scores, same = [0.1, 0.2, 0.3, 0.4], [False, True, False, True]
    assert best_threshold(scores, same) == pytest.approx(0.15)
    assert best_threshold(scores, same, weights=[1, 1, 10, 1]) == pytest.approx(0.35)


def test_an_all_different_sample_puts_the_threshold_above_every_score():
    assert best_threshold([0.2, 0.5, 0.9], [False, False, False]) == pytest.approx(0.9 + 1e-6)
    assert best_threshold([0.2, 0.5, 0.9], [True, True, True]) == pytest.approx(0.2 - 1e-6)


@pytest.mark.parametrize("weights", [[1, 1], [1, 1, np.nan], [1, -1, 1], [0, 0, 0]], ids=["length", "nan", "negative", "zero"])
def test_bad_weights_are_refused(weights):
    with pytest.raises(EngineError, match="weights"):
        best_threshold([0.1, 0.5, 0.9], [False, True, True], weights=weights)
    with pytest.raises(EngineError, match="weights"):
        fit_calibration([0.1, 0.5, 0.9], [False, True, True], anchor=0.3, weights=weights)


@pytest.mark.parametrize(("scores", "same"), [([], []), ([0.1, 0.2], [True])], ids=["empty", "lengths"])
def test_unusable_pairs_are_refused(scores, same):
    with pytest.raises(EngineError, match="non-empty"):
        best_threshold(scores, same)
    with pytest.raises(EngineError, match="non-empty"):
        fit_calibration(scores, same)


@pytest.mark.parametrize("record", [None, {}, {"method": "isotonic", "a": 1.0, "b": 0.0}], ids=["none", "empty", "other"])
def test_probability_needs_a_platt_record(record):
    with pytest.raises(EngineError, match="engine calibrate"):
        probability([0.5], record)


def test_probability_by_hand():
    assert probability([0.5, 0.0], {"method": "platt", "a": 4.0, "b": -2.0}) == pytest.approx([0.5, 1 / (1 + np.exp(2.0))])


def test_pair_calibration_from_the_stored_record():
    from engine.calibrate.platt import PairCalibration

    stored = PairCalibration.from_stored(0.5, {"method": "platt", "a": 4.0, "b": -2.0, "anchor": 0.5, "held_out_artists": 6})
    assert (stored.threshold, stored.a, stored.b, stored.anchor) == (0.5, 4.0, -2.0, 0.5)
    assert stored.record["held_out_artists"] == 6
    assert stored.probability([0.5, 1.0]) == pytest.approx([0.5, 1 / (1 + np.exp(-2.0))])
    assert stored.same_artist(0.5) and not stored.same_artist(0.4999)
    assert PairCalibration.from_stored(None, {"method": "platt", "a": 1.0, "b": 0.0}) is None
    assert PairCalibration.from_stored(0.3, None) is None and PairCalibration.from_stored(0.3, {}) is None
    with pytest.raises(EngineError, match="engine calibrate"):
        PairCalibration.from_stored(0.3, {"method": "isotonic"})


# --- second round of survivors: backtracking, edge samples, weights at their bounds, ties, dtypes, messages ---

def _likelihood_gradient(s, y, a, b, w=None):
    """d/d(a, b) of the weighted NLL of sigmoid(a s + b) with Platt's smoothed targets, written out by hand."""
    from calibration_reference_kit import platt_smoothed

    s = np.asarray(s, dtype=np.float64)
    w = np.ones(len(s)) if w is None else np.asarray(w, dtype=np.float64)
    r = w * (1 / (1 + np.exp(-(a * s + b))) - platt_smoothed(y))
    return float(np.sum(r * s)), float(np.sum(r))


def test_a_fit_whose_first_newton_step_overshoots_still_reaches_the_optimum():
    """2 same pairs among 62: from the prior, the full Newton step of the free fit raises the NLL, so the step must
    be halved; the fit must still end where the gradient of the likelihood is 0."""
    s = np.r_[np.linspace(0.6, 0.9, 2), np.linspace(0.1, 0.3, 60)]
    y = np.arange(62) < 2
    cal = fit_calibration(s, y)
    ga, gb = _likelihood_gradient(s, y, cal["a"], cal["b"])
    assert abs(ga) < 1e-9 and abs(gb) < 1e-9


@pytest.mark.parametrize("same", [np.zeros(10, bool), np.ones(10, bool)], ids=["all-different", "all-same"])
def test_a_one_sided_sample_gets_a_finite_free_fit_at_the_optimum(same):
    """One class only: the smoothed target is one constant 1/12 or 11/12, reached with a = 0, b = logit(target)."""
    s = np.linspace(0.1, 0.5, 10)
    cal = fit_calibration(s, same)
    target = 11 / 12 if same[0] else 1 / 12
    assert cal["a"] == pytest.approx(0, abs=1e-7) and cal["b"] == pytest.approx(np.log(target / (1 - target)), abs=1e-7)


def test_weights_of_any_scale_fractional_or_zero_are_accepted():
    """The NLL and the accuracy scale with the weights: weights c * 1 give the unweighted fit for any c > 0 (sum
    1 included), and a weight of 0 drops a pair from the likelihood and the accuracy."""
    s, y = _two_gaussians(40, 3)
    plain_t, plain = best_threshold(s, y), fit_calibration(s, y)
    for c in (1 / len(s), 0.3, 7.0):
        w = np.full(len(s), c)
        assert best_threshold(s, y, weights=w) == pytest.approx(plain_t, abs=1e-12)
        scaled = fit_calibration(s, y, weights=w)
        assert (scaled["a"], scaled["b"]) == pytest.approx((plain["a"], plain["b"]), abs=1e-6)
    from calibration_reference_kit import brute_slope

    w = np.r_[np.zeros(5), np.ones(len(s) - 5)]  # (the smoothed targets still count every pair)
    assert fit_calibration(s, y, anchor=0.3, weights=w)["a"] == pytest.approx(brute_slope(s, y, 0.3, weights=w), abs=1e-3)
    assert best_threshold(s, y, weights=w) == pytest.approx(best_threshold(s[5:], y[5:]), abs=1e-12)


def test_bad_weights_message():
    with pytest.raises(EngineError, match=r"^calibration weights must be one finite, non-negative number per pair, not all 0$"):
        best_threshold([0.1, 0.5], [False, True], weights=[1, -1])


def test_the_all_same_cut_wins_with_small_weights():
    """Weights 0.1 (total 0.4), all same: calling every pair same (all 0.4 right) beats any other cut."""
    assert best_threshold([0.2, 0.4, 0.6, 0.8], [True] * 4, weights=[0.1] * 4) == pytest.approx(0.2 - 1e-6)
    # one different pair at the bottom, weight 0.05: cutting above it (0.45 right) beats calling all same (0.4)
    assert best_threshold([0.1, 0.2, 0.4], [False, True, True], weights=[0.05, 0.2, 0.2]) == pytest.approx(0.15)


def test_the_threshold_never_splits_equal_scores():
    """0.3 D | 0.5 D, 0.5 S, 0.5 S | 0.7 S: cutting inside the three 0.5s would get all right, but they cannot be
    told apart; the best real cut is 0.4 (4 of 5). Small weights (0.1 each) too: a forbidden cut never wins."""
    from calibration_reference_kit import brute_threshold

    scores, same = [0.3, 0.5, 0.5, 0.5, 0.7], [False, False, True, True, True]
    assert brute_threshold(scores, same) == pytest.approx(0.4)
    assert best_threshold(scores, same) == pytest.approx(0.4)
    assert best_threshold(scores, same, weights=[0.1] * 5) == pytest.approx(0.4)


def test_probabilities_are_float64_and_messages_name_the_fix():
    from engine.calibrate.platt import PairCalibration

    record = {"method": "platt", "a": 4.0, "b": -2.0}
    scores = np.array([0.5, 0.25], dtype=np.float32)
    assert probability(scores, record).dtype == np.float64
    stored = PairCalibration.from_stored(0.5, record)
    assert stored.probability(scores).dtype == np.float64 and stored.anchor is None
    with pytest.raises(EngineError, match=r"^the model has no Platt calibration; run `engine calibrate` to calibrate it$"):
        probability([0.5], {"method": "isotonic"})
    with pytest.raises(EngineError, match=r"^unknown calibration method 'isotonic'; run `engine calibrate` to re-fit it$"):
        PairCalibration.from_stored(0.5, {"method": "isotonic", "a": 1.0, "b": 0.0})
