"""calibrate: cosines of the val pairs -> threshold and anchored Platt (pooled with held-out pairs), and the
open-set rule when labels are given; checked against the cosines and the cut computed here."""

from __future__ import annotations

import numpy as np
import pytest

from engine.calibrate.attribution import fit_attribution_calibration
from engine.calibrate.fit import Calibrated, calibrate
from engine.calibrate.held_out import HeldOutPairs, pooled_calibration
from engine.metrics.pair_sampling import Pairs

# four unit-ish vectors: cos(0, 1) = .96, cos(2, 3) = .6, cos(0, 2) = 0, cos(1, 3) = -.6 (i . j / |i| |j|)
EMB = np.array([[3.0, 4.0], [4.0, 3.0], [8.0, -6.0], [0.0, -5.0]])
PAIRS = Pairs(np.array([0, 2, 0, 1]), np.array([1, 3, 2, 3]), np.array([True, True, False, False]))


def test_threshold_is_the_best_cut_of_the_pairs_cosines_and_the_fit_is_anchored_there():
    cal = calibrate(EMB, PAIRS, source="val split")
    assert cal.threshold == pytest.approx((0.6 + 0.0) / 2)  # the gap between the lowest same and the highest different
    assert cal.calibration["anchor"] == cal.threshold and cal.calibration["b"] == pytest.approx(-cal.calibration["a"] * cal.threshold)
    assert cal.source == "val split" and cal.attribution is None
    want = pooled_calibration([0.96, 0.6, 0.0, -0.6], [True, True, False, False], None)
    assert (cal.threshold, cal.calibration) == (pytest.approx(want[0]), {k: pytest.approx(v) for k, v in want[1].items()})


def test_held_out_pairs_are_pooled_and_named_in_the_source():
    held = HeldOutPairs(np.array([0.5, 0.1, 0.45]), np.array([False, False, True]), artists=7, folds=3)
    cal = calibrate(EMB, PAIRS, source="val split", held_out=held)
    want = pooled_calibration([0.96, 0.6, 0.0, -0.6], [True, True, False, False], held)
    assert cal.threshold == pytest.approx(want[0]) and cal.calibration["held_out_artists"] == 7
    assert cal.source == "val split + held-out pairs of 7 training artists (3 cross-fitted heads)"
    assert cal.threshold != calibrate(EMB, PAIRS, source="val split").threshold  # the held-out pairs moved it


def test_labels_add_the_open_set_rule_fitted_with_the_seed_and_groups():
    rng = np.random.default_rng(0)
    labels = np.array([f"a{k % 6}" for k in range(48)])
    emb = rng.normal(size=(48, 6)) + 2.0 * np.eye(6)[[k % 6 for k in range(48)]]
    groups = np.array([str(k) for k in range(48)])
    cal = calibrate(emb, PAIRS, source="val", labels=labels, groups=groups, seed=3)
    assert isinstance(cal, Calibrated)
    assert cal.attribution == fit_attribution_calibration(emb, labels, seed=3, groups=groups)
    assert cal.attribution != fit_attribution_calibration(emb, labels, seed=4, groups=groups)
