"""ENGINE_RUNTIME=onnx: the same embeddings as torch (cosine >= 0.999999), exported once per model."""

from __future__ import annotations

import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.inference.embedding import embed_paths
from engine.inference.model_cache import cached_model, clear_model_cache
from engine.inference.onnx_runtime import OnnxForward, resolve_runtime, with_runtime
from indexer_kit import cached_load_model, painting
from require_kit import require_module

require_module("onnxruntime")
require_module("onnx")


def test_onnx_embeddings_equal_torch_and_the_export_is_cached(tmp_path, tiny_model):
    images = [painting(tmp_path / f"{i}.jpg", colour=(40 * i, 90, 200 - 40 * i), seed=i, size=64 + 13 * i) for i in range(4)]
    lm = cached_load_model(tiny_model)
    onnx_lm = with_runtime(lm, "onnx", cache_dir=tmp_path / "cache")
    assert isinstance(onnx_lm.model, OnnxForward) and onnx_lm.fingerprint == lm.fingerprint
    ours = embed_paths(onnx_lm, images, batch_size=3, num_workers=0).vectors  # batches of 3 and 1: dynamic batch
    ref = embed_paths(lm, images, batch_size=4, num_workers=0).vectors
    cosine = (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() >= 0.999999
    (exported,) = (tmp_path / "cache").glob("*.onnx")
    stamp = exported.stat().st_mtime_ns
    with_runtime(lm, "onnx", cache_dir=tmp_path / "cache")
    assert exported.stat().st_mtime_ns == stamp


def test_runtime_from_the_environment(monkeypatch, tiny_model):
    assert resolve_runtime() == "torch" and with_runtime(cached_load_model(tiny_model)) is cached_load_model(tiny_model)
    monkeypatch.setenv("ENGINE_RUNTIME", "ONNX")
    xdg = tiny_model.parent / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    clear_model_cache()
    try:
        assert isinstance(cached_model(tiny_model).model, OnnxForward)
        assert list(xdg.rglob("*.onnx"))
    finally:
        clear_model_cache()
    monkeypatch.setenv("ENGINE_RUNTIME", "tensorrt")
    with pytest.raises(EngineError, match="unknown runtime 'tensorrt'"):
        resolve_runtime()
