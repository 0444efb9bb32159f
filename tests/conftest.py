"""Shared fixtures: tiny generated images in tmp_path; the real paintings folder when present."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Shared test kits (tiny generated collections, models and indexes) import by bare name from any test folder.
sys.path.insert(0, str(Path(__file__).resolve().parent / "kits"))

ARTDATA = Path(__file__).resolve().parents[1].parent / "shared" / "artdata"


def make_image(path: Path, *, size=(64, 48), color=None, seed: int = 0, mode: str = "RGB", fmt: str | None = None) -> Path:
    """Write a small noisy image; `color` fixes the base colour, `seed` the noise."""
    rng = np.random.default_rng(seed)
    base = np.array(color if color is not None else rng.integers(0, 255, 3), dtype=np.float64)
    arr = np.clip(base + rng.normal(0, 40, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    im = Image.fromarray(arr, "RGB")
    if mode != "RGB":
        im = im.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format=fmt)
    return path


@pytest.fixture
def image_factory(tmp_path):
    def factory(name: str, **kwargs) -> Path:
        return make_image(tmp_path / name, **kwargs)

    return factory


@pytest.fixture(scope="session")
def artdata() -> Path:
    if not (ARTDATA / "train_info.csv").is_file():
        pytest.skip("../shared/artdata is not present")
    return ARTDATA


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_url(request, tmp_path) -> str:
    """An empty catalog's URL, once per database: a SQLite file in tmp_path, then a fresh PostgreSQL database
    on the server at $ENGINE_TEST_PG_URL (skipped without it, failed in CI: tests/kits/catalog_kit.py)."""
    from catalog_kit import fresh_catalog

    with fresh_catalog(request.param, tmp_path) as url:
        yield url


def pytest_terminal_summary(terminalreporter, config) -> None:
    """CI shows the PostgreSQL half passing, with its count (issue 15), and the random order's seed
    (pytest-randomly; `-q` hides its header line): `pytest -p randomly --randomly-seed=N` replays the order of the
    tests within each file; under `-n 2 --dist loadfile` (CI) which files share a worker depends on timing."""
    from catalog_kit import postgres_summary

    terminalreporter.write_line(postgres_summary(terminalreporter.stats))
    seed = getattr(config.option, "randomly_seed", None)
    if seed is not None and config.pluginmanager.has_plugin("randomly"):
        terminalreporter.write_line(f"random test order: replay it with --randomly-seed={seed} (each file's own order)")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test touches the real user data folder or downloads weights."""
    monkeypatch.setenv("ENGINE_HOME", str(tmp_path / "engine-home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("ENGINE_DB_URL", raising=False)
    os.environ.setdefault("OMP_NUM_THREADS", "2")
