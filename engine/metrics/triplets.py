"""Triplet-ordering accuracy: the "test accuracy" of the reference design.

Share of random (anchor, positive, negative) triplets with d(a, p) < d(a, n), Euclidean distance
on the embeddings as given (equivalent to cosine for L2-normalised ones). It ranks pairs; it is
not the accuracy of a same/different decision (see verification_metrics for that).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.base.errors import EngineError


def _codes(values: Sequence) -> np.ndarray:
    return np.unique(np.asarray([str(v) for v in values]), return_inverse=True)[1].astype(np.int64)


def _draw_excluding(rng, starts: np.ndarray, sizes: np.ndarray, skip: np.ndarray, total: int | None = None) -> np.ndarray:
    """Uniform positions in [starts, starts + sizes) minus position `skip` (a contiguous block when `total`)."""
    if total is None:  # positive: within the block, skipping the anchor itself
        r = (rng.random(len(starts)) * (sizes - 1)).astype(np.int64)
        return starts + r + (starts + r >= skip)
    r = (rng.random(len(starts)) * (total - sizes)).astype(np.int64)  # negative: outside the block
    return np.where(r < starts, r, r + sizes)


def sample_triplets(
    labels: Sequence[str], *, n_triplets: int, seed: int, groups: Sequence[str] | None = None
) -> np.ndarray:
    """(T, 3) int indices (a, p, n): anchor uniform over images whose artist has 2+ distinct `groups`,
    positive uniform over the anchor's artist (other group), negative uniform over other artists' images."""
    codes = _codes(labels)
    group = np.arange(len(codes)) if groups is None else _codes(groups)
    order = np.argsort(codes, kind="stable")  # artists as contiguous blocks of `order`
    starts = np.searchsorted(codes[order], codes)
    sizes = np.bincount(codes)[codes]
    distinct = np.array([len(set(group[codes == c].tolist())) for c in range(codes.max(initial=-1) + 1)])
    anchors = np.flatnonzero(distinct[codes] >= 2) if len(codes) else codes
    if len(anchors) == 0 or len(distinct) < 2:
        raise EngineError("triplets need at least 2 artists and one artist with 2 distinct paintings")
    rng = np.random.default_rng(seed)
    a = rng.choice(anchors, n_triplets)
    where = np.argsort(order)[a]  # the anchor's position in `order`
    p = order[_draw_excluding(rng, starts[a], sizes[a], where)]
    for _ in range(1000):  # redraw positives that are the anchor's duplicate (rare: prepare dedups)
        bad = np.flatnonzero(group[p] == group[a])
        if len(bad) == 0:
            break
        p[bad] = order[_draw_excluding(rng, starts[a[bad]], sizes[a[bad]], where[bad])]
    n = order[_draw_excluding(rng, starts[a], sizes[a], where, total=len(codes))]
    return np.stack([a, p, n], axis=1)[group[p] != group[a]]


def triplet_accuracy(
    emb: np.ndarray,
    labels: Sequence[str],
    *,
    n_triplets: int = 5000,
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> float:
    """Fraction of sampled triplets with ||e_a - e_p|| < ||e_a - e_n|| (ties count as failures)."""
    return ordered_fraction(emb, sample_triplets(labels, n_triplets=n_triplets, seed=seed, groups=groups))


def ordered_fraction(emb: np.ndarray, triplets: np.ndarray) -> float:
    """Fraction of the (T, 3) triplets (a, p, n) with ||e_a - e_p|| < ||e_a - e_n||; emb is (N, D)."""
    emb = np.asarray(emb, dtype=np.float64)
    a, p, n = triplets.T
    return float(np.mean(np.linalg.norm(emb[a] - emb[p], axis=1) < np.linalg.norm(emb[a] - emb[n], axis=1)))
