"""Triplet-ordering accuracy: the "test accuracy" of the reference design.

Share of random (anchor, positive, negative) triplets with d(a, p) < d(a, n), Euclidean distance
on the embeddings as given (equivalent to cosine for L2-normalised ones). It ranks pairs; it is
not the accuracy of a same/different decision (see verification_metrics for that).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.errors import EngineError


def sample_triplets(
    labels: Sequence[str], *, n_triplets: int, seed: int, groups: Sequence[str] | None = None
) -> np.ndarray:
    """(T, 3) int indices (a, p, n): anchor uniform over images whose artist has another painting
    (of another `groups` value), positive uniform among those, negative uniform over other artists' images."""
    labels_arr = np.asarray([str(x) for x in labels], dtype=object)
    groups_arr = np.arange(len(labels_arr)) if groups is None else np.asarray([str(g) for g in groups], dtype=object)
    positives = [np.flatnonzero((labels_arr == labels_arr[k]) & (groups_arr != groups_arr[k])) for k in range(len(labels_arr))]
    anchors = np.array([k for k, p in enumerate(positives) if len(p)], dtype=np.int64)
    if len(anchors) == 0 or len(set(labels_arr.tolist())) < 2:
        raise EngineError("triplets need at least 2 artists and one artist with 2 distinct paintings")
    rng = np.random.default_rng(seed)
    out = np.empty((n_triplets, 3), dtype=np.int64)
    for t, a in enumerate(rng.choice(anchors, n_triplets)):
        negatives_mask = labels_arr != labels_arr[a]
        out[t] = (a, rng.choice(positives[a]), rng.choice(np.flatnonzero(negatives_mask)))
    return out


def triplet_accuracy(
    emb: np.ndarray,
    labels: Sequence[str],
    *,
    n_triplets: int = 5000,
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> float:
    """Fraction of sampled triplets with ||e_a - e_p|| < ||e_a - e_n|| (ties count as failures)."""
    emb = np.asarray(emb, dtype=np.float64)
    trip = sample_triplets(labels, n_triplets=n_triplets, seed=seed, groups=groups)
    d_ap = np.linalg.norm(emb[trip[:, 0]] - emb[trip[:, 1]], axis=1)
    d_an = np.linalg.norm(emb[trip[:, 0]] - emb[trip[:, 2]], axis=1)
    return float(np.mean(d_ap < d_an))
