"""A corpus of hostile and unusual image files, generated in a folder (no fixtures needed).

`build_corpus(root)` writes every case under `root` and returns `HostileCase`s saying what
must happen to each: `good` files are decoded and processed, the others are skipped with one
of `reasons` (the `engine.data.imageio.load_rgb` reason tags). Everything is tiny (< 50 kB) and
built in well under a second; the decompression bomb is a PNG whose header declares
100000 x 100000 pixels, so nothing large is ever allocated.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

NON_ASCII_DIR = "Ölbilder mit Leerzeichen"
NON_ASCII_NAME = "été à Paris — №1.jpg"


@dataclass(frozen=True)
class HostileCase:
    """One generated file; `reasons` lists the acceptable skip reasons of a bad file."""

    name: str
    path: Path
    good: bool
    reasons: frozenset[str] = frozenset()
    size: tuple[int, int] | None = None  # expected decoded (width, height) of a good file


def noise_image(size: tuple[int, int], *, seed: int, mode: str = "RGB") -> Image.Image:
    """A distinct noisy picture per seed (so no two cases are duplicates)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, 3)
    arr = np.clip(base + rng.normal(0, 50, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    im = Image.fromarray(arr, "RGB")
    return im if mode == "RGB" else im.convert(mode)


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **params)
    return buf.getvalue()


def jpeg_bytes(size=(48, 40), *, seed: int = 0) -> bytes:
    return encode(noise_image(size, seed=seed), "JPEG", quality=90)


def png_bytes(size=(48, 40), *, seed: int = 0) -> bytes:
    return encode(noise_image(size, seed=seed), "PNG")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb_bytes(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG header declaring width x height 8-bit RGB pixels, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _save(path: Path, im: Image.Image, fmt: str, **params) -> Path:
    return _write(path, encode(im, fmt, **params))


def _exif_rotated_jpeg(path: Path, orientation: int, seed: int) -> Path:
    """A 64x32 JPEG whose EXIF says rotate: orientation 6 and 8 both decode to 32x64."""
    im = noise_image((64, 32), seed=seed)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _save(path, im, "JPEG", exif=exif.tobytes(), quality=90)


def _animated_gif(path: Path, seed: int) -> Path:
    frames = [noise_image((40, 40), seed=seed + i).convert("P") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return _write(path, buf.getvalue())


def _png16(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 65535, (36, 44), dtype=np.uint16)
    return _save(path, Image.fromarray(arr), "PNG")


def _palette_transparent(path: Path, seed: int) -> Path:
    im = noise_image((40, 30), seed=seed).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return _save(path, im, "PNG", transparency=0)


def _gray_alpha(path: Path, seed: int) -> Path:
    gray = noise_image((30, 40), seed=seed, mode="L")
    alpha = Image.linear_gradient("L").resize((30, 40))
    im = Image.merge("LA", (gray, alpha))
    return _save(path, im, "PNG")


def _corrupt_jpeg_header(path: Path, seed: int) -> Path:
    data = bytearray(jpeg_bytes(seed=seed))
    data[3:200] = bytes(range(197))  # keep the SOI marker, garble the segments after it
    return _write(path, bytes(data))


def _good(name: str, path: Path, size: tuple[int, int] | None = None) -> HostileCase:
    return HostileCase(name, path, True, frozenset(), size)


def _bad(name: str, path: Path, *reasons: str) -> HostileCase:
    return HostileCase(name, path, False, frozenset(reasons))


def good_cases(root: Path) -> list[HostileCase]:
    """Unusual but valid files: every one must be decoded to RGB and processed."""
    r = root
    return [
        _good("plain_jpeg", _save(r / "plain.jpg", noise_image((48, 40), seed=1), "JPEG"), (48, 40)),
        _good("plain_png", _save(r / "plain.png", noise_image((48, 40), seed=2), "PNG"), (48, 40)),
        _good("one_pixel", _save(r / "one_pixel.png", noise_image((1, 1), seed=3), "PNG"), (1, 1)),
        _good("animated_gif", _animated_gif(r / "animated.gif", 4), (40, 40)),
        _good("tiff", _save(r / "scan.tif", noise_image((40, 36), seed=8), "TIFF"), (40, 36)),
        _good("webp", _save(r / "photo.webp", noise_image((40, 36), seed=9), "WEBP", quality=80), (40, 36)),
        _good("png_16bit", _png16(r / "deep.png", 10), (44, 36)),
        _good("cmyk_jpeg", _save(r / "cmyk.jpg", noise_image((40, 36), seed=11, mode="CMYK"), "JPEG"), (40, 36)),
        _good("palette_transparency", _palette_transparent(r / "palette.png", 12), (40, 30)),
        _good("gray_alpha", _gray_alpha(r / "gray_alpha.png", 13), (30, 40)),
        _good("exif_orientation_6", _exif_rotated_jpeg(r / "exif6.jpg", 6, 14), (32, 64)),
        _good("exif_orientation_8", _exif_rotated_jpeg(r / "exif8.jpg", 8, 15), (32, 64)),
        _good("non_ascii_spaces", _save(r / NON_ASCII_DIR / NON_ASCII_NAME, noise_image((40, 40), seed=16), "JPEG"), (40, 40)),
    ]


def bad_cases(root: Path) -> list[HostileCase]:
    """Files that must be skipped with a reason, never crash anything."""
    r = root
    jpeg, png = jpeg_bytes(seed=20), png_bytes(seed=21)
    return [
        _bad("zero_bytes", _write(r / "empty.jpg", b""), "empty"),
        _bad("text_as_jpeg", _write(r / "notes.jpg", b"this is not a painting\n" * 20), "not_an_image"),
        _bad("truncated_jpeg", _write(r / "truncated.jpg", jpeg[: len(jpeg) // 2]), "truncated", "corrupt"),
        _bad("truncated_png", _write(r / "truncated.png", png[: len(png) // 2]), "truncated", "corrupt"),
        _bad("corrupt_jpeg_header", _corrupt_jpeg_header(r / "corrupt_header.jpg", 22), "corrupt", "not_an_image", "truncated"),
        _bad("decompression_bomb", _write(r / "bomb.png", png_bomb_bytes()), "too_large"),
    ]


def special_cases(root: Path) -> list[HostileCase]:
    """File-system oddities: a symlink loop, a looping directory link, an unreadable file.

    The unreadable file is only part of the corpus when permissions are enforced (not root);
    `permissions_enforced()` tells, and tests simulate it otherwise.
    """
    r = root
    r.mkdir(parents=True, exist_ok=True)
    os.symlink("loop_b.jpg", r / "loop_a.jpg")
    os.symlink("loop_a.jpg", r / "loop_b.jpg")
    (r / "subdir").mkdir(exist_ok=True)
    os.symlink("..", r / "subdir" / "back_to_root")  # a directory cycle for scanners that follow links
    cases = [
        _bad("symlink_loop_a", r / "loop_a.jpg", "symlink_loop", "unreadable", "missing"),
        _bad("symlink_loop_b", r / "loop_b.jpg", "symlink_loop", "unreadable", "missing"),
    ]
    locked = _write(r / "locked.jpg", jpeg_bytes(seed=30))
    locked.chmod(0)
    if permissions_enforced(locked):
        cases.append(_bad("unreadable", locked, "unreadable"))
    else:
        locked.unlink()  # as root the file would read fine; tests simulate this case instead
    return cases


def permissions_enforced(path: Path) -> bool:
    """False when a chmod 000 file can still be opened (root, CAP_DAC_OVERRIDE)."""
    try:
        with open(path, "rb"):
            return False
    except PermissionError:
        return True


def build_corpus(root: Path) -> list[HostileCase]:
    """Write the whole corpus under `root` (created) and return its cases."""
    root.mkdir(parents=True, exist_ok=True)
    return good_cases(root) + bad_cases(root) + special_cases(root)
