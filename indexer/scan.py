"""Walk an image folder: every image file once, never outside the folder, never round a symlink loop.

Paths are reported resolved (symlinks followed only while they stay inside the folder), so one file
reached by two names is indexed once. Files whose name is not an image name are ignored silently;
anything else that cannot be taken is returned in `skipped` with a reason tag.
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from engine.base.errors import EngineError
from engine.data.imageio import is_image_name

HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class ScannedFile:
    path: str  # absolute, resolved
    rel: str  # posix path relative to the folder
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    root: Path
    files: list[ScannedFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def scan_folder(folder: str | os.PathLike[str]) -> ScanResult:
    """All image files under `folder` (recursively), sorted by path."""
    root = _resolve_root(folder)
    result = ScanResult(root)
    seen_dirs = {_inode(root)}
    seen_files: set[str] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        for entry in _entries(directory, result):
            if _is_dir(entry):
                _visit_dir(entry, root, seen_dirs, stack, result)
            elif is_image_name(entry.name):
                _visit_file(entry, root, seen_files, result)
    result.files.sort(key=lambda f: f.path)
    return result


def _resolve_root(folder: str | os.PathLike[str]) -> Path:
    path = Path(folder).expanduser()
    if not path.exists():
        raise EngineError(f"folder not found: {path}; pass an existing image folder")
    if not path.is_dir():
        raise EngineError(f"{path} is not a folder; pass the folder that holds the images")
    return path.resolve()


def _entries(directory: Path, result: ScanResult) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as it:
            return sorted(it, key=lambda e: e.name, reverse=True)
    except OSError as exc:
        result.skipped.append((str(directory), "unreadable_folder" if exc.errno != errno.ELOOP else "symlink_loop"))
        return []


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _visit_dir(entry: os.DirEntry, root: Path, seen: set, stack: list[Path], result: ScanResult) -> None:
    real = Path(os.path.realpath(entry.path))
    if not real.is_relative_to(root):
        result.skipped.append((entry.path, "outside_folder"))
        return
    key = _inode(real)
    if key in seen:
        if Path(entry.path).is_symlink() and Path(entry.path).parent.resolve().is_relative_to(real):
            result.skipped.append((entry.path, "symlink_loop"))
        return  # else: the same folder under another name, already scanned
    seen.add(key)
    stack.append(real)


def _visit_file(entry: os.DirEntry, root: Path, seen: set[str], result: ScanResult) -> None:
    try:
        real = os.path.realpath(entry.path, strict=True)
        st = os.stat(real)
    except OSError as exc:
        reason = "symlink_loop" if exc.errno == errno.ELOOP else ("broken_symlink" if entry.is_symlink() else "unreadable")
        result.skipped.append((entry.path, reason))
        return
    if not Path(real).is_relative_to(root):
        result.skipped.append((entry.path, "outside_folder"))
        return
    if real in seen or not os.path.isfile(real):
        return
    seen.add(real)
    rel = Path(real).relative_to(root).as_posix()
    result.files.append(ScannedFile(real, rel, st.st_size, st.st_mtime_ns))


def _inode(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def file_sha256(path: str) -> str:
    """Hex sha256 of the file's bytes; OSError propagates."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def image_size(path: str) -> tuple[int | None, int | None]:
    """(width, height) from the header only; (None, None) when unreadable (decoding reports why)."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, None
