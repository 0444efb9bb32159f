"""Generated embedding-like vectors for the search and memory benchmarks.

Uniform random points in 256-d are unrealistically hard for approximate search (every point is
about equally far from every other). Real embeddings are clustered (artists, styles) and have a
low intrinsic dimension, so the generator draws a Gaussian mixture in a `latent`-dimensional
space, maps it linearly to `dim` dimensions, adds a little isotropic noise and L2-normalises.
The defaults (100 clusters, spread 0.6) give a mean top-1 cosine of ~0.85 and need IVF to probe
~16 of ~1,300 lists for recall@10 >= 0.95 at 100k, a difficulty like public ANN sets (SIFT);
with 1000 tight clusters 2 lists would do, which would flatter approximate search.
"""

from __future__ import annotations

import numpy as np

from engine.base.vectors import l2_normalize


def clustered_vectors(
    n: int,
    *,
    dim: int = 256,
    clusters: int = 100,
    latent: int = 64,
    spread: float = 0.6,
    noise: float = 0.05,
    seed: int = 0,
    structure_seed: int = 1234,
    chunk: int = 200_000,
) -> np.ndarray:
    """(n, dim) float32, unit rows. Vectors and queries drawn with different `seed` but the same
    `structure_seed` come from the same mixture (same centres, same projection)."""
    structure = np.random.default_rng(structure_seed)
    centres = structure.standard_normal((clusters, latent)).astype(np.float32)
    weights = structure.dirichlet(np.full(clusters, 2.0))  # unequal cluster sizes, like artists
    projection = (structure.standard_normal((latent, dim)) / np.sqrt(latent)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        labels = rng.choice(clusters, size=m, p=weights)
        z = centres[labels] + spread * rng.standard_normal((m, latent), dtype=np.float32)
        x = z @ projection + noise * rng.standard_normal((m, dim), dtype=np.float32)
        out[start : start + m] = l2_normalize(x)
    return out


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean over queries of |found[:k] ∩ truth[:k]| / k (both (Q, >=k) id arrays)."""
    hits = [len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth)]
    return float(np.mean(hits)) / k
