"""The GPU path in one run (issue 28): fine-tune the whole trunk, score one held-out fold, faiss on the GPU.

    bash benchmarks/gpu_check.sh --data PREPARED          # on a machine with CUDA (see the .sh for wheels)
    bash benchmarks/gpu_check.sh --dry-run                # CPU: every step on a tiny synthetic set

Steps, each timed (images/s or queries/s):
1. `engine train --mode finetune` of the reference recipe (resnet34, random triplets, Euclidean margin 5,
   Adam lr 6e-6, batch 64, 14 epochs; efficientnet_lite0 when resnet34's ImageNet weights are not on the
   machine) and of the CV's best recipe (today's default: gram pooling, PCA-started head, supervised
   contrastive) with the whole trunk trained; mixed precision is bf16 autocast where the GPU has it
   (engine.train.finetune.amp_dtype);
2. `engine evaluate` of each on the prepared set's test painters (never trained on): ROC-AUC, P@1, top-1;
3. exact inner-product search of 1M 256-d vectors (1,000 queries, k=10) with faiss on the CPU and, when
   faiss has GPU support, on the GPU, and how many of the CPU's top-10 the GPU returns.
Prints one JSON summary on stdout. --dry-run shrinks every size and runs on the CPU: it checks the steps,
not the speed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

DRY = {"artists": 8, "per_artist": 6, "size": 96, "epochs": 1, "steps": 2, "batch": 8, "vectors": 20_000, "queries": 50}
FULL = {"epochs_reference": 14, "epochs_default": 6, "vectors": 1_000_000, "queries": 1_000}


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="prepared set (engine prepare, with a test split); not with --dry-run")
    p.add_argument("--dry-run", action="store_true", help="tiny synthetic set, CPU, one short epoch: checks the steps")
    p.add_argument("--work", help="scratch folder (default: a temporary one)")
    p.add_argument("--skip", nargs="*", default=[], choices=("reference", "default", "faiss"), help="steps to leave out")
    args = p.parse_args(argv)
    if not args.dry_run and not args.data:
        p.error("--data PREPARED is required unless --dry-run")
    return args


def environment() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    return {"torch": torch.__version__, "cuda": cuda, "device": torch.cuda.get_device_name(0) if cuda else "cpu",
            "bf16": bool(cuda and torch.cuda.is_bf16_supported())}


def dry_data(work: Path) -> Path:
    """A tiny synthetic prepared set with train, val and test painters."""
    from engine.prepare.pipeline import PrepareConfig, prepare_dataset
    from engine.synthetic.gallery import generate_gallery

    gallery = generate_gallery(work / "gallery", artists=DRY["artists"], per_artist=DRY["per_artist"], size=DRY["size"])
    prepare_dataset(gallery, out=work / "prepared", config=PrepareConfig(size=DRY["size"], val_fraction=0.25, test_fraction=0.25))
    return work / "prepared"


def recipe_config(name: str, *, dry: bool, device: str):
    """The TrainConfig of step 1's recipe `name` (reference | default), whole trunk trained."""
    from engine.model.weights import imagenet_weights_path
    from engine.base.errors import EngineError
    from engine.train.config import make_config

    sizes = dict(epochs=DRY["epochs"], max_steps_per_epoch=DRY["steps"], batch_size=DRY["batch"], workers=0) if dry else {}
    if name == "default":
        return make_config("default", mode="finetune", device=device, **({"epochs": FULL["epochs_default"]} | sizes)), "efficientnet_lite0"
    try:
        imagenet_weights_path("resnet34")
        backbone = "resnet34"
    except EngineError:
        backbone = "efficientnet_lite0"
    overrides = {"epochs": FULL["epochs_reference"]} | sizes
    if backbone != "resnet34":
        overrides["backbone"] = backbone
    return make_config("reference", device=device, **overrides), backbone


def train_and_score(name: str, data: Path, work: Path, *, dry: bool, device: str) -> dict:
    from engine.data.manifest import read_manifest
    from engine.evaluate.runner import evaluate_model
    from engine.train.trainer import train_model

    config, backbone = recipe_config(name, dry=dry, device=device)
    train_images = int((read_manifest(data)["split"] == "train").sum())
    started = time.perf_counter()
    summary = train_model(data, config=config, out=work / f"model-{name}", home=work / "home", make_current=False)
    train_s = time.perf_counter() - started
    per_batch = config.batch_size * (3 if config.sampling == "random_triplets" else 1)  # random triplets: batch_size triplets
    seen = train_images * config.epochs if config.max_steps_per_epoch is None else config.max_steps_per_epoch * per_batch * config.epochs
    started = time.perf_counter()
    result = evaluate_model(model=summary["model_path"], data=data, split="test", pairs=200 if dry else 2000, home=work / "home")
    eval_s = time.perf_counter() - started
    return {
        "backbone": backbone, "epochs": config.epochs, "mode": config.mode, "train_seconds": round(train_s, 2),
        "train_images_per_s": round(seen / train_s, 1), "eval_seconds": round(eval_s, 2),
        "eval_images_per_s": round(2 * result["images"] / eval_s, 1),  # the trained model and its untrained baseline
        "test_artists": result["artists"], "roc_auc": result["verification"]["roc_auc"],
        "baseline_roc_auc": (result.get("baseline") or {}).get("verification", {}).get("roc_auc"),
        "precision_at_1": result["retrieval"].get("precision_at_1"), "top1": result["attribution"].get("top1"),
    }


def faiss_search(*, vectors: int, queries: int, k: int = 10, dim: int = 256) -> dict:
    """Exact inner-product search on the CPU and (when faiss has GPU support) the GPU; GPU's agreement with the CPU."""
    import faiss

    rng = np.random.default_rng(0)
    base = rng.standard_normal((vectors, dim), dtype=np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    query = base[rng.choice(vectors, queries, replace=False)] + 0.1 * rng.standard_normal((queries, dim), dtype=np.float32)
    cpu = faiss.IndexFlatIP(dim)
    cpu.add(base)
    started = time.perf_counter()
    _, cpu_ids = cpu.search(query, k)
    cpu_s = time.perf_counter() - started
    out = {"vectors": vectors, "queries": queries, "k": k, "cpu_queries_per_s": round(queries / cpu_s, 1)}
    if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() < 1:
        return {**out, "gpu": "skipped: this faiss has no GPU support or sees no GPU"}
    gpu = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, cpu)
    gpu.search(query[:10], k)  # warm-up
    started = time.perf_counter()
    _, gpu_ids = gpu.search(query, k)
    gpu_s = time.perf_counter() - started
    agree = np.mean([len(set(a) & set(b)) / k for a, b in zip(cpu_ids, gpu_ids)])
    return {**out, "gpu_queries_per_s": round(queries / gpu_s, 1), "gpu_speedup": round(cpu_s / gpu_s, 1),
            "gpu_top10_agreement": round(float(agree), 4)}


def run(args) -> dict:
    env = environment()
    device = "cuda" if env["cuda"] and not args.dry_run else "cpu"
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        data = dry_data(work) if args.dry_run else Path(args.data)
        summary = {"dry_run": args.dry_run, "environment": env, "data": str(data), "steps": {}}
        for name in ("reference", "default"):
            if name not in args.skip:
                summary["steps"][f"finetune_{name}"] = _timed(lambda n=name: train_and_score(n, data, work, dry=args.dry_run, device=device))
        if "faiss" not in args.skip:
            sizes = (DRY if args.dry_run else FULL)
            summary["steps"]["faiss"] = _timed(lambda: faiss_search(vectors=sizes["vectors"], queries=sizes["queries"]))
    summary["ok"] = all("error" not in s for s in summary["steps"].values())
    return summary


def _timed(step) -> dict:
    """The step's result with its wall time; a failure is recorded (one line), not raised, so later steps still run."""
    started = time.perf_counter()
    try:
        result = step()
    except Exception as exc:  # noqa: BLE001 - the summary says which step failed and why
        logging.getLogger(__name__).exception("step failed")
        result = {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    return {**result, "seconds": round(time.perf_counter() - started, 2)}


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    summary = run(parse(argv))
    print(json.dumps(summary, indent=1))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
