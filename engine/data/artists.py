"""Artist identity across collections: one canonical key per painter, one display name kept.

key(name): Unicode NFKD with the combining marks (accents) removed, case-folded, and word
separators (whitespace, '-', '_') removed: "Albrecht Dürer", "albrecht  durer" and
"ALBRECHT_DURER" are one painter. The display name of a key is its most frequent spelling in the
first collection (in the order given) that names it, ties to the alphabetically first, so adding a
collection later never renames a painter of an earlier one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Sequence

_SEPARATORS = re.compile(r"[\s\-_]+")


def artist_key(name: str) -> str:
    """The canonical identity of an artist name (module docstring)."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub("", bare.casefold())


def display_names(collections: Sequence[Sequence[str]]) -> dict[str, str]:
    """{spelling: display name} for every spelling in `collections` (one list of artist names,
    one per painting, per collection, in the order the collections were given)."""
    chosen: dict[str, str] = {}
    for names in collections:
        counts = Counter(names)
        for spelling, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            chosen.setdefault(artist_key(spelling), spelling)
    return {spelling: chosen[artist_key(spelling)] for names in collections for spelling in set(names)}


def merged_spellings(mapping: dict[str, str]) -> dict[str, list[str]]:
    """{display name: the other spellings merged into it}, only for names that had several."""
    merged: dict[str, list[str]] = {}
    for spelling, display in sorted(mapping.items()):
        if spelling != display:
            merged.setdefault(display, []).append(spelling)
    return merged
