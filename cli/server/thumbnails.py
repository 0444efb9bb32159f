"""JPEG thumbnails of indexed files, cached in HOME/cache/thumbnails/<catalog>/<id>-<size>.jpg.

Only catalog ids reach here: the file read is the catalog's own path for that id, never a path
from a request. Ids are never reused within a catalog, and a changed file gets a new id, so a
cached thumbnail never goes stale. The cache file is written atomically (concurrent requests for
the same thumbnail each write a whole file; the last rename wins).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from engine.base.atomic import atomic_write_bytes
from engine.base.home import Home
from engine.data.imageio import decode_rgb, load_rgb

JPEG_QUALITY = 85


def thumbnail_file(home: Home, catalog_uid: str, painting_id: int, size: int) -> Path:
    return home.root / "cache" / "thumbnails" / (catalog_uid[:16] or "catalog") / f"{painting_id}-{size}.jpg"


def cached_thumbnail(home: Home, catalog_uid: str, painting_id: int, source: str, size: int) -> Path:
    """The cached JPEG (longest side `size`) of `source`, made on first use; ImageLoadError when unreadable."""
    target = thumbnail_file(home, catalog_uid, painting_id, size)
    if not target.is_file():
        atomic_write_bytes(target, thumbnail_bytes(source, size))
    return target


def thumbnail_bytes(source: str, size: int) -> bytes:
    """`source` decoded safely (engine.data.imageio), shrunk to fit `size` x `size`, as JPEG."""
    return jpeg_of(load_rgb(source, draft_size=size), size)


def upload_thumbnail(data: bytes, size: int, *, max_pixels: int) -> bytes:
    """An uploaded image (decoded safely) shrunk to fit `size` x `size`, as JPEG; ImageLoadError when undecodable."""
    return jpeg_of(decode_rgb(data, max_pixels=max_pixels, draft_size=size), size)


def jpeg_of(image: Image.Image, size: int) -> bytes:
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()
