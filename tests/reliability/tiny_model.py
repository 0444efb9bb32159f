"""A small untrained model.pt written through engineer B's public API (no weights downloaded)."""

from __future__ import annotations

from pathlib import Path

import torch

from engine.model.checkpoint import save_checkpoint
from engine.model.network import NetworkConfig, build_network

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


class CheapNet(torch.nn.Module):
    """(B,3,S,S) -> (B,D): 4x4 average colours through one linear layer, L2-normalised (milliseconds on CPU)."""

    def __init__(self, dim: int, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.pool = torch.nn.AdaptiveAvgPool2d(4)
        self.linear = torch.nn.Linear(48, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(self.linear(self.pool(x).flatten(1)), dim=1)


_FAST: dict[tuple[str, int], object] = {}


def load_fast(path, **kwargs):
    """`engine.model.checkpoint.load_model`, validated for real, with the trunk swapped for `CheapNet`.

    Everything the engine does with the file (weights_only load, config and fingerprint checks) still
    happens once per file; only the convolutions are skipped. Cached per (path, mtime).
    """
    import dataclasses
    from pathlib import Path

    from engine.model.checkpoint import load_model, model_file

    path = model_file(Path(path))
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _FAST:
        lm = load_model(path, **kwargs)
        _FAST[key] = dataclasses.replace(lm, model=CheapNet(lm.embedding_dim).eval())
    return _FAST[key]
