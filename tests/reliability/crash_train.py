"""Crash trials for `engine train`: SIGKILL mid-run, re-run like a user would, audit. Run as a script.

    python tests/reliability/crash_train.py --work DIR --trials 4 --seed 0

A tiny prepared dataset (6 artists x 3 generated paintings) is trained in frozen mode with an
untrained efficientnet_lite0 trunk (`--weights none`, nothing downloaded), 2 epochs. Each trial
kills a run (at a chosen call, or after a random delay), then re-runs it the way the error
messages tell a user to: `--resume` first, without it when there is nothing to resume. The re-run
must finish; model.pt must load with `load_model` (threshold + calibration present), metrics.csv
must hold each epoch once, last.pt must be at the final epoch. Prints one JSON summary.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forking import arm_kill_point, reap_group, run_and_kill, run_to_end  # noqa: E402
from hostile import _save, noise_image  # noqa: E402

EPOCHS = 2
# (module[:object], attribute, call number, when): SIGKILL the trainer right before/after that call.
KILL_POINTS = [
    ("engine.train.trainer:", "save_last", 1, "before"),  # model.pt of epoch 0 written, last.pt not yet
    ("engine.train.trainer:", "save_last", 2, "before"),  # epoch 1 trained (and saved if best), its last.pt not yet
]


@dataclass
class Trial:
    delay_s: float
    kill_point: str = ""
    killed: bool = False
    left_behind: list[str] = field(default_factory=list)
    reruns: list[str] = field(default_factory=list)  # what the "user" had to run, with outcomes
    completed: bool = False
    model_loads: bool = False
    calibrated: bool = False
    epochs_in_metrics: list[int] = field(default_factory=list)
    last_epoch: int | None = None
    error: str = ""


def make_dataset(work: Path) -> Path:
    from engine.prepare.pipeline import PrepareConfig, prepare_dataset

    source = work / "source"
    for a in range(6):
        for i in range(3):
            _save(source / f"artist {a}" / f"{i}.jpg", noise_image((48, 48), seed=100 * a + i), "JPEG")
    out = work / "data"
    prepare_dataset(source, out=out, config=PrepareConfig(size=48, min_side=1, workers=1, val_fraction=0.34,
                                                          test_fraction=0.17, near_dup_threshold=-1))
    return out


def train_job(data: Path, out: Path, home: Path, cache: Path, *, resume: bool, kill_point=None):
    def job():
        from engine.model.network import NetworkConfig
        from engine.train.trainer import train_model
        from engine.train.config import TrainConfig

        if kill_point:
            arm_kill_point(*kill_point)
        config = TrainConfig(
            network=NetworkConfig(backbone="efficientnet_lite0", weights="none", embedding_dim=16, head="linear"),
            mode="frozen", epochs=EPOCHS, batch_size=8, per_artist=2, views=1, workers=0, threads=2,
            device="cpu", val_pairs=40, val_triplets=100, feature_cache=str(cache),
        )
        summary = train_model(data, config=config, out=out, home=home, resume=resume)
        return {"model_path": str(summary["model_path"])}

    return job


def rerun_like_a_user(data: Path, out: Path, home: Path, cache: Path, scratch: Path, trial: Trial) -> bool:
    """`--resume` first; without it only when the error says there is nothing to resume."""
    outcome = run_to_end(train_job(data, out, home, cache, resume=True), scratch / "r.json", timeout_s=300)
    trial.reruns.append(f"--resume: {outcome.status} {outcome.error.splitlines()[0] if outcome.error else ''}".strip())
    if outcome.status == "error" and "drop --resume" in outcome.error:
        outcome = run_to_end(train_job(data, out, home, cache, resume=False), scratch / "r.json", timeout_s=300)
        trial.reruns.append(f"fresh: {outcome.status} {outcome.error.splitlines()[0] if outcome.error else ''}".strip())
    if outcome.status != "ok":
        trial.error = outcome.error[-1500:]
    return outcome.status == "ok"


def audit_model_dir(out: Path, trial: Trial) -> None:
    import csv

    def job():
        import torch

        from engine.model.checkpoint import load_model

        lm = load_model(out / "model.pt")
        last = torch.load(out / "last.pt", weights_only=True)
        return {"calibrated": lm.pair_calibration is not None, "last_epoch": int(last["epoch"])}

    outcome = run_to_end(job, out / "audit.json", timeout_s=120)
    trial.model_loads = outcome.status == "ok"
    if outcome.status == "ok":
        trial.calibrated, trial.last_epoch = outcome.result["calibrated"], outcome.result["last_epoch"]
    else:
        trial.error += outcome.error[-800:]
    with open(out / "metrics.csv", newline="") as fh:
        trial.epochs_in_metrics = [int(row["epoch"]) for row in csv.DictReader(fh)]


def run_trial(i: int, args, rng: random.Random, data: Path, typical_s: float) -> Trial:
    kill_point = KILL_POINTS[i] if i < len(KILL_POINTS) else None
    out, home = args.work / f"model{i}", args.work / f"home{i}"
    cold = i == len(KILL_POINTS)  # this trial starts without the feature cache, so it may die extracting
    cache = args.work / ("cache-cold" if cold else "cache")
    window = (0.2, 0.9) if cold else (0.1, 0.5)  # warm-cache runs are shorter than the (cold) warm-up
    trial = Trial(typical_s * 3 if kill_point else round(rng.uniform(*window) * typical_s, 2),
                  ":".join(map(str, kill_point or ())))
    killed = run_and_kill(train_job(data, out, home, cache, resume=False, kill_point=kill_point),
                          args.work / "k.json", delay_s=trial.delay_s)
    reap_group(killed.pid)
    trial.killed = killed.status in ("killed", "crashed")
    trial.left_behind = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    trial.completed = rerun_like_a_user(data, out, home, cache, args.work, trial)
    if trial.completed:
        audit_model_dir(out, trial)
    return trial


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import engine.train.trainer  # noqa: F401  (heavy imports once, before any fork; no torch op in this process)

    started, rng = time.monotonic(), random.Random(args.seed)
    data = make_dataset(args.work)
    warm = run_to_end(train_job(data, args.work / "warmup", args.work / "home-warmup", args.work / "cache", resume=False),
                      args.work / "w.json", timeout_s=600)
    if warm.status != "ok":
        raise SystemExit(f"warm-up training failed: {warm.error}")
    trials = [run_trial(i, args, rng, data, warm.seconds) for i in range(args.trials)]
    print(json.dumps({"typical_run_s": round(warm.seconds, 2), "seconds": round(time.monotonic() - started, 1),
                      "trials": [asdict(t) for t in trials]}))


if __name__ == "__main__":
    main()
