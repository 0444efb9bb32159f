"""A process-level cache of loaded models, keyed by the file's identity on disk.

A live process (a notebook, a service) that calls `query_images` or `verify_pair` again and again
pays the model load once (rebuilding the network, reading the weights and re-hashing them for the
fingerprint cost about as much as embedding the query itself). The key is (resolved path, device,
inode, size, mtime_ns): a model re-written by `engine train` or `engine evaluate` (which stores the
threshold and calibration in the file) is loaded afresh on the next call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import torch

from engine.base.runtime import torch_threads
from engine.inference.onnx_runtime import resolve_runtime, with_runtime
from engine.model.checkpoint import LoadedModel, load_model, model_file, resolve_device

MAX_MODELS = 2  # a query model and, at most, one other being compared with it

_cache: OrderedDict[tuple, LoadedModel] = OrderedDict()
_lock = threading.Lock()


def cached_model(path: str | Path, *, device: str | torch.device | None = None) -> LoadedModel:
    """`load_model(path, device=device)` on the runtime $ENGINE_RUNTIME names (engine.inference.onnx_runtime),
    reusing the last load while the file is unchanged."""
    runtime = resolve_runtime()
    key = (*_key(path, device), runtime)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with torch_threads(1):  # loading runs one tiny probe forward: see engine.inference.forward_plan.small_job_plan
        lm = with_runtime(load_model(path, device=device), runtime)
    with _lock:
        _cache[key] = lm
        while len(_cache) > MAX_MODELS:
            _cache.popitem(last=False)
    return lm


def clear_model_cache() -> None:
    with _lock:
        _cache.clear()


def _key(path: str | Path, device: str | torch.device | None) -> tuple:
    resolved = model_file(path).resolve()
    try:
        st = resolved.stat()
    except OSError:
        return (str(resolved), None)  # load_model reports the missing/unreadable file
    return (str(resolved), str(resolve_device(device)), st.st_ino, st.st_size, st.st_mtime_ns)
