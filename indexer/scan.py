"""Walk an image folder: every image file once, never outside the folder, never round a symlink loop.

Paths are reported resolved (symlinks followed only while they stay inside the folder), so one file
reached by two names is indexed once. Files whose name is not an image name are ignored silently;
anything else that cannot be taken is returned in `skipped` with a reason tag.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from engine.base.errors import EngineError, ImageLoadError
from engine.data.imageio import is_image_name, pillow_errors
from engine.data.walk import Walk, WalkedFile, walk_folder


def scan_folder(folder: str | os.PathLike[str]) -> Walk:
    """All image files under `folder` (recursively, linked folders inside it included), sorted by path;
    a file reached by two names is reported once, by its real path (its `path` and `real` are then equal)."""
    root = _resolve_root(folder)
    walk = walk_folder(root, follow_dir_links=True, accept=is_image_name)
    result = Walk(root, skipped=walk.skipped)
    seen: set[str] = set()
    for f in walk.files:
        if f.real not in seen:
            seen.add(f.real)
            result.files.append(WalkedFile(f.real, f.real, Path(f.real).relative_to(root).as_posix(), f.size, f.mtime_ns))
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
        with pillow_errors(), Image.open(path) as im:
            return im.size
    except ImageLoadError:
        return None, None
