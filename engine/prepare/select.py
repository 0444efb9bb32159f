"""Which decoded files make the dataset, and in which split.

Order: file-level drops (bad file, too small/large) -> duplicates (one copy per group) ->
per-artist cap (--max-per-artist) -> rare artists (--min-per-artist) -> artist-disjoint split.
Capping before the minimum keeps every artist that has enough images: big artists shrink,
small ones stay, which maximises the number of different artists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from engine.prepare.dedup import Candidate, hamming_pairs, resolve_duplicates
from engine.prepare.facts import judge
from engine.prepare.worker import FileFacts
from engine.data.sources import Drop, SourceItem
from engine.prepare.split import assert_artist_disjoint, cap_per_artist, rare_artists, split_artists


@dataclass
class Selection:
    kept: list[int] = field(default_factory=list)  # indices into the items, sorted by (artist, rel)
    split_of: dict[str, str] = field(default_factory=dict)  # artist -> split
    dropped: list[Drop] = field(default_factory=list)


def select(items: Sequence[SourceItem], facts: Sequence[FileFacts], config) -> Selection:
    """Apply the drops and the split of `config` (a PrepareConfig) to the gathered facts."""
    sel = Selection()
    usable = _usable_files(items, facts, config, sel.dropped)
    usable = _deduplicate(items, facts, usable, config.near_dup_threshold, sel.dropped)
    if config.max_per_artist:
        artists = [items[i].label.artist for i in usable]
        over = cap_per_artist(artists, [facts[i].sha256 for i in usable], max_per_artist=config.max_per_artist, seed=config.seed)
        _drop(items, [usable[k] for k in over], "artist_cap", f"over --max-per-artist {config.max_per_artist}", sel.dropped)
        usable = [i for k, i in enumerate(usable) if k not in over]
    rare = rare_artists([items[i].label.artist for i in usable], min_per_artist=config.min_per_artist)
    few = [i for i in usable if items[i].label.artist in rare]
    _drop(items, few, "too_few_images", f"artist has fewer than --min-per-artist {config.min_per_artist}", sel.dropped)
    sel.kept = sorted((i for i in usable if items[i].label.artist not in rare), key=lambda i: (items[i].label.artist, items[i].rel))
    sel.split_of = split_artists(
        (items[i].label.artist for i in sel.kept),
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        seed=config.seed,
    )
    check_invariants(items, facts, sel, config.near_dup_threshold)
    return sel


def check_invariants(items, facts, sel: Selection, threshold: int) -> None:
    """Raise AssertionError on an artist in two splits or a duplicate pair across splits (bugs)."""
    artists = [items[i].label.artist for i in sel.kept]
    splits = [sel.split_of[a] for a in artists]
    assert_artist_disjoint(artists, splits)
    shas = [facts[i].sha256 for i in sel.kept]
    if len(set(shas)) != len(shas):
        raise AssertionError("an exact duplicate survived deduplication")
    if threshold >= 0 and shas:
        hashes = np.array([int(facts[i].phash, 16) for i in sel.kept], dtype=np.uint64)
        for a, b in hamming_pairs(hashes, threshold):
            if splits[a] != splits[b]:
                raise AssertionError(f"near duplicates across splits: {items[sel.kept[a]].path}, {items[sel.kept[b]].path}")


def _usable_files(items, facts, config, dropped: list[Drop]) -> list[int]:
    usable = []
    for i, (item, fact) in enumerate(zip(items, facts)):
        reason, detail = judge(fact, min_side=config.min_side, max_pixels=config.max_pixels)
        if reason:
            dropped.append(Drop(str(item.path), reason, detail))
        else:
            usable.append(i)
    return usable


def _deduplicate(items, facts, usable: list[int], threshold: int, dropped: list[Drop]) -> list[int]:
    candidates = [
        Candidate(facts[i].sha256, facts[i].phash, items[i].label.artist, facts[i].width * facts[i].height, items[i].rel)
        for i in usable
    ]
    drops = resolve_duplicates(candidates, threshold=threshold)
    for k, (reason, detail) in sorted(drops.items()):
        dropped.append(Drop(str(items[usable[k]].path), reason, detail))
    return [i for k, i in enumerate(usable) if k not in drops]


def _drop(items, indices, reason: str, detail: str, dropped: list[Drop]) -> None:
    dropped.extend(Drop(str(items[i].path), reason, detail) for i in sorted(indices))
