"""The Siamese embedder: a CNN trunk and a small embedding head, shared by all inputs.

embedding(x) = head(trunk(x)), (B,3,S,S) -> (B,D); L2-normalised when `normalize` so that
similarity is the cosine. The reference design leaves it unnormalised (Euclidean triplet margin 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.model.backbones import BackboneSpec, build_trunk, get_spec
from engine.base.errors import EngineError
from engine.model.heads import ProjectedHead
from engine.model.pooling import POOLINGS, apply_pooling, output_dim

HEADS = ("linear", "mlp", "projected")


@dataclass(frozen=True)
class NetworkConfig:
    backbone: str = "efficientnet_lite0"
    weights: str = "imagenet"  # "imagenet", "none" or a .pth path (only used when building for training)
    embedding_dim: int = 256
    # "projected" (engine.model.heads): standardised trunk features, linear map started at their PCA (CV: issue 13);
    # "linear": BatchNorm + one layer; "mlp": Linear-BN-ReLU-Dropout-Linear
    head: str = "projected"
    hidden_dim: int = 512
    dropout: float = 0.1
    normalize: bool = True
    # "avg": the trunk's global pool; "multiscale": + middle-stage mean/std; "gram": + their channel covariances
    pooling: str = "gram"
    input_norm: bool = True  # BatchNorm1d over the trunk features first (their parts differ in scale)
    signed_sqrt: bool = True  # "projected" head: sign(x) sqrt|x| of the trunk features before standardising

    def validate(self) -> "NetworkConfig":
        get_spec(self.backbone)
        if self.head not in HEADS:
            raise EngineError(f"unknown head {self.head!r}; use one of {', '.join(HEADS)}")
        if self.pooling not in POOLINGS:
            raise EngineError(f"unknown pooling {self.pooling!r}; use one of {', '.join(POOLINGS)}")
        if not 2 <= self.embedding_dim <= 8192:
            raise EngineError(f"--embedding-dim {self.embedding_dim} is out of range; use 2..8192 (e.g. 256)")
        return self


class EmbeddingHead(nn.Module):
    """(B, F) trunk features -> (B, D) embeddings."""

    def __init__(self, in_dim: int, config: NetworkConfig) -> None:
        super().__init__()
        self.normalize = config.normalize
        first: list[nn.Module] = [nn.BatchNorm1d(in_dim)] if config.input_norm and config.head != "projected" else []
        if config.head == "projected":  # fixed standardisation + a linear map started at the features' PCA
            self.layers = ProjectedHead(in_dim, config.embedding_dim, signed_sqrt=config.signed_sqrt)
        elif config.head == "linear":
            self.layers = nn.Sequential(*first, nn.Linear(in_dim, config.embedding_dim))
        else:
            self.layers = nn.Sequential(
                *first,
                nn.Linear(in_dim, config.hidden_dim),
                nn.BatchNorm1d(config.hidden_dim),
                nn.ReLU(inplace=True),
                nn.Dropout(config.dropout),
                nn.Linear(config.hidden_dim, config.embedding_dim),
            )

    def fit_init(self, features) -> None:
        """Data-dependent start (the projected head's standardisation and PCA); a no-op for the others."""
        if hasattr(self.layers, "fit_init"):
            self.layers.fit_init(features)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out = self.layers(features)
        return F.normalize(out.float(), dim=1) if self.normalize else out


class SiameseNet(nn.Module):
    """trunk (B,3,S,S)->(B,F), then head (B,F)->(B,D)."""

    def __init__(self, trunk: nn.Module, head: nn.Module, spec: BackboneSpec) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = head
        self.spec = spec

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(images))


class PooledFeatures(nn.Module):
    """Baseline embedder: the trunk's pooled ImageNet features, L2-normalised: (B,3,S,S) -> (B,F)."""

    def __init__(self, trunk: nn.Module) -> None:
        super().__init__()
        self.trunk = trunk

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.trunk(images).float(), dim=1)


def build_network(config: NetworkConfig, *, pretrained: bool = True) -> SiameseNet:
    """The network for `config`; trunk weights loaded only when `pretrained` (else random init)."""
    spec = get_spec(config.validate().backbone)
    trunk = build_pooled_trunk(config, pretrained=pretrained)
    return SiameseNet(trunk, EmbeddingHead(output_dim(trunk, spec.input_size), config), spec)


def build_pooled_trunk(config: NetworkConfig, *, pretrained: bool = True) -> nn.Module:
    """The trunk with `config.pooling` applied: (B,3,S,S) -> (B,F')."""
    if pretrained and config.weights != "none":
        from engine.model.weights import build_pretrained_trunk

        trunk = build_pretrained_trunk(config.backbone, config.weights)
    else:
        trunk = build_trunk(config.backbone)
    return apply_pooling(config.backbone, trunk, config.pooling)
