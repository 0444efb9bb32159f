"""Where the paintings come from: an image folder plus a labels CSV, or one subfolder per artist.

`scan_source` lists candidate files with their labels and the files it already knows to drop
(label rows naming missing files, images without a label, files outside any artist folder).
"""

from __future__ import annotations

import errno
import logging
import os
import posixpath
import stat
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from engine.base.errors import EngineError
from engine.data.imageio import is_image_name
from engine.data.labels import LabelRecord, artist_from_folder, load_label_table

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
        unusable = [Path(d.source).relative_to(root).as_posix() for d in skipped]
        scan = _scan_with_labels(root, files, unusable, Path(labels), file_column, artist_column)
    else:
        scan = _scan_folders(root, files)
    scan.dropped.extend(skipped)
    return scan


def list_files(root: Path, *, exclude: Path | None = None) -> tuple[list[str], list[Drop]]:
    """(sorted posix paths relative to `root` of the visible regular files, files that cannot be used).

    Symlinks are followed only to files inside `root` (as `index` does); loops, broken links,
    links leading outside and special files (FIFOs, devices) are reported, never opened.
    """
    found: list[str] = []
    skipped: list[Drop] = []
    real_root = root.resolve()
    skip = exclude.resolve() if exclude is not None else None
    for dirpath, dirnames, filenames in os.walk(root, onerror=_log_walk_error):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and (here / d).resolve() != skip)
        rel_dir = here.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in sorted(n for n in filenames if not n.startswith(".")):
            problem = _file_problem(os.path.join(dirpath, name), real_root)
            if problem:
                skipped.append(Drop(os.path.join(dirpath, name), problem))
            else:
                found.append(prefix + name)
    return found, skipped


def _file_problem(path: str, real_root: Path) -> str:
    """'' for a regular file inside the root, else the reason tag."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "unreadable"
    if stat.S_ISREG(mode):  # not a link, and os.walk does not enter linked folders: inside the root
        return ""
    if not stat.S_ISLNK(mode):
        return "not_a_file"
    try:
        real = os.path.realpath(path, strict=True)
        mode = os.stat(real).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink_loop"
        return "broken_symlink" if os.path.islink(path) else "unreadable"
    if not Path(real).is_relative_to(real_root):
        return "outside_folder"
    return "" if stat.S_ISREG(mode) else "not_a_file"


def _check_root(source: str | Path) -> Path:
    root = Path(source).expanduser().absolute()
    if not root.exists():
        raise EngineError(f"source folder not found: {root}; check the SOURCE path")
    if not root.is_dir():
        raise EngineError(f"SOURCE must be a folder of images, got the file {root}")
    return root


def _log_walk_error(exc: OSError) -> None:
    logger.warning("cannot list %s: %s", exc.filename, exc.strerror)


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
    lookup, unusable_lookup = _FileLookup(files), _FileLookup(unusable)
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


class _FileLookup:
    """Resolve a CSV file name: the exact relative path, else a unique base name anywhere below."""

    def __init__(self, files: list[str]) -> None:
        self.exact = {_nfc(rel): rel for rel in files}
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for rel in files:
            self.by_name[_nfc(posixpath.basename(rel))].append(rel)

    def find(self, name: str) -> str | None:
        key = _nfc(posixpath.normpath(name.replace("\\", "/")))
        if key in self.exact:
            return self.exact[key]
        candidates = self.by_name.get(posixpath.basename(key), [])
        return candidates[0] if len(candidates) == 1 else None


def _nfc(text: str) -> str:
    # macOS stores names decomposed (NFD) while CSVs are usually composed (NFC).
    return text if text.isascii() else unicodedata.normalize("NFC", text)
