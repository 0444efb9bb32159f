"""verify_pair: cosine, Platt probability, decision at the model's threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.inference.verify import cosine, verify_pair
from indexer_kit import CALIBRATION, THRESHOLD, cached_load_model, painting, write_model


def test_same_image_is_the_same_artist(tmp_path, tiny_model):
    a = painting(tmp_path / "a.jpg", colour=(200, 30, 30), seed=1)
    result = verify_pair(a, a, model=tiny_model)
    assert result["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert result["probability"] == pytest.approx(1 / (1 + math.exp(-(CALIBRATION["a"] + CALIBRATION["b"]))), abs=1e-4)
    assert result["same_artist"] is True and result["threshold"] == THRESHOLD


def test_similarity_is_the_cosine_of_the_embeddings(tmp_path, tiny_model):
    from engine.inference.embedding import embed_image

    a = painting(tmp_path / "a.jpg", colour=(200, 30, 30), seed=1)
    b = painting(tmp_path / "b.png", colour=(30, 30, 200), seed=2, fmt="PNG")
    lm = cached_load_model(tiny_model)
    va, vb = embed_image(lm, a), embed_image(lm, b)
    result = verify_pair(a, b, model=tiny_model)
    want = float(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))
    assert result["similarity"] == pytest.approx(want, abs=1e-5)
    assert result["same_artist"] == (want >= THRESHOLD)


def test_uncalibrated_model_is_refused(tmp_path):
    model = write_model(tmp_path / "raw" / "model.pt", calibrated=False)
    a = painting(tmp_path / "a.jpg", colour=(1, 2, 3), seed=0)
    with pytest.raises(EngineError, match="has no threshold or calibration yet; calibrate it with `engine calibrate"):
        verify_pair(a, a, model=model)


def test_bad_images(tmp_path, tiny_model):
    a = painting(tmp_path / "a.jpg", colour=(1, 2, 3), seed=0)
    with pytest.raises(EngineError, match="image not found"):
        verify_pair(a, tmp_path / "missing.jpg", model=tiny_model)
    (tmp_path / "x.jpg").write_bytes(b"\xff\xd8garbage")
    with pytest.raises(EngineError, match="cannot read image"):
        verify_pair(tmp_path / "x.jpg", a, model=tiny_model)


def test_cosine_edge_cases():
    assert cosine(np.array([1.0, 0]), np.array([0, 2.0])) == 0.0
    assert cosine(np.zeros(2), np.ones(2)) == 0.0
    assert cosine(np.array([1.0, 1]), np.array([2.0, 2])) == pytest.approx(1.0)


def test_non_finite_embedding_is_an_error(tmp_path, tiny_model, monkeypatch):
    import engine.inference.verify as verify

    monkeypatch.setattr(verify, "embed_image", lambda lm, path: np.full(32, np.nan, np.float32))
    a = painting(tmp_path / "a.jpg", colour=(1, 2, 3), seed=0)
    with pytest.raises(EngineError, match="NaN/inf"):
        verify_pair(a, a, model=tiny_model)
    assert np.isnan(cosine(np.array([np.nan, 1.0]), np.ones(2)))


def test_decision_is_uncertain_inside_the_band_and_follows_same_artist_without_one(tmp_path):
    from engine.model.checkpoint import update_calibration

    a = painting(tmp_path / "a.jpg", colour=(200, 30, 30), seed=1)
    b = painting(tmp_path / "b.jpg", colour=(190, 40, 30), seed=2)
    model = write_model(tmp_path / "m" / "model.pt")  # calibrated before the band existed: no band
    plain = verify_pair(a, b, model=model)
    assert plain["band"] is None and plain["decision"] == ("same" if plain["same_artist"] else "different")
    p = plain["probability"]
    around = {"low": max(p - 0.05, 0.0), "high": min(p + 0.05, 1.0)}
    if not around["low"] <= 0.5 <= around["high"]:
        around = {"low": min(around["low"], 0.5), "high": max(around["high"], 0.5)}
    update_calibration(model, threshold=THRESHOLD, calibration={**CALIBRATION, "band": around})
    banded = verify_pair(a, b, model=model)
    assert banded["decision"] == "uncertain" and banded["same_artist"] == plain["same_artist"]
    assert banded["band"] == pytest.approx(around, abs=1e-6)
    update_calibration(model, threshold=THRESHOLD, calibration={**CALIBRATION, "band": {"low": 0.0, "high": 0.0}})
    assert verify_pair(a, b, model=model)["decision"] == "same"  # every probability is at or above high = 0
