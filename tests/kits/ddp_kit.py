"""torchrun entry points for the DDP tests, and a BatchNorm-free tiny trunk.

`python -m torch.distributed.run --standalone --nproc-per-node 2 -m ddp_kit steps OUT DATA`:
each rank takes 3 optimizer steps on its slice of the fixed global batch (`global_batch`), then
trains with `train_model` for 2 epochs and resumes to 4; it writes OUT/steps{rank}.pt and OUT/summary{rank}.json.
`... -m ddp_kit cli train ...`: the real CLI with the tiny trunk registered.

The trunk has no BatchNorm: torch's SyncBatchNorm is CUDA-only, so on gloo BatchNorm statistics are
per rank and the DDP == one-process equivalence holds only without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from engine.model.backbones import BackboneSpec, register_backbone

PLAIN = "tiny_plain"
PLAIN_SPEC = BackboneSpec(PLAIN, input_size=32, resize=36, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), feature_dim=16)
GLOBAL_BATCH, STEPS = 16, 3
REPO = Path(__file__).resolve().parents[2]


class PlainNet(nn.Module):
    """conv-relu-pool-conv-relu-gap, no BatchNorm: (B,3,32,32) -> (B,10); `reset_classifier(0)` -> (B,16)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.classifier: nn.Module = nn.Linear(16, 10)

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def register_plain() -> None:
    register_backbone(PLAIN_SPEC, PlainNet)


def fast_config(**overrides):
    from engine.train.trainer import make_config

    options = dict(mode="finetune", backbone=PLAIN, weights="none", pooling="avg", input_norm=False, batch_size=8,
                   per_artist=2, miner="semihard", lr=3e-3, threads=1, workers=0, device="cpu", val_pairs=60,
                   val_triplets=300, epochs=3)
    return make_config("default", **{**options, **overrides})


def global_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed (16,3,32,32) batch of 4 artists x 4 images; rank r of W takes rows [r*16/W, (r+1)*16/W)."""
    generator = torch.Generator().manual_seed(123)
    labels = torch.arange(4).repeat_interleave(4)
    images = torch.randn(GLOBAL_BATCH, 3, 32, 32, generator=generator) + labels.view(-1, 1, 1, 1) * 0.3
    return images, labels


def take_steps(trainer, images: torch.Tensor, labels: torch.Tensor) -> list[float]:
    trainer.model.train()
    return [trainer.train_step(images, labels) for _ in range(STEPS)]


def torchrun(*args: str, nproc: int = 2, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Launch `-m ddp_kit ARGS` on `nproc` local ranks (gloo), with `env` added; stdout/stderr captured."""
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([str(REPO), str(Path(__file__).parent)])}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
               "-m", "ddp_kit", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)


def native_threads() -> list[str]:
    """The names of this process's live native threads (Linux: /proc/self/task): gloo's are pt_gloo_runloop and
    gloo_tcp_loop. A thread that ends between the listing and the read of its name is gone, so it is left out."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            names.append(Path(f"/proc/self/task/{task}/comm").read_text().strip())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return sorted(names)


def _take_shared_steps(out: Path, data: Path, ranks) -> None:
    """3 optimizer steps on this rank's slice of the global batch; the DDP trainer is freed on return."""
    from engine.train.data import load_train_data
    from engine.train.finetune import FinetuneTrainer

    trainer = FinetuneTrainer(fast_config(), load_train_data(data))
    images, labels = global_batch()
    share = slice(ranks.rank * GLOBAL_BATCH // ranks.world_size, (ranks.rank + 1) * GLOBAL_BATCH // ranks.world_size)
    losses = take_steps(trainer, images[share], labels[share])
    torch.save({"state": trainer.model.state_dict(), "losses": losses}, out / f"steps{ranks.rank}.pt")


def _steps(out: Path, data: Path) -> None:
    """What a user's script does: join the group, train, leave; then the normal interpreter exit."""
    from engine.train.distributed import process_group
    from engine.train.trainer import train_model

    threads_before = native_threads()
    with process_group("cpu") as ranks:
        threads_in_group = native_threads()
        _take_shared_steps(out, data, ranks)
        # all triplets (no mining): its loss falls steadily, so a few epochs show learning; 2 epochs, then --resume to 4
        train_model(data, config=fast_config(miner="all", batch_size=4, epochs=2), out=out / "model", home=out / "home")
        summary = train_model(data, config=fast_config(miner="all", batch_size=4, epochs=4), out=out / "model",
                              home=out / "home", resume=True)
    # the group's native threads are joined when the block ends (none left to meet the interpreter's teardown)
    summary["native_threads"] = {"before": threads_before, "in_group": threads_in_group, "after": native_threads()}
    (out / f"summary{ranks.rank}.json").write_text(json.dumps(summary))


def main(argv: list[str]) -> None:
    register_plain()
    if argv[0] == "steps":
        _steps(Path(argv[1]), Path(argv[2]))
    elif argv[0] == "cli":
        from cli.app import main as cli_main

        sys.argv = ["engine", *argv[1:]]
        cli_main()


if __name__ == "__main__":
    main(sys.argv[1:])
