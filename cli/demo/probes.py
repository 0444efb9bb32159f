"""What the demo's query and verify steps look at, and the picture library it indexes.

Probes are paintings by held-out (test split) artists that are *not* in the index, so the
query cannot just find itself:
- synthetic gallery: fresh works painted by the held-out artists' hands (numbers >= per_artist);
- a user's collection: prepared test images; the query image is left out of the library.
The library that gets indexed holds the held-out artists' prepared images (hard links, copies
where links fail, plus a labels CSV): the catalog then shows what the product is for, telling
apart hands the model never saw, and indexing stays quick.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.base.atomic import atomic_write_text
from engine.base.errors import EngineError
from engine.synthetic.gallery import paint_new_works

LIBRARY_LABELS = "labels.csv"
_LABEL_FIELDS = ("title", "style", "genre", "date")
_SAFE = re.compile(r"[^\w .()-]+")  # keeps letters of any script; drops separators and controls


@dataclass(frozen=True)
class Probes:
    query: Path
    query_artist: str
    pairs: tuple[tuple[Path, Path, bool], ...]  # (a, b, truly by the same artist)
    query_sha256: str = ""  # content of a query taken from the dataset: left out of the library


def held_out_artists(frame: pd.DataFrame) -> list[str]:
    """Test-split artists, most works first (ties by name); falls back to val when test is empty."""
    for split in ("test", "val"):
        rows = frame[frame["split"] == split]
        if rows["artist"].nunique() >= 1:
            counts = rows["artist"].value_counts()
            return sorted(counts.index, key=lambda a: (-counts[a], a))
    raise EngineError("the prepared dataset has no held-out artists; use more artists or larger --test-fraction")


def synthetic_probes(out_dir: Path, frame: pd.DataFrame, *, artists: int, per_artist: int, size: int, seed: int) -> Probes:
    """A new work by the first held-out artist as the query; pairs: same hand, two different hands."""
    held = held_out_artists(frame)
    first = held[0]
    second = held[1] if len(held) > 1 else _another_artist(frame, first)
    paint = dict(artists=artists, size=size, seed=seed)
    query, a1, a2 = paint_new_works(out_dir, first, [per_artist, per_artist + 1, per_artist + 2], **paint)
    (b1,) = paint_new_works(out_dir, second, [per_artist], **paint)
    return Probes(query=query, query_artist=first, pairs=((a1, a2, True), (a1, b1, False)))


def data_probes(frame: pd.DataFrame) -> Probes:
    """The first held-out artist's first image is the query; pairs from its next images and another artist's.

    Probes are the user's original files where they still exist (readable names), else the prepared copies.
    """
    held = held_out_artists(frame)
    first = held[0]
    second = held[1] if len(held) > 1 else _another_artist(frame, first)
    own = frame[frame["artist"] == first].sort_values("path").to_dict("records")
    other = frame[frame["artist"] == second].sort_values("path").to_dict("records")
    if len(own) < 3:
        raise EngineError(f"held-out artist {first!r} has fewer than 3 images; the demo needs 3 to query and verify")
    query, a1, a2 = (_original(r) for r in own[:3])
    return Probes(query=query, query_artist=first, pairs=((a1, a2, True), (a1, _original(other[0]), False)),
                  query_sha256=str(own[0].get("sha256", "")))


def _original(record: dict) -> Path:
    source = Path(str(record.get("source") or ""))
    return source if source.is_absolute() and source.is_file() else Path(record["abspath"])


def build_library(frame: pd.DataFrame, folder: Path, *, artists: list[str], exclude_sha256: set[str]) -> tuple[Path, Path]:
    """Link the prepared images of `artists` (but contents `exclude_sha256`) into `folder/images/<artist>/<name>`.

    Returns (images folder, labels CSV keyed by the path inside it). Links, not copies: instant, no space.
    """
    images = folder / "images"
    if images.exists():
        shutil.rmtree(images)  # our own earlier library: links only, the prepared copies stay
    images.mkdir(parents=True)
    rows, taken = [], set()
    for record in frame[frame["artist"].isin(artists)].sort_values("path").to_dict("records"):
        if record.get("sha256") in exclude_sha256:
            continue
        rel = _library_name(record, taken)
        (images / rel).parent.mkdir(exist_ok=True)
        _link(Path(record["abspath"]), images / rel)
        rows.append({"filename": rel, "artist": record["artist"], **{k: record.get(k, "") for k in _LABEL_FIELDS}})
    labels = folder / LIBRARY_LABELS
    atomic_write_text(labels, _csv_text(rows))
    return images, labels


def _library_name(record: dict, taken: set[str]) -> str:
    """`<artist>/<original name>` (readable query results); a clash gets the content hash as prefix."""
    folder = _SAFE.sub("_", str(record["artist"])).strip(" ._")[:80] or "unknown"
    original = Path(str(record.get("source") or record["abspath"])).stem
    rel = f"{folder}/{_SAFE.sub('_', original)[:80]}.jpg"
    if rel in taken:
        rel = f"{folder}/{str(record.get('sha256', ''))[:12]}-{Path(rel).name}"
    taken.add(rel)
    return rel


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)  # another file system, or links not allowed


def _csv_text(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["filename", "artist", *_LABEL_FIELDS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _another_artist(frame: pd.DataFrame, artist: str) -> str:
    others = sorted(set(frame["artist"]) - {artist})
    if not others:
        raise EngineError("the demo needs at least two artists; add another artist's paintings")
    return others[0]
