"""Where the paintings come from: an image folder plus a labels CSV, or one subfolder per artist.

`scan_source` lists candidate files with their labels and the files it already knows to drop
(label rows naming missing files, images without a label, files outside any artist folder).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from engine.base.errors import EngineError
from engine.data.imageio import is_image_name
from engine.data.labels import LabelRecord, artist_from_folder, load_label_table
from engine.data.names import NameLookup
from engine.data.walk import walk_folder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceItem:
    """One candidate painting: absolute `path`, `rel` (posix, under the source root) and its label."""

    path: Path
    rel: str
    label: LabelRecord


@dataclass(frozen=True)
class Drop:
    """A file left out of the dataset, with a short reason tag."""

    source: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class SourceScan:
    root: Path
    layout: str  # "labels" or "folders"
    items: list[SourceItem]
    dropped: list[Drop] = field(default_factory=list)
    labels: dict = field(default_factory=dict)  # CSV path and the columns used


def scan_source(
    source: str | Path,
    *,
    labels: str | Path | None = None,
    file_column: str | None = None,
    artist_column: str | None = None,
    exclude: Path | None = None,
) -> SourceScan:
    """List the candidates under `source`; EngineError when it is missing, empty or unlabelled."""
    root = _check_root(source)
    files, skipped = list_files(root, exclude=exclude)
    if not files:
        raise EngineError(f"source folder {root} holds no usable files; point SOURCE at the folder of images")
    if labels is not None:
        unusable = [Path(d.source).relative_to(root.resolve()).as_posix() for d in skipped]
        scan = _scan_with_labels(root, files, unusable, Path(labels), file_column, artist_column)
    else:
        scan = _scan_folders(root, files)
    scan.dropped.extend(skipped)
    return scan


def list_files(root: Path, *, exclude: Path | None = None) -> tuple[list[str], list[Drop]]:
    """(sorted posix paths relative to `root` of the visible regular files, files that cannot be used).

    Symlinks are followed only to files inside `root` (as `index` does); loops, broken links,
    links leading outside and special files (FIFOs, devices) are reported, never opened. Linked
    folders are not entered: a prepared collection is what lies in the folder itself.
    """
    walk = walk_folder(root, follow_dir_links=False, skip_hidden=True, exclude=exclude)
    return [f.rel for f in walk.files], [Drop(path, reason) for path, reason in walk.skipped]


def _check_root(source: str | Path) -> Path:
    root = Path(source).expanduser().absolute()
    if not root.exists():
        raise EngineError(f"source folder not found: {root}; check the SOURCE path")
    if not root.is_dir():
        raise EngineError(f"SOURCE must be a folder of images, got the file {root}")
    return root


def _scan_folders(root: Path, files: list[str]) -> SourceScan:
    items, dropped = [], []
    for rel in files:
        path = root / rel
        artist = artist_from_folder(root, path)
        if artist is None:
            dropped.append(Drop(str(path), "no_artist", "not inside an artist subfolder"))
        elif not is_image_name(rel):
            dropped.append(Drop(str(path), "not_an_image", "file name is not an image type"))
        else:
            items.append(SourceItem(path, rel, LabelRecord(rel, artist.strip())))
    if not items:
        raise EngineError(
            f"no images in artist subfolders of {root}; put each artist's images in its own subfolder or pass --labels CSV"
        )
    return SourceScan(root, "folders", items, dropped)


def _scan_with_labels(root, files, unusable, csv_path, file_column, artist_column) -> SourceScan:
    """`unusable`: files found but not to be opened (already reported with their reason)."""
    table = load_label_table(csv_path, file_column=file_column, artist_column=artist_column)
    if not table.records:
        raise EngineError(f"labels file {csv_path} has no usable rows (file name and artist); check the CSV")
    lookup, unusable_lookup = NameLookup((rel, rel) for rel in files), NameLookup((rel, rel) for rel in unusable)
    items, dropped, used = [], [Drop(name, reason) for name, reason in table.rejected], set()
    for name, record in sorted(table.records.items()):
        rel = lookup.find(name)
        if rel is None and unusable_lookup.find(name) is not None:
            continue
        if rel is None:
            dropped.append(Drop(str(root / name.replace("\\", "/")), "missing", "named in the labels file"))
        elif rel in used:
            dropped.append(Drop(str(root / rel), "duplicate_label", f"named twice in the labels file ({name})"))
        else:
            used.add(rel)
            items.append(SourceItem(root / rel, rel, record))
    if not items:
        raise EngineError(
            f"none of the {len(table.records)} files named in {csv_path} exist under {root}; "
            "check SOURCE and --file-column"
        )
    dropped += [Drop(str(root / rel), "unlabelled", "not in the labels file") for rel in files
                if rel not in used and is_image_name(rel)]
    info = {"csv": str(csv_path.absolute()), "file_column": table.file_column, "artist_column": table.artist_column}
    return SourceScan(root, "labels", items, dropped, info)
