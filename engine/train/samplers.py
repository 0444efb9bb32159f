"""Batch samplers: P artists x K paintings per batch, so every batch holds positives and negatives."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from engine.base.errors import EngineError


class PKBatchSampler:
    """Yields `batches` lists of P*K indices: P distinct labels, K items each.

    Labels with fewer than K items are sampled with replacement (they still count, since a batch
    needs only two of a label for a positive pair); labels with a single item are never chosen.
    Deterministic for a given seed and epoch (`set_epoch`).

    sources (one per item, optional): labels are drawn with probability 1 / (labels of their source), so
    every source's labels together are drawn as often as any other source's (source_weights).
    """

    def __init__(self, labels: Sequence[int], *, p: int, k: int, batches: int | None = None, seed: int = 0,
                 sources: Sequence[str] | None = None) -> None:
        labels = np.asarray(labels)
        groups = {label: np.flatnonzero(labels == label) for label in np.unique(labels)}
        self.groups = [idx for idx in groups.values() if len(idx) >= 2]
        self.weights = None if sources is None else source_weights([np.asarray(sources, dtype=object)[g[0]] for g in self.groups])
        if len(self.groups) < 2:
            raise EngineError("training needs at least 2 artists with 2 or more paintings each; prepare more data")
        if k < 2:
            raise EngineError(f"K (paintings per artist in a batch) must be >= 2, got {k}")
        self.p = min(p, len(self.groups))
        self.k = k
        self.batches = batches if batches is not None else max(1, len(labels) // (self.p * k))
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        for _ in range(self.batches):
            chosen = rng.choice(len(self.groups), size=self.p, replace=False, p=self.weights)
            batch = []
            for g in chosen:
                members = self.groups[g]
                batch.extend(rng.choice(members, size=self.k, replace=len(members) < self.k).tolist())
            yield batch


def source_weights(group_sources: Sequence[str]) -> np.ndarray:
    """Drawing probability of each group (artist) from its source: 1 / (groups of that source), normalised,
    so each source's groups together carry the same total weight."""
    sources = np.asarray(group_sources, dtype=object)
    names, inverse, counts = np.unique(sources.astype(str), return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    return weights / weights.sum()


def random_triplets(labels: Sequence[int], *, n: int, seed: int) -> np.ndarray:
    """(n, 3) random (anchor, positive, negative) indices: same label for a/p (a != p), other for n."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    by_label = {label: np.flatnonzero(labels == label) for label in np.unique(labels)}
    anchors_ok = np.flatnonzero([len(by_label[label]) >= 2 for label in labels])
    if len(anchors_ok) == 0 or len(by_label) < 2:
        raise EngineError("training needs at least 2 artists with 2 or more paintings each; prepare more data")
    out = np.empty((n, 3), dtype=np.int64)
    for t, a in enumerate(rng.choice(anchors_ok, size=n)):
        same = by_label[labels[a]]
        positive = a
        while positive == a:
            positive = same[rng.integers(len(same))]
        negative = a
        while labels[negative] == labels[a]:
            negative = rng.integers(len(labels))
        out[t] = (a, positive, negative)
    return out
