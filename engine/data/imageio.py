"""Safe image decoding shared by prepare, index, query and verify.

`load_rgb` returns an RGB `PIL.Image` or raises `ImageLoadError` with a short reason tag
(`missing`, `unreadable`, `empty`, `not_an_image`, `truncated`, `corrupt`, `too_large`).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import warnings
from pathlib import Path
from typing import Iterator

from PIL import Image, ImageOps, UnidentifiedImageError

from engine.base.errors import ImageLoadError

# Real museum scans exceed Pillow's default (~89 MP); we apply our own per-call limit instead
# of Pillow's process-global one, so the global guard is switched off here and `max_pixels` rules.
DEFAULT_MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = None

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".jfif", ".ppm", ".pgm"}
)


def is_image_name(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def load_rgb(
    path: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_size: int | None = None,
) -> Image.Image:
    """Decode `path` to an RGB image with EXIF orientation applied.

    `draft_size`: for JPEGs (and JPEG 2000), decode at the smallest power-of-two reduction whose
    sides are still >= draft_size (Pillow's draft mode / `reduce`), several times faster for large scans
    and 4-64x less memory.
    """
    path = Path(path)
    _check_file(path)
    return _decode(path, max_pixels=max_pixels, draft_size=draft_size)


def decode_rgb(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: int | None = None) -> Image.Image:
    """`load_rgb` for bytes already in memory (e.g. read once to hash them)."""
    if not data:
        raise ImageLoadError("empty", "zero bytes")
    return _decode(io.BytesIO(data), max_pixels=max_pixels, draft_size=draft_size)


def _decode(source: Path | io.BytesIO, *, max_pixels: int, draft_size: int | None) -> Image.Image:
    with pillow_errors():
        with Image.open(source) as im:
            _check_pixels(im, max_pixels)
            reduce_for(im, draft_size)
            im.seek(0)  # animated GIF/WebP: the first frame
            im.load()
            return to_rgb(ImageOps.exif_transpose(im))


def reduce_for(im: Image.Image, draft_size: int | None) -> tuple[int, int]:
    """Before `load()`: make an opened JPEG / JPEG 2000 decode at the smallest power-of-two reduction whose
    sides stay >= `draft_size` (JPEG: DCT scaling via `draft`; JPEG 2000: its `reduce` levels). Other formats
    have no reduced decoding and are left as they are. Returns the (width, height) that will be decoded."""
    width, height = im.size
    if not draft_size:
        return width, height
    if im.format == "JPEG":
        im.draft("RGB", (draft_size, draft_size))
        return im.size
    if im.format == "JPEG2000":
        levels = 0
        while min(width, height) >> (levels + 1) >= draft_size and levels < 5:
            levels += 1
        if levels:
            im.reduce = levels  # Pillow's JPEG 2000 plugin divides the size when it loads
            power = 1 << levels
            return (width + power // 2) // power, (height + power // 2) // power
    return width, height


def decoded_pixels(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: int | None = None) -> int:
    """How many pixels decoding `data` with `decode_rgb(..., draft_size=...)` will hold, from the header alone
    (no pixel is decoded); ImageLoadError as `decode_rgb` would raise it for a size over `max_pixels`."""
    if not data:
        raise ImageLoadError("empty", "zero bytes")
    with pillow_errors():
        with Image.open(io.BytesIO(data)) as im:
            _check_pixels(im, max_pixels)
            width, height = reduce_for(im, draft_size)
    return width * height


def probe_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header alone, as displayed (EXIF rotation by 90 degrees swaps them)."""
    with pillow_errors():
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            orientation = _header_orientation(im)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


@contextlib.contextmanager
def pillow_errors() -> Iterator[None]:
    """The one place Pillow's exceptions become ImageLoadError(reason, detail)."""
    try:
        yield
    except ImageLoadError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageLoadError("not_an_image", str(exc)) from None
    except Image.DecompressionBombError as exc:
        raise ImageLoadError("too_large", str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, ZeroDivisionError) as exc:
        # Pillow's plugins raise a zoo of types on malformed data; they all mean "bad file".
        raise ImageLoadError(_classify(exc), f"{type(exc).__name__}: {exc}") from None


def _header_orientation(im: Image.Image) -> int:
    """EXIF orientation without decoding: a PNG's getexif() loads every pixel to find a trailing eXIf
    chunk, which would defeat the pixel-limit check that relies on this probe (decompression bombs)."""
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    return im.getexif().get(0x0112, 1)


def _check_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageLoadError("missing", str(path)) from None
    except OSError as exc:
        reason = "symlink_loop" if exc.errno == errno.ELOOP else "unreadable"
        raise ImageLoadError(reason, f"{path}: {exc.strerror}") from None
    if not path.is_file():
        raise ImageLoadError("not_a_file", str(path))
    if st.st_size == 0:
        raise ImageLoadError("empty", str(path))
    if not os.access(path, os.R_OK):
        raise ImageLoadError("unreadable", f"{path}: permission denied")


def _check_pixels(im: Image.Image, max_pixels: int) -> None:
    width, height = im.size
    if width * height > max_pixels:
        raise ImageLoadError("too_large", f"{width}x{height} exceeds the pixel limit {max_pixels}")
    if width < 1 or height < 1:
        raise ImageLoadError("corrupt", f"bad size {width}x{height}")


def _classify(exc: BaseException) -> str:
    text = str(exc).lower()
    if isinstance(exc, PermissionError):
        return "unreadable"
    if isinstance(exc, FileNotFoundError):  # deleted after the pre-check (a race, not a bad file)
        return "missing"
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return "symlink_loop"
    if "truncated" in text or isinstance(exc, EOFError):
        return "truncated"
    return "corrupt"


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB; transparency is composited on white."""
    if im.mode == "RGB":
        return im.copy() if im.readonly else im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return _high_bit_depth_to_rgb(im)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return im.convert("RGB")


def _high_bit_depth_to_rgb(im: Image.Image) -> Image.Image:
    import numpy as np

    arr = np.asarray(im, dtype=np.float64)
    # 16-bit data spans 0..65535; a 32-bit "I" image holding 8-bit values is left as is.
    wide = im.mode.startswith("I;16") or (arr.size and float(arr.max()) > 255)
    scale = 255.0 / 65535.0 if wide else 1.0
    gray = np.clip(arr * scale, 0, 255).astype(np.uint8)
    return Image.fromarray(gray, mode="L").convert("RGB")


def center_square(im: Image.Image, size: int) -> Image.Image:
    """Center-crop to a square and resize to `size` x `size` (bicubic, antialiased)."""
    return ImageOps.fit(im, (size, size), method=Image.Resampling.BICUBIC, centering=(0.5, 0.5))
