"""Benchmark 1: indexing throughput (images/s) per backbone, on real paintings.

Product: `indexer.pipeline.index_folder` (scan, hash, decode in DataLoader workers, batched forward,
catalog + FAISS writes) and, to isolate that overhead, `engine.embedding.embed_paths` alone.
References, same run, same batch size and torch threads:
  (a) compute limit: the model's bare forward pass on random tensors, measured right before and
      right after the product runs (the mean is used; the two show the machine's drift);
  (b) the loop a user would write: Pillow open, eval transform, forward one image at a time.
Goals: product >= 0.9 x (a) and >= 3 x (b).
Explanatory columns: decode + transform cost per image on one core and the resulting bound on (a)
when decoding shares the cores with the forward; the bare forward at batch 1 (what batching gains).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import artdata_images, cli_args, log, save_result, table
from benchmarks.models import WEIGHTS, make_model

NAME = "indexing"
BACKBONES = ("efficientnet_lite0", "efficientnet_lite2", "resnet34")
SIZES = {
    "toy": {"images": 4, "naive": 2, "batch": 2, "compute_batches": 1, "backbones": ["efficientnet_lite0"]},
    "quick": {"images": 128, "naive": 32, "batch": 64, "compute_batches": 2, "backbones": list(BACKBONES)},
    "full": {"images": 512, "naive": 96, "batch": 64, "compute_batches": 4, "backbones": list(BACKBONES)},
}


def compute_limit(lm, *, batch: int, batches: int) -> float:
    """Images/s of the bare forward pass on random (batch, 3, S, S) tensors (one warm-up batch)."""
    import torch

    x = torch.randn(batch, 3, lm.input_size, lm.input_size).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        lm.model(x)
        start = time.perf_counter()
        for _ in range(batches):
            lm.model(x)
    return batch * batches / (time.perf_counter() - start)


def naive_loop(lm, paths: list[Path]) -> float:
    """Images/s of the straightforward loop: open, convert, transform, forward, one image at a time."""
    import torch
    from PIL import Image

    def one(path: Path) -> None:
        with Image.open(path) as im:
            x = lm.transform(im.convert("RGB")).unsqueeze(0)
        with torch.no_grad():
            lm.model(x)

    one(paths[0])
    start = time.perf_counter()
    for path in paths:
        one(path)
    return len(paths) / (time.perf_counter() - start)


def decode_seconds(lm, paths: list[Path]) -> float:
    """Seconds per image of what a DataLoader worker does (decode with draft + eval transform), on one
    thread as in a worker. With the forward on all cores, decoding steals core time from it."""
    import torch

    from engine.embedding import _draft
    from engine.imageio import load_rgb

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        for path in paths:
            lm.transform(load_rgb(path, draft_size=_draft(lm)))
        return (time.perf_counter() - start) / len(paths)
    finally:
        torch.set_num_threads(threads)


def sharing_bound(forward_ips: float, decode_s: float, cores: int) -> float:
    """Best possible share of the compute limit when decoding and the forward share `cores` cores:
    per image the forward takes F = 1/limit wall seconds on all cores (cores*F core-seconds) and
    decoding D core-seconds, so at best wall = F + D/cores and the share is F / (F + D/cores)."""
    forward_s = 1.0 / forward_ips
    return forward_s / (forward_s + decode_s / cores)


def embed_rate(lm, paths: list[Path], *, batch: int) -> float:
    from engine.embedding import embed_paths

    start = time.perf_counter()
    result = embed_paths(lm, paths, batch_size=batch)
    assert len(result.ok) == len(paths), result.errors[:3]
    return len(paths) / (time.perf_counter() - start)


def index_rate(folder: Path, model: Path, home: Path, *, batch: int, n: int) -> tuple[float, dict]:
    """(wall images/s of one `index_folder` call into a fresh home, its JSON result)."""
    from indexer.config import IndexConfig
    from indexer.pipeline import index_folder

    start = time.perf_counter()
    result = index_folder(folder, home=home, model=model, config=IndexConfig(batch_size=batch))
    seconds = time.perf_counter() - start
    assert result["added"] == n, result
    return n / seconds, result


def bench_backbone(backbone: str, folder: Path, paths: list[Path], size: dict, work: Path) -> dict:
    from engine.checkpoint import load_model

    model = make_model(backbone, work / "models" / backbone)
    lm = load_model(model, device="cpu")
    batch, batches = size["batch"], size["compute_batches"]
    log(f"indexing: {backbone}: compute limit, index_folder, embed_paths, naive loop")
    before = compute_limit(lm, batch=batch, batches=batches)
    index_ips, index_json = index_rate(folder, model, work / f"home-{backbone}", batch=batch, n=len(paths))
    embed_ips = embed_rate(lm, paths, batch=batch)
    after = compute_limit(lm, batch=batch, batches=batches)
    naive = naive_loop(lm, paths[: size["naive"]])
    batch1 = compute_limit(lm, batch=1, batches=size["naive"])  # what batching buys over the naive loop
    decode = decode_seconds(lm, paths[: size["naive"]])
    limit = (before + after) / 2
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return {
        "backbone": backbone, "weights": WEIGHTS[backbone], "input_size": lm.input_size, "images": len(paths),
        "compute_limit_ips": limit, "compute_before_ips": before, "compute_after_ips": after,
        "index_folder_ips": index_ips, "index_folder_reported_ips": index_json.get("images_per_second"),
        "embed_paths_ips": embed_ips, "naive_loop_ips": naive,
        "index_vs_compute": index_ips / limit, "embed_vs_compute": embed_ips / limit,
        "index_vs_naive": index_ips / naive, "embed_vs_naive": embed_ips / naive,
        "decode_ms_per_image": 1000 * decode, "sharing_bound": sharing_bound(limit, decode, cores),
        "forward_batch1_ips": batch1, "batching_gain": limit / batch1,
    }


def subset_folder(paths: list[Path], folder: Path) -> Path:
    """Copy the subset into a temp folder (the scanner does not follow links out of the folder)."""
    folder.mkdir(parents=True)
    for path in paths:
        shutil.copy2(path, folder / path.name)
    return folder


def toy_images(folder: Path, n: int) -> list[Path]:
    """Generated 256x256 JPEGs when the real paintings are absent (smoke runs only)."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(folder / f"img{i:03d}.jpg")
    return sorted(folder.glob("*.jpg"))


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    import torch

    size = SIZES[scale]
    with tempfile.TemporaryDirectory(prefix="bench-indexing-") as tmp:
        work = Path(tmp)
        source = artdata_images(size["images"])
        real = len(source) == size["images"]
        folder = subset_folder(source, work / "images") if real else None
        paths = sorted(folder.iterdir()) if real else toy_images(work / "images", size["images"])
        rows = [bench_backbone(b, folder or work / "images", paths, size, work) for b in size["backbones"]]
    goals = {r["backbone"]: {"vs_compute": r["index_vs_compute"], "vs_naive": r["index_vs_naive"],
                             "met": r["index_vs_compute"] >= 0.9 and r["index_vs_naive"] >= 3} for r in rows}
    result = {"scale": scale, "data": "artdata (first N by name)" if real else "generated 256x256 JPEGs",
              "config": {**size, "torch_threads": torch.get_num_threads()}, "rows": rows, "goals": goals}
    print(table(rows, ["backbone", "weights", "images", "compute_limit_ips", "index_folder_ips", "embed_paths_ips",
                       "naive_loop_ips", "index_vs_compute", "embed_vs_compute", "index_vs_naive",
                       "decode_ms_per_image", "sharing_bound", "forward_batch1_ips", "batching_gain"]))
    save_result(NAME, result, results_dir=results_dir)
    return result


def main(argv=None) -> None:
    args = cli_args(__doc__.splitlines()[0], argv)
    run(scale=args.scale, results_dir=args.results)


if __name__ == "__main__":
    main()
