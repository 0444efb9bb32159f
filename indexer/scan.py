"""Walk an image folder: every image file once, never outside the folder, never round a symlink loop.

Paths are reported resolved (symlinks followed only while they stay inside the folder), so one file
reached by two names is indexed once. Files whose name is not an image name are ignored silently;
anything else that cannot be taken is returned in `skipped` with a reason tag.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from engine.base.errors import EngineError
from engine.data.imageio import is_image_name
from engine.data.walk import walk_folder


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
    """All image files under `folder` (recursively, linked folders inside it included), sorted by path;
    a file reached by two names is reported once, by its real path."""
    root = _resolve_root(folder)
    walk = walk_folder(root, follow_dir_links=True, accept=is_image_name)
    result = ScanResult(root, skipped=walk.skipped)
    seen: set[str] = set()
    for f in walk.files:
        if f.real not in seen:
            seen.add(f.real)
            result.files.append(ScannedFile(f.real, Path(f.real).relative_to(root).as_posix(), f.size, f.mtime_ns))
    result.files.sort(key=lambda f: f.path)
    return result


def _resolve_root(folder: str | os.PathLike[str]) -> Path:
    path = Path(folder).expanduser()
    if not path.exists():
        raise EngineError(f"folder not found: {path}; pass an existing image folder")
    if not path.is_dir():
        raise EngineError(f"{path} is not a folder; pass the folder that holds the images")
    return path.resolve()


def image_size(path: str) -> tuple[int | None, int | None]:
    """(width, height) from the header only; (None, None) when unreadable (decoding reports why)."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None, None
