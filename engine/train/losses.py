"""Triplet losses: in-batch mining over P x K batches, and the reference design's explicit triplets.

For a triplet (a, p, n) with Euclidean distances d: l = max(0, d(a,p) - d(a,n) + margin).
In-batch: the mined triplets' losses averaged over those > 0 (pytorch-metric-learning's
TripletMarginLoss with its AvgNonZeroReducer). Embeddings are used as the network gives them
(already unit length when the network normalises), so the margin is on the network's own scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from pytorch_metric_learning import distances, losses, miners
from torch import nn

from engine.base.errors import EngineError

MINERS = ("semihard", "hard", "batch_hard", "all")


KINDS = ("triplet", "multi_similarity", "supcon")  # the others of engine.train.metric_losses need the artist count


@dataclass(frozen=True)
class LossConfig:
    kind: str = "triplet"  # triplet (margin, miner below) | multi_similarity | supcon (engine.train.metric_losses)
    margin: float = 0.2
    miner: str = "semihard"  # semihard | hard (every violating triplet) | batch_hard | all (no mining)

    def validate(self) -> "LossConfig":
        if self.kind not in KINDS:
            raise EngineError(f"unknown loss {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.miner not in MINERS:
            raise EngineError(f"unknown miner {self.miner!r}; use one of {', '.join(MINERS)}")
        if not self.margin > 0:
            raise EngineError(f"triplet margin must be > 0, got {self.margin}")
        return self


class BatchTripletLoss(nn.Module):
    """(B, D) embeddings, (B,) integer labels -> scalar loss over mined in-batch triplets."""

    def __init__(self, config: LossConfig = LossConfig()) -> None:
        super().__init__()
        config.validate()
        distance = distances.LpDistance(p=2, power=1, normalize_embeddings=False)
        self.loss = losses.TripletMarginLoss(margin=config.margin, distance=distance)
        self.miner = _miner(config, distance)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        embeddings = embeddings.float()
        if self.miner is None:
            return self.loss(embeddings, labels)
        return self.loss(embeddings, labels, self.miner(embeddings, labels))


def _miner(config: LossConfig, distance: distances.BaseDistance) -> nn.Module | None:
    if config.miner == "all":
        return None
    if config.miner == "batch_hard":
        return miners.BatchHardMiner(distance=distance)
    return miners.TripletMarginMiner(margin=config.margin, type_of_triplets=config.miner, distance=distance)


def explicit_triplet_loss(margin: float) -> nn.Module:
    """The reference design's loss on given (anchor, positive, negative) batches, mean over the batch."""
    return nn.TripletMarginLoss(margin=margin, p=2)


class TripletsAsBatch(nn.Module):
    """Adapter: a batch laid out as [anchors; positives; negatives] (3T, D) -> explicit triplet loss.

    Lets the reference design's random triplets share the (embeddings, labels) calling convention.
    """

    def __init__(self, margin: float) -> None:
        super().__init__()
        self.loss = explicit_triplet_loss(margin)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        anchors, positives, negatives = embeddings.float().chunk(3)
        return self.loss(anchors, positives, negatives)
