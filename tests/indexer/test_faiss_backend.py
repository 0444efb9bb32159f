import sys
import types

import pytest

from engine.base.errors import MissingDependencyError
from indexer import faiss_backend


@pytest.fixture
def fresh_cache():
    faiss_backend.faiss_module.cache_clear()
    yield
    faiss_backend.faiss_module.cache_clear()


def test_missing_faiss_is_one_clear_line(monkeypatch, fresh_cache):
    monkeypatch.setitem(sys.modules, "faiss", None)  # makes `import faiss` raise ImportError
    with pytest.raises(MissingDependencyError) as info:
        faiss_backend.faiss_module()
    assert str(info.value) == "faiss is not installed: pip install 'artwork-engine[cpu]' (or [gpu] with CUDA)"


def test_gpu_detection_is_explicit(monkeypatch):
    cpu_only = types.SimpleNamespace(__version__="x")
    monkeypatch.setattr(faiss_backend, "faiss_module", lambda: cpu_only)
    assert faiss_backend.gpu_count() == 0
    with_gpus = types.SimpleNamespace(get_num_gpus=lambda: 2, index_cpu_to_all_gpus=lambda i: i)
    monkeypatch.setattr(faiss_backend, "faiss_module", lambda: with_gpus)
    assert faiss_backend.gpu_count() == 2
    monkeypatch.setenv("ENGINE_FAISS_GPU", "0")
    assert faiss_backend.gpu_count() == 0


def test_this_machine_searches_on_cpu():
    assert faiss_backend.gpu_count() == 0
