"""Inference fixtures: one small calibrated model per session (the indexer tests build the same one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer_kit import session_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A calibrated 32-d model.pt (efficientnet_lite0 + linear head), built once per session."""
    return session_model(tmp_path_factory)
