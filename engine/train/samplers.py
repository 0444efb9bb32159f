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
    """

    def __init__(self, labels: Sequence[int], *, p: int, k: int, batches: int | None = None, seed: int = 0) -> None:
        labels = np.asarray(labels)
        groups = {label: np.flatnonzero(labels == label) for label in np.unique(labels)}
        self.groups = [idx for idx in groups.values() if len(idx) >= 2]
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
            chosen = rng.choice(len(self.groups), size=self.p, replace=False)
            batch = []
            for g in chosen:
                members = self.groups[g]
                batch.extend(rng.choice(members, size=self.k, replace=len(members) < self.k).tolist())
            yield batch


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
