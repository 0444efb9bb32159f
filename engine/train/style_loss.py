"""Style as a second target: a linear classifier over the painting's style (the manifest's `style` column)
on the embedding, its cross-entropy added to the metric loss with weight `TrainConfig.style_weight`
(connoisseur's multi-label head: artist + style + genre). Paintings without a style take no part in it.
The classifier is a cosine one (normalised-softmax: SCALE x cos(embedding, style proxy)), its proxies
learning at lr x LR_SCALE as the proxy losses' do; it trains with the head and is dropped afterwards:
the embedding is what ships.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

UNKNOWN = -1
SCALE = 16.0
LR_SCALE = 100.0  # as engine.train.metric_losses.PROXY_LR_SCALE


@dataclass
class StyleTarget:
    classifier: nn.Linear
    labels: torch.Tensor  # (N,) style index of each training item, UNKNOWN where it has none
    weight: float
    names: list[str]

    def loss(self, embeddings: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """weight x mean cross-entropy over the batch items that have a style (0 when none has)."""
        target = self.labels[idx]
        known = target != UNKNOWN
        if not bool(known.any()):
            return embeddings.sum() * 0.0
        return self.weight * F.cross_entropy(self.logits(embeddings[known]), target[known])

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        return SCALE * F.normalize(embeddings.float(), dim=1) @ F.normalize(self.classifier.weight, dim=1).T


def style_labels(styles: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """Per item: its style's index into the sorted distinct non-empty styles (UNKNOWN for empty/None)."""
    if styles is None:
        return np.zeros(0, dtype=np.int64), []
    names = sorted({s for s in styles if s})
    ids = {name: k for k, name in enumerate(names)}
    return np.array([ids.get(s, UNKNOWN) if s else UNKNOWN for s in styles], dtype=np.int64), names


def style_target(weight: float, styles: Sequence[str] | None, dim: int, device: torch.device | str = "cpu") -> StyleTarget | None:
    """The auxiliary target when `weight` > 0 and the items carry at least 2 styles; else None."""
    labels, names = style_labels(styles)
    if weight <= 0 or len(names) < 2:
        return None
    return StyleTarget(nn.Linear(dim, len(names), bias=False).to(device), torch.from_numpy(labels).to(device), float(weight), names)
