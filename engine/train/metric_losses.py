"""Metric-learning losses beyond the semi-hard triplet (pytorch-metric-learning), by name.

Each maps (B, D) embeddings and (B,) integer labels (0..classes-1) to a scalar. Proxy-based ones
(proxy_anchor, normalized_softmax) hold one learnable proxy per training artist; those learn faster
than the head (`PROXY_LR_SCALE`, the usual choice in the papers).
- multi_similarity: Wang et al. 2019, with its miner (epsilon 0.1), alpha 2, beta 50, base 0.5.
- proxy_anchor: Kim et al. 2020, margin 0.1, alpha 32.
- supcon: supervised contrastive, Khosla et al. 2020, temperature 0.1.
- normalized_softmax: cosine classifier over artists, temperature 0.05.
"""

from __future__ import annotations

import torch
from pytorch_metric_learning import losses, miners
from torch import nn

from engine.base.errors import EngineError

METRIC_LOSSES = ("multi_similarity", "proxy_anchor", "supcon", "normalized_softmax")
PROXY_LR_SCALE = 100.0


class _Mined(nn.Module):
    def __init__(self, loss: nn.Module, miner: nn.Module | None = None) -> None:
        super().__init__()
        self.loss, self.miner = loss, miner

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        embeddings = embeddings.float()
        if self.miner is None:
            return self.loss(embeddings, labels)
        return self.loss(embeddings, labels, self.miner(embeddings, labels))


def metric_loss(name: str, *, classes: int, dim: int) -> nn.Module:
    if name == "multi_similarity":
        return _Mined(losses.MultiSimilarityLoss(alpha=2, beta=50, base=0.5), miners.MultiSimilarityMiner(epsilon=0.1))
    if name == "proxy_anchor":
        return _Mined(losses.ProxyAnchorLoss(classes, dim, margin=0.1, alpha=32))
    if name == "supcon":
        return _Mined(losses.SupConLoss(temperature=0.1))
    if name == "normalized_softmax":
        return _Mined(losses.NormalizedSoftmaxLoss(classes, dim, temperature=0.05))
    raise EngineError(f"unknown loss {name!r}; use triplet or one of {', '.join(METRIC_LOSSES)}")
