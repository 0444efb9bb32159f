"""Several collections into one prepared set: SOURCE/--labels pairs, scanned and merged.

All collections are scanned, their artist names unified (engine.data.artists: case, accents and
spacing do not make two painters), and the union goes through one selection. Deduplication and
the artist-disjoint split therefore hold across collections by construction: a painter named in
two collections lands in one split, and a painting held by both is kept once.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

from engine.base.errors import EngineError
from engine.data.artists import display_names, merged_spellings
from engine.data.sources import Drop, SourceItem, SourceScan, scan_source

PathLike = Union[str, "os.PathLike[str]"]
NO_LABELS = "none"  # `--labels none`: this SOURCE has one subfolder per artist


@dataclass(frozen=True)
class Collection:
    source: Path
    labels: Path | None = None


@dataclass
class Collections:
    """The scans, and their union with unified artist names."""

    scans: list[SourceScan]
    items: list[SourceItem] = field(default_factory=list)
    dropped: list[Drop] = field(default_factory=list)
    spellings: dict[str, list[str]] = field(default_factory=dict)  # display name -> other spellings merged

    @property
    def root(self) -> Path:
        return self.scans[0].root

    def describe(self) -> dict:
        """Report fields: source/layout/labels as for one collection (lists for several), and per collection."""
        one = len(self.scans) == 1
        pick = (lambda key: key(self.scans[0])) if one else (lambda key: [key(s) for s in self.scans])
        return {
            "source": pick(lambda s: str(s.root)), "layout": pick(lambda s: s.layout), "labels": pick(lambda s: s.labels or None),
            "collections": [{"source": str(s.root), "layout": s.layout, "labels": s.labels or None, "candidates": len(s.items)}
                            for s in self.scans],
            "merged_spellings": self.spellings,
        }


def pair_collections(source: PathLike | Sequence[PathLike], labels: PathLike | Sequence[PathLike | None] | None) -> list[Collection]:
    """SOURCE i pairs with --labels i; no --labels at all: every SOURCE has artist subfolders.
    `none` (or None) as a --labels value marks a folder-per-artist SOURCE among labelled ones."""
    sources = [Path(source)] if isinstance(source, (str, os.PathLike)) else [Path(s) for s in source]
    given = [] if labels is None else [labels] if isinstance(labels, (str, os.PathLike)) else list(labels)
    if not sources:
        raise EngineError("no SOURCE given; pass one or more folders of paintings")
    if given and len(given) != len(sources):
        raise EngineError(
            f"{len(sources)} SOURCE folders but {len(given)} --labels; pass one --labels per SOURCE, in the same order "
            f"(--labels {NO_LABELS} for a SOURCE with one subfolder per artist)"
        )
    pairs = [Collection(s, None if lab is None or str(lab) == NO_LABELS else Path(lab)) for s, lab in zip(sources, given or [None] * len(sources))]
    seen = [p.source.expanduser().absolute() for p in pairs]
    if len(set(seen)) != len(seen):
        raise EngineError("the same SOURCE folder is given twice; pass each collection once")
    return pairs


def scan_collections(collections: Sequence[Collection], *, file_column=None, artist_column=None, exclude: Path | None = None) -> Collections:
    """Scan each collection (EngineError naming the one that fails) and unify artist names over the union."""
    scans = [scan_source(c.source, labels=c.labels, file_column=file_column, artist_column=artist_column, exclude=exclude)
             for c in collections]
    mapping = display_names([[item.label.artist for item in scan.items] for scan in scans])
    merged = Collections(scans, spellings=merged_spellings(mapping))
    for scan in scans:
        merged.items += [_renamed(item, mapping[item.label.artist]) for item in scan.items]
        merged.dropped += scan.dropped
    return merged


def _renamed(item: SourceItem, artist: str) -> SourceItem:
    if item.label.artist == artist:
        return item
    return dataclasses.replace(item, label=dataclasses.replace(item.label, artist=artist))
