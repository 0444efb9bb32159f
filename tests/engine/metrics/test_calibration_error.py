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
