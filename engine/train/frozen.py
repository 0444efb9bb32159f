"""Frozen mode: the trunk never changes, so its features are computed once (cached, several augmented
views per painting) and only the embedding head trains on them: an epoch takes seconds on a CPU.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import numpy as np
import torch

from engine.model.backbones import get_spec
from engine.data.hashing import file_sha256
from engine.train.features import cached_features
from engine.model.network import EmbeddingHead, SiameseNet, build_pooled_trunk
from engine.model.pooling import STAGES
from engine.base.progress import Progress
from engine.base.runtime import torch_threads
from engine.train.config import TrainConfig
from engine.train.data import TrainData
from engine.train.head_fit import head_epoch
from engine.train.style_loss import LR_SCALE as STYLE_LR_SCALE, style_target
from engine.train.steps import build_loss, build_optimizer

logger = logging.getLogger(__name__)


class FrozenTrainer:
    def __init__(self, config: TrainConfig, data: TrainData, *, cache_dir: Path, progress: Progress | None = None) -> None:
        self.config = config
        self.device = torch.device(config.device)
        self.spec = spec = get_spec(config.network.backbone)  # resolved once, passed down
        trunk = build_pooled_trunk(config.network)
        for param in trunk.parameters():
            param.requires_grad_(False)
        train_feats, train_ok = self._features(trunk, data.train.paths, config.views, cache_dir, progress)
        val_feats, val_ok = self._features(trunk, data.val.paths, 1, cache_dir, progress)
        self.train = data.train.subset(train_ok)
        self.val = data.val.subset(val_ok)
        self.train_feats = train_feats[:, train_ok].to(self.device)  # (V, N, F)
        self.val_feats = val_feats[0, val_ok].to(self.device)  # (N_val, F)
        torch.manual_seed(config.seed)  # the head's init must not depend on what the cache held
        self.head = new_head(int(self.train_feats.shape[2]), config.network, self.train_feats[0].float().cpu().numpy()).to(self.device)
        self.model = SiameseNet(trunk.cpu(), self.head, spec)
        self.style = style_target(config.style_weight, self.train.styles, config.network.embedding_dim, self.device)
        extra = [{"params": self.style.classifier.parameters(), "lr_scale": STYLE_LR_SCALE}] if self.style is not None else []
        self.optimizer = build_optimizer(config, [{"params": self.head.parameters()}, *extra])
        self.loss_fn = build_loss(config)

    def _features(self, trunk, paths, views, cache_dir, progress) -> tuple[torch.Tensor, np.ndarray]:
        keys = [file_sha256(p) if Path(p).is_file() else f"missing:{p}" for p in paths]
        return cached_features(
            trunk, paths, keys, backbone=self.spec.name, preprocessing=self.spec.preprocessing(), augment=self.config.augment,
            views=views, cache_dir=cache_dir, pooling=pooling_id(self.config.network), device=self.device, num_workers=self.config.workers, progress=progress,
        )

    def train_epoch(self, epoch: int, progress: Progress | None = None) -> float:
        """One pass of the batch plan; each item uses a random cached view. Returns the mean loss."""
        with torch_threads(1):
            return head_epoch(self.head, self.optimizer, self.loss_fn, self.train_feats, self.train.labels, self.config, epoch, progress,
                              sources=self.train.sources, style=self.style)

    @torch.no_grad()
    def val_embeddings(self) -> np.ndarray:
        self.head.eval()
        with torch_threads(1):
            return self.head(self.val_feats).float().cpu().numpy()

    @torch.no_grad()
    def val_embeddings_of(self, state_dict: dict) -> np.ndarray:
        """Val embeddings of the head in a SiameseNet `state_dict` (e.g. model.pt's best epoch); this head is untouched."""
        head = copy.deepcopy(self.head)
        head.load_state_dict({k.removeprefix("head."): v for k, v in state_dict.items() if k.startswith("head.")})
        head.eval()
        with torch_threads(1):
            return head(self.val_feats).float().cpu().numpy()

    def baseline_embeddings(self) -> np.ndarray:
        """The trunk's plain global-pooled ImageNet features (= load_baseline; multiscale puts them first)."""
        width = self.spec.feature_dim
        return self.val_feats[:, :width].float().cpu().numpy()


def new_head(width: int, network, features: np.ndarray) -> EmbeddingHead:
    """The head frozen mode trains, started on the clean-view features (N, width) (the projected head: their PCA)."""
    head = EmbeddingHead(width, network)
    head.fit_init(features)
    return head


def pooling_id(network) -> str:
    """Cache identity of the pooling: its name and, for multiscale, the pooled stages."""
    if network.pooling == "avg":
        return "avg"
    return f"{network.pooling}:{STAGES.get(network.backbone, ((), ()))}"
