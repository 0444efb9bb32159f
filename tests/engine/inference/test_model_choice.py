"""Without an index: --model, then the home's trained model (never a demo's), then the shipped one."""

from __future__ import annotations

import logging
import shutil

import pytest
from indexer_kit import write_model

from engine.base.errors import EngineError
from engine.base.home import DEMO_MODEL_PREFIX, Home
from engine.data.provenance import mark_synthetic
from engine.inference.model_choice import ModelChoice, choose_model, warn_if_synthetic
from engine.model.checkpoint import load_model


@pytest.fixture
def shipped(tmp_path, monkeypatch, tiny_model):
    """A stand-in for the shipped model (the real one is checked in tests/benchmarks/test_ship_model.py)."""
    path = tmp_path / "package" / "default.pt"
    path.parent.mkdir()
    shutil.copy(tiny_model, path)
    monkeypatch.setattr("engine.model.shipped.SHIPPED_MODEL", path)
    return path


def test_the_order_is_option_then_home_then_shipped(tmp_path, shipped, tiny_model):
    home = Home.resolve(tmp_path / "home")
    assert choose_model(home) == ModelChoice(shipped, "shipped")
    trained = write_model(home.models_dir / "20260101-000000" / "model.pt", seed=2, embedding_dim=8)
    assert choose_model(home) == ModelChoice(trained, "home")
    assert choose_model(home, tiny_model) == ModelChoice(tiny_model, "option")


def test_without_a_shipped_model_a_fresh_home_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setattr("engine.model.shipped.SHIPPED_MODEL", tmp_path / "absent.pt")
    with pytest.raises(EngineError, match="no trained model in .*run `engine train DATA_DIR"):
        choose_model(Home.resolve(tmp_path / "home"))


def test_a_demo_model_never_becomes_the_default(tmp_path, shipped):
    home = Home.resolve(tmp_path / "home")
    demo = write_model(home.models_dir / f"{DEMO_MODEL_PREFIX}20260101-000000" / "model.pt", seed=3, embedding_dim=8)
    assert choose_model(home).source == "shipped"  # neither as the newest file ...
    home.set_current_model(demo)
    assert choose_model(home).source == "shipped"  # ... nor when a pointer names it


def test_describe_names_the_model_used(tmp_path, shipped):
    choice = choose_model(Home.resolve(tmp_path / "home"))
    described = choice.describe(load_model(choice.path))
    assert described["source"] == "shipped" and described["path"] == str(shipped)
    assert described["name"].startswith("artwork-engine default (efficientnet_lite0")


def test_a_synthetic_model_warns_once_on_real_files(tmp_path, tiny_model, caplog):
    lm = load_model(tiny_model)
    generated = tmp_path / "gen"
    generated.mkdir()
    mark_synthetic(generated)
    synthetic_lm = type(lm)(**{**lm.__dict__, "trained_on": {"synthetic": True, "painters": 5}})
    with caplog.at_level(logging.WARNING, logger="engine.inference.model_choice"):
        assert warn_if_synthetic(synthetic_lm, [generated / "a.jpg"]) is False  # generated files: fine
        assert warn_if_synthetic(lm, [tmp_path / "real.jpg"]) is False  # a real model: fine
        assert warn_if_synthetic(synthetic_lm, [generated / "a.jpg", tmp_path / "real.jpg"]) is True
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "trained on generated paintings" in warnings[0].getMessage()
    assert "real.jpg" in warnings[0].getMessage()
