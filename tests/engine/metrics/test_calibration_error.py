"""ECE and the reliability table by hand, on labels where inverting them changes every bin."""

from __future__ import annotations

import numpy as np
import pytest

from engine.metrics.calibration_error import expected_calibration_error, reliability_table

# bins of width 0.1: 0.05 | 0.15 0.15 | 0.65 | 0.85 | 0.95 0.95
PROB = np.array([0.05, 0.15, 0.15, 0.65, 0.85, 0.95, 0.95])
SAME = np.array([False, False, True, True, True, True, False])


def test_ece_by_hand_on_asymmetric_bins():
    # |0.05 - 0| + 2 |0.15 - 0.5| + |0.65 - 1| + |0.85 - 1| + 2 |0.95 - 0.5|, over 7 pairs
    assert expected_calibration_error(PROB, SAME) == pytest.approx((0.05 + 0.7 + 0.35 + 0.15 + 0.9) / 7)
    # the same with the labels inverted: |0.05 - 1| + 0.7 + |0.65 - 0| + |0.85 - 0| + 0.9
    assert expected_calibration_error(PROB, ~SAME) == pytest.approx((0.95 + 0.7 + 0.65 + 0.85 + 0.9) / 7)


def test_ece_with_five_bins_and_a_probability_of_one():
    prob = np.array([0.1, 0.3, 0.5, 1.0])  # bins [0, .2) [.2, .4) [.4, .6) and 1.0 in the last one [.8, 1]
    same = np.array([False, False, True, True])
    assert expected_calibration_error(prob, same, bins=5) == pytest.approx((0.1 + 0.3 + 0.5 + 0.0) / 4)


def test_reliability_table_by_hand():
    table = reliability_table(PROB, SAME)
    assert [(r["lo"], r["count"]) for r in table] == [(0.0, 1), (0.1, 2), (0.6, 1), (0.8, 1), (0.9, 2)]
    assert [r["fraction_same"] for r in table] == [0.0, 0.5, 1.0, 1.0, 0.5]
    assert [r["mean_probability"] for r in table] == pytest.approx([0.05, 0.15, 0.65, 0.85, 0.95])


def test_default_is_ten_bins():
    # 0.08 and 0.095 share bin [0, 0.1) of 10 bins (|0.0875 - 0.5|); 11 or 9 bins would split or regroup them
    assert expected_calibration_error([0.08, 0.095], [True, False]) == pytest.approx(0.4125)
    assert expected_calibration_error([0.08, 0.095], [True, False], bins=11) == pytest.approx((0.92 + 0.095) / 2)


def test_ece_bins_the_pairs_with_the_given_number_of_bins():
    # 4 bins: [0.3, 0.45] share [0.25, 0.5): |0.375 - 0.5|; 0.8 alone in [0.75, 1]: |0.8 - 0|
    prob, same = [0.3, 0.45, 0.8], [True, False, False]
    assert expected_calibration_error(prob, same, bins=4) == pytest.approx((2 * 0.125 + 0.8) / 3)
    table = reliability_table(prob, same, bins=4)
    assert [(r["lo"], r["hi"], r["count"]) for r in table] == [(0.25, 0.5, 2), (0.75, 1.0, 1)]


def test_a_wrong_probability_of_one_counts_in_the_last_bin():
    # all three in [0.9, 1]: |mean(1, 1, 0.95) - 2/3|
    assert expected_calibration_error([1.0, 1.0, 0.95], [False, True, True]) == pytest.approx(abs(2.95 / 3 - 2 / 3))
    assert [(r["lo"], r["hi"], r["count"]) for r in reliability_table([1.0, 0.0], [False, False])] == [(0.0, 0.1, 1), (0.9, 1.0, 1)]


def test_reliability_table_bins_have_their_bounds():
    table = reliability_table(PROB, SAME)
    bounds = [x for r in table for x in (r["lo"], r["hi"])]
    assert bounds == pytest.approx([0.0, 0.1, 0.1, 0.2, 0.6, 0.7, 0.8, 0.9, 0.9, 1.0])


def test_scored_pairs_flattens_and_refuses_empty_or_unequal_inputs():
    from engine.base.errors import EngineError
    from engine.metrics.calibration_error import scored_pairs

    values, same = scored_pairs([[1, 0]], np.array([[1], [0]]))
    assert values.dtype == np.float64 and same.dtype == bool and values.shape == same.shape == (2,)
    assert values.tolist() == [1.0, 0.0] and same.tolist() == [True, False]
    for bad in (([], []), ([0.5, 0.6], [True]), ([0.5], [True, False])):
        with pytest.raises(EngineError, match=r"^calibration needs a non-empty set of scored pairs$"):
            scored_pairs(*bad)
        with pytest.raises(EngineError, match="non-empty set of scored pairs"):
            expected_calibration_error(*bad)


def test_a_value_below_zero_falls_in_the_first_bin_as_one_falls_in_the_last():
    prob, same = np.array([-0.2, 0.95]), np.array([False, True])
    assert expected_calibration_error(prob, same, bins=10) == pytest.approx((0.2 + 0.05) / 2, abs=1e-15)
    assert [row["count"] for row in reliability_table(prob, same, bins=10) if row["count"]] == [1, 1]
