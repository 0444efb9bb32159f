"""Exact and near-duplicate grouping.

Two images are duplicates when their sha256 are equal (exact) or their 64-bit perceptual hashes
differ in at most `threshold` bits (near). Groups are the connected components of that relation,
so a chain a~b~c is one group even when a and c are further apart. One copy per group is kept;
a group whose members carry different artists is dropped whole ('conflicting_duplicate'),
because we cannot tell which label is right and either copy would leak across splits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

BLOCK_ELEMENTS = 1 << 23  # pairwise comparison in blocks of ~8M uint64 (64 MiB)


@dataclass(frozen=True)
class Candidate:
    """What dedup needs to know of one decoded image."""

    sha256: str
    phash: str  # 16 hex digits
    artist: str
    pixels: int  # original width * height: the larger copy is kept
    source: str  # tie-break, for a deterministic choice


def hamming_pairs(hashes: np.ndarray, threshold: int) -> Iterator[tuple[int, int]]:
    """All (i, j), i < j, with popcount(hashes[i] ^ hashes[j]) <= threshold; hashes uint64 (N,).

    Blocked brute force, O(N^2 / 2) popcounts: ~1 s per 10^8 pairs on one core.
    """
    n = len(hashes)
    rows_per_block = max(1, BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n, rows_per_block):
        block = hashes[start : start + rows_per_block]
        rest = hashes[start:]
        dist = np.bitwise_count(block[:, None] ^ rest[None, :])
        rows, cols = np.nonzero(dist <= threshold)
        for r, c in zip(rows.tolist(), cols.tolist()):
            i, j = start + r, start + c
            if i < j:
                yield i, j


def duplicate_groups(items: Sequence[Candidate], *, threshold: int) -> list[list[int]]:
    """Groups (index lists, sorted, size >= 2) of exact or near duplicates; threshold < 0: exact only."""
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first_by_sha: dict[str, int] = {}
    for i, item in enumerate(items):
        union(i, first_by_sha.setdefault(item.sha256, i))
    if threshold >= 0 and items:
        hashes = np.array([int(item.phash, 16) for item in items], dtype=np.uint64)
        for i, j in hamming_pairs(hashes, threshold):
            union(i, j)
    groups: dict[int, list[int]] = {}
    for i in range(len(items)):
        groups.setdefault(find(i), []).append(i)
    return [members for members in groups.values() if len(members) > 1]


def resolve_duplicates(items: Sequence[Candidate], *, threshold: int) -> dict[int, tuple[str, str]]:
    """{index: (reason, detail)} of the copies to drop: 'duplicate', 'near_duplicate' or 'conflicting_duplicate'."""
    drops: dict[int, tuple[str, str]] = {}
    for members in duplicate_groups(items, threshold=threshold):
        artists = sorted({items[i].artist for i in members})
        if len(artists) > 1:
            detail = f"same image labelled {' / '.join(artists)}"
            drops.update({i: ("conflicting_duplicate", detail) for i in members})
            continue
        keep = min(members, key=lambda i: (-items[i].pixels, items[i].source))
        for i in members:
            if i != keep:
                exact = items[i].sha256 == items[keep].sha256
                drops[i] = ("duplicate" if exact else "near_duplicate", f"copy of {items[keep].source}")
    return drops
