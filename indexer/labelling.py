"""Who painted each scanned file: the `--labels` CSV, else the one-subfolder-per-artist layout, else unknown."""

from __future__ import annotations

import os
from pathlib import Path

from db.records import Labels
from engine.data.labels import LabelRecord, artist_from_folder, read_labels
from engine.data.names import NameLookup
from engine.data.walk import WalkedFile


def resolve_labels(root: Path, files: list[WalkedFile], labels_csv: str | os.PathLike[str] | None) -> dict[str, Labels]:
    """{absolute path: Labels}. A CSV row matches a file by its path relative to `root`, else by its name."""
    records = NameLookup(read_labels(labels_csv).items() if labels_csv is not None else ())
    per_artist = is_per_artist_layout(files)
    out: dict[str, Labels] = {}
    for f in files:
        record = records.find(f.rel)
        if record is not None:
            out[f.path] = _from_record(record)
        elif per_artist:
            out[f.path] = Labels(artist=artist_from_folder(root, Path(f.path)))
        else:
            out[f.path] = Labels()
    return out


def is_per_artist_layout(files: list[WalkedFile]) -> bool:
    """True when no image sits directly in the folder, i.e. every image is inside a subfolder."""
    return bool(files) and all("/" in f.rel for f in files)


def _from_record(record: LabelRecord) -> Labels:
    return Labels(
        artist=record.artist or None,
        title=record.title or None,
        style=record.style or None,
        genre=record.genre or None,
        date=record.date or None,
    )
