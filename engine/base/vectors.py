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


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of `a` (P, D) with the same row of `b` -> (P,) float64 in [-1, 1]:
    the one place a cosine is computed (a zero row gives 0)."""
    unit_a, unit_b = l2_normalize(a, dtype=np.float64), l2_normalize(b, dtype=np.float64)
    return np.clip(np.einsum("pd,pd->p", unit_a, unit_b), -1.0, 1.0)


def cosine_scores(emb: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Cosine similarity of rows emb[i] and emb[j] -> (P,) float64 in [-1, 1]."""
    emb = np.asarray(emb)
    return cosine_rows(emb[np.asarray(i)], emb[np.asarray(j)])
