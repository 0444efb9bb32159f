"""Benchmark 2: JPEG decoding of large scans, full decode + resize vs reduced-size (draft) decode.

Reference: what a plain loader does, `Image.open(p).convert("RGB")` at full size then resize to
the model's input. Product: `engine.data.imageio.load_rgb(p, draft_size=S)` (libjpeg's DCT scaling
decodes at 1/2, 1/4 or 1/8 size directly) then the same resize. Both end in the same
S x S image; the mean absolute pixel difference between the two is reported as a quality check.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as `python benchmarks/bench_decode.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import interleaved, log, run_script, save_result, table

NAME = "decode"
TARGET = 256  # the side the embedding pipeline needs before its center crop
SIZES = {
    "toy": {"images": 2, "width": 800, "height": 600, "repeats": 1},
    "quick": {"images": 4, "width": 4000, "height": 3000, "repeats": 2},
    "full": {"images": 8, "width": 4000, "height": 3000, "repeats": 3},
}


def make_scan(path: Path, *, width: int, height: int, seed: int) -> Path:
    """A painting-like JPEG: smooth colour fields (upsampled coarse noise) plus fine grain.

    Pure noise would be unrealistically slow to decode and compress to a huge file.
    """
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 100 + 2, width // 100 + 2, 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.integers(-12, 13, (height, width, 1), dtype=np.int16)
    arr = np.clip(smooth + grain, 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path, quality=90)
    return path


def full_decode(path: Path) -> Image.Image:
    """The reference: decode every pixel, then resize."""
    from engine.data.imageio import center_square

    with Image.open(path) as im:
        return center_square(im.convert("RGB"), TARGET)


def draft_decode(path: Path) -> Image.Image:
    """The product path: reduced-size decode in libjpeg, then the same resize."""
    from engine.data.imageio import center_square, load_rgb

    return center_square(load_rgb(path, draft_size=TARGET), TARGET)


def safe_full_decode(path: Path) -> Image.Image:
    """The product's loader without draft mode (isolates the loader's own checks)."""
    from engine.data.imageio import center_square, load_rgb

    return center_square(load_rgb(path), TARGET)


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    size = SIZES[scale]
    with tempfile.TemporaryDirectory(prefix="bench-decode-") as tmp:
        log(f"decode: writing {size['images']} JPEGs of {size['width']}x{size['height']}")
        paths = [make_scan(Path(tmp) / f"scan{i}.jpg", width=size["width"], height=size["height"], seed=i)
                 for i in range(size["images"])]
        mean_mib = float(np.mean([p.stat().st_size for p in paths]) / 2**20)
        variants = {"full_decode_pillow": full_decode, "full_decode_load_rgb": safe_full_decode,
                    "draft_decode_load_rgb": draft_decode}
        timings = interleaved({n: (lambda f=f: [f(p) for p in paths]) for n, f in variants.items()},
                              repeats=size["repeats"])
        diff = float(np.mean([np.abs(np.asarray(full_decode(p), np.int16) - np.asarray(draft_decode(p), np.int16)).mean()
                              for p in paths]))
    rows = [{"variant": n, "images_per_s": t.rate(len(paths)), "ms_per_image": 1000 * t.median / len(paths)}
            for n, t in timings.items()]
    ratio = timings["full_decode_pillow"].median / timings["draft_decode_load_rgb"].median
    result = {
        "scale": scale, "config": {**size, "target": TARGET, "jpeg_quality": 90, "mean_file_mib": round(mean_mib, 2)},
        "rows": rows, "speedup_draft_vs_full": ratio, "mean_abs_pixel_diff": diff,
        "runs_s": {n: list(t.runs) for n, t in timings.items()},
    }
    print(table(rows))
    print(f"draft decode is {ratio:.1f}x the full decode; mean |pixel difference| {diff:.2f} / 255")
    save_result(NAME, result, results_dir=results_dir)
    return result


def main(argv=None) -> None:
    run_script(run, __doc__, argv)


if __name__ == "__main__":
    main()
