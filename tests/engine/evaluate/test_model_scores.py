"""score_model's calibration block: the ECE of the stated probabilities against the true same-artist labels,
binned by hand (tests/kits/calibration_reference_kit.py)."""

from __future__ import annotations

import numpy as np
import pytest

from calibration_reference_kit import constructed_embeddings, hand_ece, pair_cosines, sigmoid
from engine.calibrate.fit import Calibrated
from engine.evaluate.config import EvaluateConfig
from engine.evaluate.model_scores import score_model
from engine.metrics.pair_sampling import Pairs


def test_reported_ece_is_against_the_true_labels():
    # 3 artists x 4 paintings: same-artist cosines 0.75-0.85, different 0.57-0.63
    emb, names = constructed_embeddings(3, 4, diff=(0.57, 0.63), margin=(0.18, 0.22), seed=0)
    i = np.array([0, 0, 0, 1, 1, 2, 4, 4, 5, 0, 1, 2, 8])  # 9 same-artist pairs, 4 different: asymmetric
    j = np.array([1, 2, 3, 2, 3, 3, 5, 6, 7, 4, 8, 9, 3])
    same = names[i] == names[j]
    assert same.sum() == 9
    cal = Calibrated(0.74, {"method": "platt", "a": 20.0, "b": -20.0 * 0.74, "anchor": 0.74}, "test")
    block, _ = score_model(emb, names, np.arange(len(names)).astype(str), Pairs(i, j, same), cal,
                           config=EvaluateConfig(bootstrap=20, triplets=50, knn=3))
    prob = sigmoid(20.0 * (pair_cosines(emb, i, j) - 0.74))
    expected = hand_ece(prob, same)
    assert abs(expected - hand_ece(prob, ~same)) > 0.1  # inverting the labels would show
    assert block["calibration"]["ece"] == pytest.approx(expected, abs=1e-9)
    assert sum(r["count"] for r in block["calibration"]["reliability"]) == len(i)
