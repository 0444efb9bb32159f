"""Closed-form projections of trunk features fitted on training artists (numpy; no gradients).

standardize: z = (x - mean) / sd per feature.
PCA whitening to `dims`: y = (z @ V_d) / sqrt(lambda_d + eps).
Within-class whitening (WCCN) with shrinkage s: W = (S_w')^(-1/2), S_w' = (1 - s) S_w + s * mean(diag S_w) I,
S_w the average over artists of each artist's covariance (every artist weighs the same, so a painter
with 800 works does not define the space). LDA: then the `lda_dims` directions of largest
between-artist variance. The result is one affine map x -> (x - mean) @ A, stored as a Linear layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProjectionConfig:
    pca_dims: int = 512  # after standardising; 0 = keep all
    shrinkage: float = 0.3  # of the within-artist covariance towards its mean variance
    lda_dims: int = 0  # 0 = keep every whitened dimension (WCCN only)
    eps: float = 1e-6


def _class_balanced_cov(y: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(within-artist covariance averaged over artists, artist means (A, D))."""
    classes = np.unique(labels)
    means = np.stack([y[labels == c].mean(axis=0) for c in classes])
    within = np.zeros((y.shape[1], y.shape[1]))
    for c, mu in zip(classes, means):
        d = y[labels == c] - mu
        within += d.T @ d / max(len(d), 1)
    return within / len(classes), means


def top_eigenpairs(cov: np.ndarray, k: int, *, iterations: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The k largest eigenpairs of a symmetric PSD (F, F) matrix, descending -> ((k,), (F, k)).

    k = F: exact (eigh). Otherwise randomized subspace iteration (Halko et al. 2011) on k + 16
    vectors: a full eigh of F = 2256 takes ~25 s on a busy 2-core CPU, this ~1 s."""
    if k >= cov.shape[0]:
        lam, vec = np.linalg.eigh(cov)
        return lam[::-1], vec[:, ::-1]
    q = np.random.default_rng(seed).standard_normal((cov.shape[0], min(k + 16, cov.shape[0])))
    for _ in range(iterations):
        q, _ = np.linalg.qr(cov @ q)
    lam, small = np.linalg.eigh(q.T @ cov @ q)
    return lam[::-1][:k], (q @ small)[:, ::-1][:, :k]


def fit_projection(x: np.ndarray, labels: np.ndarray, config: ProjectionConfig = ProjectionConfig()) -> tuple[np.ndarray, np.ndarray]:
    """(N, F) features, (N,) artist labels -> (mean (F,), A (F, D)) with projection (x - mean) @ A."""
    x = np.asarray(x, dtype=np.float32)
    mean, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / sd
    dims = min(config.pca_dims or z.shape[1], z.shape[1], len(z))
    lam, vec = top_eigenpairs(z.T @ z / max(len(z) - 1, 1), dims)
    a = (vec / sd[:, None]) / np.sqrt(np.maximum(lam, 0) + config.eps)  # standardise + PCA-whiten, as one matrix
    y = (x - mean) @ a
    within, means = _class_balanced_cov(y, labels)
    within = (1 - config.shrinkage) * within + config.shrinkage * np.mean(np.diag(within)) * np.eye(dims)
    w_val, w_vec = np.linalg.eigh(within)
    a = a @ (w_vec / np.sqrt(np.maximum(w_val, config.eps)))  # within-artist whitening
    if config.lda_dims:
        centred = (means - means.mean(axis=0)) @ (w_vec / np.sqrt(np.maximum(w_val, config.eps)))
        _, _, b_vt = np.linalg.svd(centred, full_matrices=False)
        a = a @ b_vt[: config.lda_dims].T
    return mean.astype(np.float32), a.astype(np.float32)
