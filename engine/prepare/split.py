"""Artist-disjoint train/val/test splits and per-artist limits, deterministic by seed.

Artists are ranked by sha256(f"{seed}:{artist}") rather than shuffled, so the split of an artist
does not change when other artists are added or removed. The first round(test_fraction * n)
ranked artists go to test, the next round(val_fraction * n) to val, the rest to train.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from typing import Iterable, Sequence

from engine.base.errors import EngineError

logger = logging.getLogger(__name__)


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode("utf-8")).hexdigest()


def split_sizes(n: int, *, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """(train, val, test) artist counts; val/test get >= 1 each when their fraction > 0 and n >= 3."""
    n_val, n_test = int(val_fraction * n + 0.5), int(test_fraction * n + 0.5)
    if n >= 3:
        n_val = max(n_val, 1) if val_fraction > 0 else 0
        n_test = max(n_test, 1) if test_fraction > 0 else 0
    while n_val + n_test > max(n - 1, 0):  # train keeps at least one artist
        if n_val >= n_test and n_val > 0:
            n_val -= 1
        else:
            n_test -= 1
    return n - n_val - n_test, n_val, n_test


def split_artists(artists: Iterable[str], *, val_fraction: float, test_fraction: float, seed: int) -> dict[str, str]:
    """{artist: 'train'|'val'|'test'} over the distinct `artists`."""
    ranked = sorted(set(artists), key=lambda a: (_rank(seed, a), a))
    n_train, n_val, n_test = split_sizes(len(ranked), val_fraction=val_fraction, test_fraction=test_fraction)
    splits = ["test"] * n_test + ["val"] * n_val + ["train"] * n_train
    for name, wanted in (("val", val_fraction), ("test", test_fraction)):
        if wanted > 0 and name not in splits:
            logger.warning("split %r is empty: only %d artists", name, len(ranked))
    return dict(zip(ranked, splits))


def assert_artist_disjoint(artists: Sequence[str], splits: Sequence[str]) -> None:
    """Raise when one artist appears in two splits (a bug, never a user error)."""
    seen: dict[str, str] = {}
    for artist, split in zip(artists, splits):
        if seen.setdefault(artist, split) != split:
            raise AssertionError(f"artist {artist!r} is in both {seen[artist]!r} and {split!r}")


def cap_per_artist(artists: Sequence[str], keys: Sequence[str], *, max_per_artist: int, seed: int) -> set[int]:
    """Indices over the cap: each artist keeps the `max_per_artist` items ranked first by (seed, key)."""
    by_artist: dict[str, list[int]] = defaultdict(list)
    for i, artist in enumerate(artists):
        by_artist[artist].append(i)
    over: set[int] = set()
    for members in by_artist.values():
        if len(members) > max_per_artist:
            ranked = sorted(members, key=lambda i: (_rank(seed, keys[i]), keys[i]))
            over.update(ranked[max_per_artist:])
    return over


def rare_artists(artists: Sequence[str], *, min_per_artist: int) -> set[str]:
    """Artists with fewer than `min_per_artist` items."""
    return {artist for artist, n in Counter(artists).items() if n < min_per_artist}


def validate_fractions(val_fraction: float, test_fraction: float) -> None:
    for name, value in (("--val-fraction", val_fraction), ("--test-fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise EngineError(f"{name} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise EngineError(
            f"--val-fraction + --test-fraction = {val_fraction + test_fraction:g} leaves no training artists; keep the sum below 1"
        )
