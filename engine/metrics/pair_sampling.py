"""Balanced same/different-artist pairs of a split, for verification and calibration.

A pair (i, j) is *same* when labels[i] == labels[j]; two paintings of one duplicate group are never paired.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from engine.base.errors import EngineError

logger = logging.getLogger(__name__)

_TRIES = 25  # random draws per attempt before an artist is considered exhausted


class _PairDrawer:
    """Rejection sampler for unique, non-duplicate pairs anchored on one artist."""

    def __init__(self, labels: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> None:
        self.labels, self.groups, self.rng = labels, groups, rng
        self.artists = sorted(set(labels.tolist()))
        self.members = {a: np.flatnonzero(labels == a) for a in self.artists}
        self.seen: set[tuple[int, int]] = set()

    def _accept(self, i: int, j: int) -> bool:
        key = (min(i, j), max(i, j))
        if i == j or self.groups[i] == self.groups[j] or key in self.seen:
            return False
        self.seen.add(key)
        return True

    def same(self, artist: str) -> tuple[int, int] | None:
        members = self.members[artist]
        if len(members) < 2:
            return None
        for _ in range(_TRIES):
            i, j = self.rng.choice(members, 2, replace=False)
            if self._accept(int(i), int(j)):
                return int(i), int(j)
        return None

    def different(self, artist: str) -> tuple[int, int] | None:
        others = [a for a in self.artists if a != artist]
        if not others:
            return None
        for _ in range(_TRIES):
            # other artist uniformly, not other image: big artists must not dominate the negatives
            other = others[self.rng.integers(len(others))]
            i = int(self.rng.choice(self.members[artist]))
            j = int(self.rng.choice(self.members[other]))
            if self._accept(i, j):
                return i, j
        return None


def sample_pairs(
    labels: Sequence[str],
    *,
    n_pairs: int,
    per_artist_cap: int,
    seed: int,
    groups: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balanced same/different-artist pairs -> (i, j, same), each of shape (P,), P <= n_pairs.

    Round-robin over artists in a seeded order: each round every artist with capacity anchors
    one same pair and one different pair, so every artist anchors about the same number of pairs
    and at most `per_artist_cap`. No self pairs, no pair twice, no pair of equal `groups`
    (sha256 / duplicate cluster). The two halves are truncated to equal size, so P is even.
    """
    labels_arr = np.asarray([str(x) for x in labels], dtype=object)
    groups_arr = np.arange(len(labels_arr)) if groups is None else np.asarray([str(g) for g in groups], dtype=object)
    if len(groups_arr) != len(labels_arr):
        raise ValueError("labels and groups differ in length")
    rng = np.random.default_rng(seed)
    drawer = _PairDrawer(labels_arr, groups_arr, rng)
    same, diff = _round_robin(drawer, n_pairs // 2, per_artist_cap, rng)
    n = min(len(same), len(diff))
    pairs = same[:n] + diff[:n]
    flags = np.array([True] * n + [False] * n, dtype=bool)
    order = rng.permutation(len(pairs))
    ij = np.array(pairs, dtype=np.int64).reshape(-1, 2)[order]
    if n < n_pairs // 2:
        logger.info("sampled %d pairs (asked for %d): not enough distinct pairs under the cap", 2 * n, n_pairs)
    return ij[:, 0], ij[:, 1], flags[order]


def _round_robin(drawer: _PairDrawer, half: int, cap: int, rng: np.random.Generator):
    same: list[tuple[int, int]] = []
    diff: list[tuple[int, int]] = []
    anchored = dict.fromkeys(drawer.artists, 0)
    progress = True
    while progress and (len(same) < half or len(diff) < half):
        progress = False
        for artist in rng.permutation(drawer.artists):
            for wanted, bucket, draw in ((len(same) < half, same, drawer.same), (len(diff) < half, diff, drawer.different)):
                if wanted and anchored[artist] < cap:
                    pair = draw(artist)
                    if pair is not None:
                        bucket.append(pair)
                        anchored[artist] += 1
                        progress = True
    return same, diff



@dataclass(frozen=True)
class Pairs:
    """Sampled pairs of a split: indices (P,), same-artist flags (P,)."""

    i: np.ndarray
    j: np.ndarray
    same: np.ndarray


def draw_pairs(labels, groups, *, n_pairs: int, per_artist_cap: int, seed: int) -> Pairs:
    """Balanced pairs; a cap of 0 means twice an artist's fair share, ceil(2 * n_pairs / artists)."""
    cap = per_artist_cap or math.ceil(2 * n_pairs / max(len(set(labels)), 1))
    i, j, same = sample_pairs(labels, n_pairs=n_pairs, per_artist_cap=cap, seed=seed, groups=groups)
    if len(i) == 0:
        raise EngineError("no same-artist pairs could be drawn: every artist of this split has a single painting")
    return Pairs(i, j, same)
