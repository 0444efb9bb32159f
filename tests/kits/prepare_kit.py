"""Helpers shared by the prepare tests (no tests here): smooth generated paintings and CSVs.

Noise images are useless for perceptual hashing (their low frequencies are random), so these
paintings are smooth random fields: distinct seeds give pHashes ~32 bits apart, while a
re-encoded or resized copy stays within a few bits.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from PIL import Image


def painting(seed: int, size: tuple[int, int] = (96, 80)) -> Image.Image:
    """A smooth RGB image (width, height) = size, different for every seed."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return Image.fromarray(coarse, "RGB").resize(size, Image.Resampling.BICUBIC)


def save_painting(path: Path, seed: int, *, size=(96, 80), quality: int = 92, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = painting(seed, size)
    if (fmt or path.suffix.lower().lstrip(".")) in ("jpg", "jpeg", "JPEG"):
        im.save(path, format="JPEG", quality=quality)
    else:
        im.save(path, format=fmt)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def artist_folders(root: Path, counts: dict[str, int], *, seed: int = 0, size=(96, 80)) -> Path:
    """One subfolder per artist with `counts[artist]` distinct paintings; returns root."""
    k = seed * 10_000
    for artist, n in counts.items():
        for j in range(n):
            save_painting(root / artist / f"{j:03d}.jpg", k, size=size)
            k += 1
    return root


def pbn_folder(root: Path, counts: dict[str, int], *, seed: int = 0) -> tuple[Path, list[list[str]]]:
    """A flat Painter-by-Numbers image folder; returns (folder, [filename, artist] rows)."""
    rows, k = [], seed * 10_000
    for artist, n in counts.items():
        for _ in range(n):
            name = f"{k}.jpg"
            save_painting(root / name, k)
            rows.append([name, artist])
            k += 1
    return root, rows
