"""Fixtures of the reliability suite: the hostile corpus laid out as an artist-per-folder source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from hostile import HostileCase, build_corpus, noise_image, _save

HOSTILE_ARTIST = "Hostile Artist"
PLAIN_ARTISTS = ("Artist A", "Artist B", "Artist C")


@dataclass(frozen=True)
class HostileSource:
    """`root/<artist>/...`: the corpus under HOSTILE_ARTIST plus 3 plain artists of 3 images each."""

    root: Path
    cases: list[HostileCase]
    plain: list[Path]

    @property
    def good(self) -> list[HostileCase]:
        return [c for c in self.cases if c.good]

    @property
    def bad(self) -> list[HostileCase]:
        return [c for c in self.cases if not c.good]


def build_source(root: Path) -> HostileSource:
    cases = build_corpus(root / HOSTILE_ARTIST)
    plain = [
        _save(root / artist / f"work {i}.jpg", noise_image((64, 56), seed=100 + 10 * a + i), "JPEG")
        for a, artist in enumerate(PLAIN_ARTISTS)
        for i in range(3)
    ]
    return HostileSource(root, cases, plain)


@pytest.fixture
def hostile_source(tmp_path) -> HostileSource:
    return build_source(tmp_path / "source")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """One small model.pt (32-d) for the whole session."""
    from tiny_model import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("model") / "model.pt")


@pytest.fixture(scope="session")
def tiny_model_16d(tmp_path_factory) -> Path:
    """Another model with a different embedding size (16-d)."""
    from tiny_model import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("model16") / "model.pt", embedding_dim=16, seed=1)


def patch_fast_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """index/query/verify embed with `tiny_model.CheapNet` (after a real, cached load_model).

    For tests about files, catalogs and crashes, where the trunk's convolutions only cost time;
    the CLI pass (test_cli_hostile) and the concurrency subprocesses run the real network.
    """
    import engine.inference.model_cache
    import indexer.pipeline
    from tiny_model import load_fast

    for module in (indexer.pipeline, engine.inference.model_cache):  # query and verify load through the model cache
        monkeypatch.setattr(module, "load_model", load_fast)
    engine.inference.model_cache.clear_model_cache()
    monkeypatch.setattr(engine.inference.model_cache, "_cache", type(engine.inference.model_cache._cache)())


@pytest.fixture
def fast_models(monkeypatch):
    patch_fast_models(monkeypatch)
