"""query_images: a calibrated probability per likely artist and an `unknown` per result."""

from __future__ import annotations

import shutil

import pytest

from engine.calibrate.attribution import AttributionCalibration
from engine.model.checkpoint import read_checkpoint, update_calibration
from indexer.pipeline import index_folder
from indexer.search import query_images
from indexer_kit import CALIBRATION


@pytest.fixture
def indexed(art, home, tiny_model):
    index_folder(art, home=home, model=tiny_model)
    return art, home, tiny_model


def _check_rule(result, cal: AttributionCalibration):
    named, unknown = cal.probabilities([m["similarity"] for m in result["matches"]], [m["artist"] for m in result["matches"]])
    assert result["unknown"] == pytest.approx(unknown, abs=1e-6)
    for row in result["artists"]:
        assert set(row) == {"artist", "score", "probability"}
        assert row["probability"] == pytest.approx(named.get(row["artist"], 0.0), abs=1e-6)  # 0 beyond the first k
    assert sum(r["probability"] for r in result["artists"]) + result["unknown"] == pytest.approx(1.0, abs=1e-5)


def test_model_without_attribution_calibration_keeps_todays_answer_with_nulls(indexed):
    art, home, model = indexed
    assert read_checkpoint(model).get("attribution") is None  # as every model saved before open-set attribution
    (result,) = query_images([art / "Ann Red" / "1.jpg"], home=home, model=model, k=5)["results"]
    assert result["unknown"] is None and result["artists"]
    assert all(r["probability"] is None and r["score"] >= 0 for r in result["artists"])


def test_stored_attribution_calibration_is_used(indexed, tmp_path):
    art, home, model = indexed
    copy = tmp_path / "calibrated" / "model.pt"
    copy.parent.mkdir()
    shutil.copy(model, copy)
    cal = AttributionCalibration(w_best=4.0, w_vote=3.0, bias=-6.0, k=4)
    update_calibration(copy, threshold=0.6, calibration=CALIBRATION, attribution=cal.to_dict())
    (result,) = query_images([art / "Bob Green" / "2.jpg"], home=home, model=copy, k=6)["results"]
    _check_rule(result, cal)  # only the first k=4 of the 6 matches feed the rule
    assert len(result["matches"]) == 6
