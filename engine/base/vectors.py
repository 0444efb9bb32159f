"""Vector helpers shared by training, evaluation, indexing and search (numpy only)."""

from __future__ import annotations

import numpy as np


def l2_normalize(x: np.ndarray, *, dtype=np.float32) -> np.ndarray:
    """Rows of `x` (N, D) scaled to unit L2 norm, so cosine = inner product; zero rows stay zero.

    x / max(||x||, 1e-12), computed and returned in `dtype` (float32 for FAISS, float64 for metrics).
    """
    x = np.asarray(x, dtype=dtype)
    if x.ndim == 1:
        return x / max(float(np.linalg.norm(x)), 1e-12)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
