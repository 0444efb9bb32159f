"""Indexer fixtures: one small model per session, tiny galleries per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer_kit import cached_load_model, gallery, session_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A calibrated 32-d model.pt (efficientnet_lite0 + linear head), built once per session."""
    return session_model(tmp_path_factory)


@pytest.fixture(scope="session")
def other_model(tmp_path_factory) -> Path:
    """A second model with other weights (another fingerprint), for mismatch tests."""
    return session_model(tmp_path_factory, "other-model", seed=1)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny batches gain nothing from 2 threads, and on a busy 2-core machine they lose 4x to contention."""
    from engine.base.runtime import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(autouse=True)
def _fast_model_loading(monkeypatch):
    for module in ("indexer.pipeline", "engine.inference.model_cache"):
        monkeypatch.setattr(f"{module}.load_model", cached_load_model)


@pytest.fixture
def art(tmp_path) -> Path:
    """tmp/art/<artist>/<n>.jpg: 3 artists x 4 images."""
    gallery(tmp_path / "art")
    return tmp_path / "art"


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"
