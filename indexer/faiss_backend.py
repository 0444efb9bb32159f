"""The one place that imports faiss: a clear error when it is missing, explicit GPU detection."""

from __future__ import annotations

import functools
import logging
import os
from types import ModuleType

from engine.base.errors import MissingDependencyError

logger = logging.getLogger(__name__)

INSTALL_HINT = "faiss is not installed: pip install 'artwork-engine[cpu]' (or [gpu] with CUDA)"


@functools.cache
def faiss_module() -> ModuleType:
    """The `faiss` module; MissingDependencyError (one line) when neither faiss-cpu nor faiss-gpu is installed."""
    try:
        import faiss
    except ImportError:
        raise MissingDependencyError(INSTALL_HINT) from None
    return faiss


def faiss_version() -> str:
    return str(getattr(faiss_module(), "__version__", "unknown"))


def gpu_count() -> int:
    """GPUs faiss can use: 0 with faiss-cpu (no `get_num_gpus`) or without CUDA devices.

    `ENGINE_FAISS_GPU=0` turns GPU search off.
    """
    if os.environ.get("ENGINE_FAISS_GPU", "1") == "0":
        return 0
    faiss = faiss_module()
    if not hasattr(faiss, "get_num_gpus") or not hasattr(faiss, "index_cpu_to_all_gpus"):
        return 0
    return int(faiss.get_num_gpus())
