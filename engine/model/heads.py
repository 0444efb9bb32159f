"""Heads that start from what the trunk already knows, so training cannot make them forget it.

ProjectedHead: e = unit(((p(x) - mean) / sd) @ W + b), p the signed square root or identity, with mean/sd fixed buffers fitted on the
training features (not BatchNorm: its batch statistics would differ between train and eval), and
W initialised to the top principal directions of the standardised features (`fit_init`). Before
any training step the embedding therefore is the standardised multi-scale trunk feature rotated
and truncated (cosines kept up to the PCA tail); training only moves it from there, and the
epoch-0 model competes in model selection.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.model.projection import ProjectionConfig, fit_projection


class ProjectedHead(nn.Module):
    """(B, F) trunk features -> (B, D) unit embeddings."""

    def __init__(self, in_dim: int, out_dim: int, *, signed_sqrt: bool = False) -> None:
        super().__init__()
        self.signed_sqrt = signed_sqrt
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("inv_sd", torch.ones(in_dim))
        self.linear = nn.Linear(in_dim, out_dim)

    @torch.no_grad()
    def fit_init(self, features: np.ndarray, labels: np.ndarray | None = None) -> "ProjectedHead":
        """Standardise on `features` (N, F) and start W at their top-D principal directions."""
        x = self._power(torch.as_tensor(np.asarray(features, dtype=np.float32))).numpy()
        mean, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
        _, a = fit_projection(x, np.zeros(len(x)), ProjectionConfig(pca_dims=self.linear.out_features, whiten=False))
        self.mean.copy_(torch.from_numpy(mean))
        self.inv_sd.copy_(torch.from_numpy(1 / sd))
        w = (a * sd[:, None]).T  # a = V / sd; W acts on z = (x - mean) / sd
        self.linear.weight.zero_()  # rows beyond the features' rank (D > F or N) start at 0
        self.linear.weight[: len(w)].copy_(torch.from_numpy(w))
        self.linear.bias.zero_()
        return self

    def _power(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sign(x) * x.abs().sqrt() if self.signed_sqrt else x

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        z = (self._power(features.float()) - self.mean) * self.inv_sd
        return F.normalize(self.linear(z), dim=1)
