"""engine.inference.model_cache: one load per unchanged file, a fresh load when the file changes."""

from __future__ import annotations

import os
import threading

import pytest
import torch

from engine.inference import model_cache
from engine.base.errors import EngineError
from indexer_kit import session_model


@pytest.fixture
def counted_loads(monkeypatch):
    calls = []
    real = model_cache.load_model

    def load(path, *, device=None):
        calls.append(str(path))
        return real(path, device=device)

    monkeypatch.setattr(model_cache, "load_model", load)
    model_cache.clear_model_cache()
    yield calls
    model_cache.clear_model_cache()


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return session_model(tmp_path_factory, embedding_dim=16)


def test_unchanged_file_is_loaded_once(counted_loads, model_path):
    first = model_cache.cached_model(model_path, device="cpu")
    again = model_cache.cached_model(model_path.parent, device="cpu")  # the folder names the same file
    assert again is first
    assert len(counted_loads) == 1


def test_rewritten_file_is_loaded_again(counted_loads, model_path, tmp_path):
    copy = tmp_path / "model.pt"
    copy.write_bytes(model_path.read_bytes())
    first = model_cache.cached_model(copy, device="cpu")
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = model_cache.cached_model(copy, device="cpu")
    assert second is not first
    assert len(counted_loads) == 2


def test_damaged_file_is_refused_not_served_from_cache(counted_loads, model_path, tmp_path):
    copy = tmp_path / "model.pt"
    copy.write_bytes(model_path.read_bytes())
    model_cache.cached_model(copy, device="cpu")
    copy.write_bytes(b"not a checkpoint")
    with pytest.raises(EngineError):
        model_cache.cached_model(copy, device="cpu")


def test_missing_file_is_an_engine_error(counted_loads, tmp_path):
    with pytest.raises(EngineError, match="model not found"):
        model_cache.cached_model(tmp_path / "absent.pt", device="cpu")


def test_cache_holds_at_most_max_models(counted_loads, model_path, tmp_path):
    copies = []
    for i in range(model_cache.MAX_MODELS + 1):
        copy = tmp_path / f"m{i}" / "model.pt"
        copy.parent.mkdir()
        copy.write_bytes(model_path.read_bytes())
        copies.append(copy)
        model_cache.cached_model(copy, device="cpu")
    model_cache.cached_model(copies[-1], device="cpu")  # newest: still cached
    assert len(counted_loads) == model_cache.MAX_MODELS + 1
    model_cache.cached_model(copies[0], device="cpu")  # oldest: evicted, loaded again
    assert len(counted_loads) == model_cache.MAX_MODELS + 2


def test_one_cached_model_serves_threads_at_once(counted_loads, model_path):
    """Concurrent forwards through the shared model give each thread its own answer."""
    lm = model_cache.cached_model(model_path, device="cpu")
    images = [torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    with torch.inference_mode():
        expected = [lm.model(x) for x in images]
    results: dict[int, list[torch.Tensor]] = {i: [] for i in range(4)}

    def work(i: int) -> None:
        with torch.inference_mode():
            for _ in range(5):
                results[i].append(lm.model(images[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        for out in results[i]:
            torch.testing.assert_close(out, expected[i], rtol=1e-4, atol=1e-5)
