"""Helpers for the embedder/training tests: a tiny registered backbone and a tiny prepared dataset."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from engine.model.backbones import BackboneSpec, register_backbone
from engine.model.pooling import STAGES

TINY = "tiny_test"
TINY_SPEC = BackboneSpec(TINY, input_size=32, resize=36, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), feature_dim=24)


class TinyNet(nn.Module):
    """conv-pool-conv-gap classifier: (B,3,32,32) -> (B,10); `reset_classifier(0)` makes it a trunk."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 12, 3, padding=1), nn.BatchNorm2d(12), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(12, 24, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.classifier: nn.Module = nn.Linear(24, 10)

    def reset_classifier(self, num_classes: int) -> None:
        self.classifier = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def register_tiny() -> None:
    register_backbone(TINY_SPEC, TinyNet)
    STAGES[TINY] = (("features.3",), ("features.3",))  # multiscale: + mean/std of the first block


def write_dataset(root: Path, *, artists: int = 8, per_artist: int = 8, val_artists: int = 3, size: int = 40, seed: int = 0) -> Path:
    """A prepared-dataset folder (manifest.csv + JPEGs). An artist is a stripe frequency and
    direction; colours are random per painting, so colour alone does not tell artists apart."""
    rng = np.random.default_rng(seed)
    rows = []
    yy, xx = np.mgrid[0:size, 0:size]
    for a in range(artists):
        freq, vertical = 1 + a % 4, (a // 4) % 2 == 1
        split = "val" if a < val_artists else "train"
        for k in range(per_artist):
            color = rng.integers(40, 215, 3)
            phase = rng.uniform(0, 2 * np.pi)
            stripes = 60 * np.sin(2 * np.pi * freq * (xx if vertical else yy) / size + phase)[..., None]
            arr = np.clip(color + stripes + rng.normal(0, 30, (size, size, 3)), 0, 255).astype(np.uint8)
            rel = Path("images") / f"a{a}" / f"{k}.jpg"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(root / rel, quality=90)
            rows.append({"path": rel.as_posix(), "artist": f"artist {a}", "split": split, "sha256": f"{a:02d}{k:062d}"})
    with open(root / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "artist", "split", "sha256"])
        writer.writeheader()
        writer.writerows(rows)
    return root
