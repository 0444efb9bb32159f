"""Benchmark 5: training speed, frozen mode (epochs over cached trunk features) vs full fine-tuning.

Data: a per-artist-stratified subset of the prepared real paintings (`engine prepare` output:
$BENCH_PREPARED, else /tmp/prep_art, else prepared here from ../shared/artdata), so the frozen feature cache (the one-off cost) stays bounded; epoch times are also
given per image and projected to the full train split.
Frozen: `engine.train.trainer.train_model(mode="frozen")`: its reported seconds per epoch (head training +
  validation + checkpoint, what the user waits for) and the bare head-training pass
  (`FrozenTrainer.train_epoch`) on the same cached features.
Fine-tune: one full step (forward + backward + optimizer) of `FinetuneTrainer` on a batch of real
  augmented images already in memory; reference: the inference forward pass on that batch.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import ARTDATA, log, run_script, save_result, table

NAME = "training"
PREPARED = Path(os.environ.get("BENCH_PREPARED", "/tmp/prep_art"))
SIZES = {
    # views: cached trunk views per training image (None: the product's default); warmup: untimed steps
    "toy": {"train_per_artist": 4, "val_per_artist": 2, "artists": 4, "epochs": 1, "batch": 4, "steps": 1,
            "warmup": 0, "views": 1},
    "quick": {"train_per_artist": 12, "val_per_artist": 4, "artists": 35, "epochs": 2, "batch": 32, "steps": 2,
              "warmup": 1, "views": None},
    "full": {"train_per_artist": 24, "val_per_artist": 6, "artists": 35, "epochs": 3, "batch": 64, "steps": 3,
             "warmup": 1, "views": None},
}


def subset_manifest(source: Path, out: Path, size: dict) -> dict:
    """Write out/manifest.csv with the first N train and val rows of each artist (absolute paths)."""
    from engine.data.manifest import read_manifest

    frame = read_manifest(source)
    frame["path"] = frame["abspath"]
    parts = []
    for split, per in (("train", size["train_per_artist"]), ("val", size["val_per_artist"])):
        rows = frame[frame["split"] == split]
        keep = sorted(rows["artist"].unique())[: size["artists"]]
        parts.append(rows[rows["artist"].isin(keep)].groupby("artist", sort=True).head(per))
    out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    pd.concat(parts).drop(columns=["abspath"]).to_csv(out / "manifest.csv", index=False)
    return {"train_images_full": int((frame["split"] == "train").sum()),
            "train_images": len(parts[0]), "val_images": len(parts[1])}


def real_prepared(work: Path) -> Path | None:
    """A prepared copy of the real paintings: PREPARED when it exists, else `engine prepare` of
    ../shared/artdata into `work` (~30 s); None without the real paintings."""
    if (PREPARED / "manifest.csv").is_file():
        return PREPARED
    if not (ARTDATA / "train_info.csv").is_file():
        return None
    from engine.prepare.pipeline import prepare_dataset

    log(f"training: preparing {ARTDATA} (no prepared copy at {PREPARED})")
    prepare_dataset(ARTDATA / "train", out=work / "prepared-art", labels=ARTDATA / "train_info.csv")
    return work / "prepared-art"


def toy_prepared(out: Path) -> Path:
    """A tiny prepared folder of generated paintings (when /tmp/prep_art is absent; smoke runs)."""
    from engine.prepare.pipeline import PrepareConfig, prepare_dataset
    from engine.synthetic.gallery import generate_gallery

    gallery = generate_gallery(out / "gallery", artists=8, per_artist=6, size=96, seed=0)
    config = PrepareConfig(size=96, val_fraction=0.25, test_fraction=0.0, near_dup_threshold=-1, workers=1)
    prepare_dataset(gallery, out=out / "prepared", config=config)
    return out / "prepared"


def frozen_run(data_dir: Path, work: Path, size: dict) -> dict:
    from engine.train.trainer import train_model
    from engine.train.config import make_config

    config = make_config(mode="frozen", epochs=size["epochs"], batch_size=size["batch"], val_pairs=200,
                         val_triplets=500, feature_cache=str(work / "cache"), views=size["views"],
                         per_artist=min(4, size["batch"] // 2))
    start = time.perf_counter()
    summary = train_model(data_dir, config=config, out=work / "frozen", home=work / "home")
    total = time.perf_counter() - start
    bare = bare_frozen_epochs(data_dir, config, work / "cache", size["epochs"])
    return {"seconds_per_epoch": summary["seconds_per_epoch"], "setup_seconds": summary["setup_seconds"],
            "total_seconds": total, "bare_epoch_seconds": bare, "train_images": summary["train_images"]}


def bare_frozen_epochs(data_dir: Path, config, cache: Path, epochs: int) -> float:
    """Median seconds of `FrozenTrainer.train_epoch` alone (features come from the warm cache)."""
    from engine.train.distributed import run_config
    from engine.train.data import load_train_data
    from engine.train.frozen import FrozenTrainer

    trainer = FrozenTrainer(run_config(config), load_train_data(data_dir), cache_dir=cache)
    runs = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        trainer.train_epoch(epoch)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def finetune_step(data_dir: Path, size: dict) -> dict:
    """Images/s of a full training step, and of the inference forward pass, on one real batch."""
    import torch

    from engine.train.config import make_config
    from engine.train.distributed import run_config
    from engine.train.data import load_train_data
    from engine.train.steps import epoch_batches

    config = run_config(make_config(mode="finetune", batch_size=size["batch"], per_artist=min(4, size["batch"] // 2)))
    from engine.train.finetune import FinetuneTrainer

    trainer = FinetuneTrainer(config, load_train_data(data_dir))
    batch = epoch_batches(config, trainer.train.labels, epoch=1)[0]
    items = [trainer.train_set[i] for i in batch]
    images, labels = torch.stack([x for x, _ in items]), torch.tensor([y for _, y in items])
    trainer.model.train()
    step = _median_seconds(lambda: trainer.train_step(images, labels), size["steps"], size["warmup"])
    trainer.model.eval()
    with torch.inference_mode():
        forward = _median_seconds(lambda: trainer.model(images.contiguous(memory_format=torch.channels_last)),
                                  size["steps"], size["warmup"])
    return {"batch": len(batch), "step_images_per_s": len(batch) / step, "step_seconds": step,
            "forward_images_per_s": len(batch) / forward, "backbone": config.network.backbone}


def _median_seconds(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):  # allocations, oneDNN kernel selection
        fn()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    import torch

    size = SIZES[scale]
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        work = Path(tmp)
        prepared = real_prepared(work) if scale != "toy" else None
        real = prepared is not None
        source = prepared if real else toy_prepared(work)
        counts = subset_manifest(source, work / "data", size)
        log(f"training: frozen mode on {counts['train_images']} train images")
        frozen = frozen_run(work / "data", work, size)
        log("training: fine-tuning steps")
        finetune = finetune_step(work / "data", size)
    rows = _rows(frozen, finetune, counts)
    result = {"scale": scale, "data": "prepared artdata" if real else "generated gallery", "config": size,
              "torch_threads": torch.get_num_threads(), "counts": counts, "frozen": frozen,
              "finetune": finetune, "rows": rows,
              "frozen_epoch_vs_finetune_epoch": rows[1]["images_per_s"] / rows[3]["images_per_s"],
              "bare_frozen_epoch_vs_finetune_epoch": rows[2]["images_per_s"] / rows[3]["images_per_s"]}
    print(table(rows))
    print(f"a frozen-mode epoch (validation included) runs {result['frozen_epoch_vs_finetune_epoch']:.0f}x "
          "the images/s of a fine-tuning step")
    save_result(NAME, result, results_dir=results_dir)
    return result


def _rows(frozen: dict, finetune: dict, counts: dict) -> list[dict]:
    n, full = frozen["train_images"], counts["train_images_full"]
    per_epoch = frozen["seconds_per_epoch"]
    return [
        {"what": "frozen: feature cache (one-off, trunk forward x views)", "seconds": frozen["setup_seconds"],
         "images_per_s": None, "full_split_epoch_s": None},
        {"what": "frozen: epoch as reported by train_model (incl. validation)", "seconds": per_epoch,
         "images_per_s": n / per_epoch, "full_split_epoch_s": per_epoch * full / n},
        {"what": "frozen: bare head-training epoch", "seconds": frozen["bare_epoch_seconds"],
         "images_per_s": n / frozen["bare_epoch_seconds"], "full_split_epoch_s": frozen["bare_epoch_seconds"] * full / n},
        {"what": f"finetune: full step ({finetune['backbone']}, batch {finetune['batch']})",
         "seconds": finetune["step_seconds"], "images_per_s": finetune["step_images_per_s"],
         "full_split_epoch_s": full / finetune["step_images_per_s"]},
        {"what": "reference: inference forward on the same batch", "seconds": finetune["batch"] / finetune["forward_images_per_s"],
         "images_per_s": finetune["forward_images_per_s"], "full_split_epoch_s": full / finetune["forward_images_per_s"]},
    ]


def main(argv=None) -> None:
    run_script(run, __doc__, argv)


if __name__ == "__main__":
    main()
