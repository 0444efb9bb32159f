"""Finetune mode: the whole network trains on augmented images (CUDA + mixed precision when present)."""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import torch
from torch.utils.data import DataLoader

from engine.model.augment import eval_transform, train_transform
from engine.inference.datasets import ImagePathDataset, LabelledImageDataset
from engine.inference.embedding import default_workers, forward_dataset
from engine.model.network import PooledFeatures, build_network
from engine.base.progress import Progress, track
from engine.train.config import TrainConfig
from engine.train.data import TrainData
from engine.train.distributed import current, global_batch_loss, mean_over_ranks, rank_batches, wrap_model
from engine.train.steps import build_loss, build_optimizer

logger = logging.getLogger(__name__)


class FinetuneTrainer:
    def __init__(self, config: TrainConfig, data: TrainData, *, progress: Progress | None = None) -> None:
        self.config = config
        self.device = torch.device(config.device)
        self.progress = progress
        torch.manual_seed(config.seed)
        network = build_network(config.network).to(self.device, memory_format=torch.channels_last)
        self.model, self.ddp = wrap_model(network, self.device)  # ddp: the module steps go through
        self.preprocessing = self.model.spec.preprocessing()
        self.train = data.train
        self.val = data.val
        self._val_ok: list[int] | None = None
        self.optimizer = build_optimizer(
            config,
            [
                {"params": self.model.trunk.parameters(), "lr_scale": config.trunk_lr_scale},
                {"params": self.model.head.parameters()},
            ],
        )
        self.loss_fn, self.loss_scale = global_batch_loss(build_loss(config))
        self.amp_dtype = _amp_dtype(config, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.train_set = LabelledImageDataset(
            self.train.paths, self.train.labels, train_transform(self.preprocessing, config.augment),
            draft_size=self.preprocessing["resize"],
        )

    def train_epoch(self, epoch: int, progress: Progress | None = None) -> float:
        rank = current().rank
        torch.manual_seed(self.config.seed * 1_000 + epoch + 7_919 * rank)  # also seeds the workers' augmentations
        plan = rank_batches(self.config, self.train.labels, epoch=epoch)
        workers = self.config.workers if self.config.workers is not None else default_workers(len(self.train), 1)
        loader = DataLoader(self.train_set, batch_sampler=plan, num_workers=workers, pin_memory=self.device.type == "cuda")
        self.model.train()
        losses = []
        for images, labels in track(loader, progress, f"epoch {epoch}", total=len(plan)):
            losses.append(self.train_step(images, labels))
        return mean_over_ranks(np.mean(losses)) if losses else float("nan")

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        """One optimizer step on this rank's (B,3,S,S) images; returns the (global-batch) loss."""
        images = images.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        labels = labels.to(self.device, non_blocking=True)
        autocast = (
            torch.autocast("cuda", dtype=self.amp_dtype) if self.amp_dtype is not None else contextlib.nullcontext()
        )
        with autocast:
            embeddings = self.ddp(images)
        loss = self.loss_fn(embeddings.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach()) * self.loss_scale

    def val_embeddings(self) -> np.ndarray:
        return self._embed_val(self.model.eval())

    def baseline_embeddings(self) -> np.ndarray:
        """The untrained trunk's global-pooled features (= load_baseline; multiscale puts them first)."""
        width = self.model.spec.feature_dim
        return self._embed_val(PooledFeatures(self.model.trunk).eval())[:, :width]

    def _embed_val(self, module: torch.nn.Module) -> np.ndarray:
        dataset = ImagePathDataset(
            self.val.paths, eval_transform(self.preprocessing), input_size=self.preprocessing["input_size"],
            draft_size=self.preprocessing["resize"],
        )
        with torch.no_grad():
            result = forward_dataset(
                module, dataset, device=self.device, out_dim=0, num_workers=self.config.workers,
                progress=self.progress, description="validation",
            )
        if self._val_ok is None and result.errors:
            logger.warning("%d val images could not be read and are left out", len(result.errors))
            keep = np.zeros(len(self.val), dtype=bool)
            keep[result.ok] = True
            self.val = self.val.subset(keep)
        self._val_ok = result.ok
        return result.vectors


def _amp_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    """bf16 where the GPU supports it (no loss scaling needed), else fp16 with a GradScaler; none on CPU."""
    if not config.amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
