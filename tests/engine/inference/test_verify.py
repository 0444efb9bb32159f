"""verify_pair: cosine, Platt probability, decision at the model's threshold."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.inference.verify import cosine, verify_pair
from indexer_kit import CALIBRATION, THRESHOLD, cached_load_model, painting, write_model


def test_cosine_edge_cases():
    assert cosine(np.array([1.0, 0]), np.array([0, 2.0])) == 0.0
    assert cosine(np.zeros(2), np.ones(2)) == 0.0
    assert cosine(np.array([1.0, 1]), np.array([2.0, 2])) == pytest.approx(1.0)


def _calibrated(threshold=0.6, a=10.0, b=-6.0, path="/models/m.pt"):
    """A stand-in for a LoadedModel: what `verdict` reads (pair calibration, fingerprint, path)."""
    import types

    from engine.calibrate.platt import PairCalibration

    return types.SimpleNamespace(pair_calibration=PairCalibration(threshold, a, b), fingerprint="0123456789abcdef" * 4, path=path)


def test_verdict_by_hand_on_both_sides_of_the_threshold():
    from engine.inference.verify import verdict

    lm = _calibrated(threshold=0.6123456789)
    u = np.array([3.0, 4.0])  # |u| = 5
    above = verdict(lm, u, np.array([4.0, 3.0]))  # cos = 24 / 25 = 0.96
    assert above == {"similarity": 0.96, "probability": round(1 / (1 + math.exp(-(10 * 0.96 - 6))), 6),
                     "same_artist": True, "threshold": 0.612346, "model": "0123456789ab", "band": None, "decision": "same"}
    below = verdict(lm, u, np.array([5.0, 0.0]))  # cos = 3 / 5 = 0.6 < 0.6123...
    assert below["similarity"] == 0.6 and below["same_artist"] is False and below["decision"] == "different"
    assert below["probability"] == round(1 / (1 + math.exp(-(10 * 0.6 - 6))), 6) == 0.5


def test_verdict_rounds_to_six_places_and_decides_on_the_unrounded_cosine():
    from engine.inference.verify import verdict

    u, v = np.array([1.0, 0.0]), np.array([1.0, 1.2345678])  # cos = 1 / sqrt(1 + 1.2345678^2)
    want = 1 / math.sqrt(1 + 1.2345678**2)
    lm = _calibrated(threshold=want + 1e-9, a=7.0, b=-3.3)  # above the cosine by less than the rounding
    got = verdict(lm, u, v)
    assert got["similarity"] == round(want, 6) and got["similarity"] != want
    assert got["probability"] == round(1 / (1 + math.exp(-(7.0 * want - 3.3))), 6)
    assert got["same_artist"] is False and got["threshold"] == round(want + 1e-9, 6)
    at = verdict(_calibrated(threshold=float(np.float64(u @ v) / np.linalg.norm(v))), u, v)
    assert at["same_artist"] is True  # exactly at the threshold: the same hand


def test_verdict_refuses_a_non_finite_embedding_naming_the_model():
    from engine.inference.verify import verdict

    with pytest.raises(EngineError) as info:
        verdict(_calibrated(path="/models/bad.pt"), np.array([np.inf, 1.0]), np.ones(2))
    assert str(info.value) == "the model gave a NaN/inf embedding: /models/bad.pt is probably damaged; re-train or restore it"


def test_cosine_by_hand():
    assert cosine(np.array([1.0, 2.0, 2.0]), np.array([2.0, 0.0, 1.0])) == pytest.approx(4 / (3 * math.sqrt(5)), abs=1e-15)
    assert cosine(np.array([1.0, 0.0]), np.array([-3.0, 0.0])) == -1.0
    assert np.isnan(cosine(np.ones(2), np.array([1.0, np.nan])))
    assert isinstance(cosine(np.ones(2, np.float32), np.ones(2, np.float32)), float)


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


def test_non_finite_embedding_is_an_error(tmp_path, tiny_model, monkeypatch):
    import engine.inference.verify as verify

    monkeypatch.setattr(verify, "embed_image", lambda lm, path: np.full(32, np.nan, np.float32))
    a = painting(tmp_path / "a.jpg", colour=(1, 2, 3), seed=0)
    with pytest.raises(EngineError, match="NaN/inf"):
        verify_pair(a, a, model=tiny_model)
    assert np.isnan(cosine(np.array([np.nan, 1.0]), np.ones(2)))


def test_refusals_name_the_model_and_the_image(tmp_path, tiny_model):
    model = write_model(tmp_path / "raw" / "model.pt", calibrated=False)
    a = painting(tmp_path / "a.jpg", colour=(1, 2, 3), seed=0)
    with pytest.raises(EngineError) as info:
        verify_pair(a, a, model=model)
    assert str(info.value) == (f"model {model} has no threshold or calibration yet; "
                               f"calibrate it with `engine calibrate --model {model}`")
    with pytest.raises(EngineError) as info:
        verify_pair(a, tmp_path / "missing.jpg", model=tiny_model)
    assert str(info.value) == f"image not found: {tmp_path / 'missing.jpg'}; check the path"
    (tmp_path / "x.jpg").write_bytes(b"\xff\xd8garbage")
    with pytest.raises(EngineError) as info:
        verify_pair(tmp_path / "x.jpg", a, model=tiny_model)
    assert str(info.value).startswith(f"cannot read image {tmp_path / 'x.jpg'} (") and str(info.value).endswith(
        "); pass a readable image file (JPEG, PNG, ...)")


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


def test_verdict_reports_the_band_rounded_to_six_places():
    from engine.calibrate.platt import PairCalibration
    from engine.inference.verify import verdict

    lm = _calibrated()
    lm.pair_calibration = PairCalibration(0.6, 10.0, -6.0, record={"band": {"low": 0.1234567, "high": 0.7654321}})
    got = verdict(lm, np.array([3.0, 4.0]), np.array([5.0, 0.0]))  # cos 0.6: p = 0.5, inside the band
    assert got["band"] == {"low": 0.123457, "high": 0.765432} and got["decision"] == "uncertain"


def test_explain_writes_the_pairs_png_and_returns_its_maps(tmp_path, tiny_model):
    from engine.base.home import Home
    from engine.inference.explain import explain_paths
    from engine.inference.explain_image import explanation_png
    from engine.inference.model_cache import cached_model
    from engine.inference.model_choice import choose_model
    from PIL import Image

    a = painting(tmp_path / "a.jpg", colour=(200, 30, 30), seed=1)
    b = painting(tmp_path / "b.jpg", colour=(30, 30, 200), seed=2)
    png = tmp_path / "why.png"
    result = verify_pair(a, b, model=tiny_model, explain=png)
    want = explain_paths(cached_model(choose_model(Home.resolve(tmp_path / "h"), tiny_model).path), a, b)
    assert result["explanation"] == {**want.to_dict(), "png": str(png)}
    written, drawn = (np.asarray(Image.open(io.BytesIO(x)).convert("RGB"), dtype=np.int16)
                      for x in (png.read_bytes(), explanation_png(want, labels=("a.jpg", "b.jpg"))))
    assert written.shape == drawn.shape and np.abs(written - drawn).max() <= 8  # the same picture and labels (maps to float noise)
    plain = verify_pair(a, b, model=tiny_model)
    assert "explanation" not in plain and {k: v for k, v in result.items() if k != "explanation"} == plain


def test_model_used_names_the_model_chosen(tmp_path, tiny_model, monkeypatch):
    """--model is "option"; a ModelChoice made by the caller is kept as given; without either, the home's
    own trained model (never the one of $ENGINE_HOME)."""
    import shutil

    from engine.inference.model_choice import ModelChoice

    a = painting(tmp_path / "a.jpg", colour=(200, 30, 30), seed=1)
    given = verify_pair(a, a, model=tiny_model)
    assert given["model_used"]["source"] == "option" and given["model_used"]["fingerprint"] == given["model"]
    chosen = verify_pair(a, a, model=ModelChoice(tiny_model, "index"))
    assert chosen["model_used"]["source"] == "index" and chosen["model"] == given["model"]
    home = tmp_path / "home"
    (home / "models" / "m1").mkdir(parents=True)
    shutil.copy(tiny_model, home / "models" / "m1" / "model.pt")
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path / "elsewhere"))
    own = verify_pair(a, a, home=home)
    assert own["model_used"]["source"] == "home" and own["model_used"]["path"] == str(home / "models" / "m1" / "model.pt")
