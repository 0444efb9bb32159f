"""A small untrained model.pt written through engineer B's public API (no weights downloaded)."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.checkpoint import save_checkpoint
from engine.network import NetworkConfig, build_network

BACKBONE = "efficientnet_lite0"


def write_tiny_model(path: Path, *, embedding_dim: int = 32, seed: int = 0, backbone: str = BACKBONE) -> Path:
    """Random-init trunk + linear head, saved as `path` (a model.pt); returns `path`."""
    torch.manual_seed(seed)
    network = NetworkConfig(backbone=backbone, weights="none", embedding_dim=embedding_dim, head="linear")
    model = build_network(network, pretrained=False).eval()
    save_checkpoint(
        path, model=model, network=network, config={"tiny": True, "seed": seed},
        threshold=0.5, calibration={"method": "platt", "a": 6.0, "b": -3.0},
    )
    return path
