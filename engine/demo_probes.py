"""What the demo's query and verify steps look at, and the picture library it indexes.

Probes are paintings by held-out (test split) artists that are *not* in the index, so the
query cannot just find itself:
- synthetic gallery: fresh works painted by the held-out artists' hands (numbers >= per_artist);
- a user's collection: prepared test images; the query image is left out of the library, which
  is a folder of hard links (copies where links fail) to the prepared images plus a labels CSV.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.atomic import atomic_write_text
from engine.errors import EngineError
from engine.synthetic import paint_new_works

LIBRARY_LABELS = "labels.csv"
_LABEL_FIELDS = ("title", "style", "genre", "date")


@dataclass(frozen=True)
class Probes:
    query: Path
    query_artist: str
    pairs: tuple[tuple[Path, Path, bool], ...]  # (a, b, truly by the same artist)


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
    """The first held-out artist's first image is the query; pairs from its next images and another artist's."""
    held = held_out_artists(frame)
    first = held[0]
    second = held[1] if len(held) > 1 else _another_artist(frame, first)
    own = sorted(frame.loc[frame["artist"] == first, "abspath"])
    other = sorted(frame.loc[frame["artist"] == second, "abspath"])
    if len(own) < 3:
        raise EngineError(f"held-out artist {first!r} has fewer than 3 images; the demo needs 3 to query and verify")
    query, a1, a2 = (Path(p) for p in own[:3])
    return Probes(query=query, query_artist=first, pairs=((a1, a2, True), (a1, Path(other[0]), False)))


def build_library(frame: pd.DataFrame, folder: Path, *, exclude: set[Path]) -> tuple[Path, Path]:
    """Link every prepared image but `exclude` into `folder/images/`; returns (images folder, labels CSV)."""
    images = folder / "images"
    if images.exists():
        shutil.rmtree(images)  # our own earlier library: links only, the prepared copies stay
    images.mkdir(parents=True)
    excluded = {p.resolve() for p in exclude}
    rows = []
    taken: set[str] = set()
    for record in frame.to_dict("records"):
        source = Path(record["abspath"])
        if source.resolve() in excluded:
            continue
        name = _library_name(record, taken)
        _link(source, images / name)
        rows.append({"filename": name, "artist": record["artist"], **{k: record.get(k, "") for k in _LABEL_FIELDS}})
    labels = folder / LIBRARY_LABELS
    atomic_write_text(labels, _csv_text(rows))
    return images, labels


def _library_name(record: dict, taken: set[str]) -> str:
    """The original file name when unique (readable query results), else prefixed by its hash."""
    original = Path(str(record.get("source") or record["abspath"])).name
    name = original if original.lower().endswith((".jpg", ".jpeg")) else f"{Path(original).stem}.jpg"
    if name in taken:
        name = f"{str(record.get('sha256', ''))[:12]}-{name}"
    taken.add(name)
    return name


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
