"""The one loop that trains an embedding head on trunk features held in memory.

`head_epoch` is the epoch of `engine train --mode frozen` (FrozenTrainer calls it) and of `fit_head`,
which the cross-fitted calibration heads and the cross-validation's head recipes use: P x K batches, a
random cached view per item, the config's loss and optimizer, the val metrics of `Validator.for_config`,
and the best epoch kept by the config's selection criterion on the val artists.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from engine.base.progress import Progress, track
from engine.base.runtime import torch_threads
from engine.train.config import TrainConfig
from engine.train.data import Split
from engine.train.steps import build_loss, build_optimizer, epoch_batches
from engine.train.style_loss import LR_SCALE as STYLE_LR_SCALE, StyleTarget, style_target
from engine.train.validation import Validator

SELECTIONS = ("roc_auc", "roc_auc+map_at_r")


def head_epoch(head: nn.Module, optimizer, loss_fn, feats: torch.Tensor, labels: np.ndarray, config: TrainConfig, epoch: int,
               progress: Progress | None = None, *, sources=None, style: StyleTarget | None = None) -> float:
    """One pass of the epoch's batch plan over (V, N, F) features; each item uses a random view. -> mean loss.

    sources (per item): what config.balance_sources balances (epoch_batches); style: the auxiliary style
    loss added to the metric loss (engine.train.style_loss; its classifier must be in the optimizer)."""
    torch.manual_seed(config.seed * 1_000 + epoch)
    rng = np.random.default_rng([config.seed, epoch, 7])
    device = feats.device
    label_tensor = torch.from_numpy(labels).to(device)
    head.train()
    losses = []
    for batch in track(epoch_batches(config, labels, epoch=epoch, sources=sources), progress, f"epoch {epoch}"):
        idx = torch.as_tensor(batch, device=device)
        view = torch.as_tensor(rng.integers(feats.shape[0], size=len(batch)), device=device)
        embeddings = head(feats[view, idx])
        loss = loss_fn(embeddings, label_tensor[idx])
        if style is not None:
            loss = loss + style.loss(embeddings, idx)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return float(np.mean(losses)) if losses else float("nan")


def selection_score(metrics: dict, selection: str) -> float:
    """The number the best epoch maximises: val ROC-AUC, or ROC-AUC + MAP@R (ranking and neighbours)."""
    if selection == "roc_auc":
        return float(metrics["roc_auc"])
    return float(metrics["roc_auc"] + metrics["map_at_r"])


@dataclass
class HeadFit:
    head: nn.Module
    best_epoch: int
    history: list[dict] = field(default_factory=list)


def fit_head(
    head: nn.Module,
    config: TrainConfig,
    train_feats: torch.Tensor,
    train: Split,
    val_feats: torch.Tensor,
    val: Split,
    *,
    selection: str = "roc_auc",
    loss_fn: nn.Module | None = None,
    loss_lr_scale: float = 1.0,
) -> HeadFit:
    """Train `head` for config.epochs on (V, N, F) features; returns it at its best epoch (0 = as built).

    `loss_fn` (default: the config's triplet loss) may hold parameters (proxies); they learn at lr * `loss_lr_scale`."""
    loss_fn = loss_fn if loss_fn is not None else build_loss(config)
    # a module with its own optimizer groups (engine.train.tail.TailEmbedder: the trunk's tail at a smaller lr) names them
    groups = head.param_groups() if hasattr(head, "param_groups") else [{"params": [p for p in head.parameters() if p.requires_grad]}]
    if list(loss_fn.parameters()):
        groups.append({"params": loss_fn.parameters(), "lr_scale": loss_lr_scale})
    style = style_target(config.style_weight, train.styles, config.network.embedding_dim, train_feats.device)
    if style is not None:
        groups.append({"params": style.classifier.parameters(), "lr_scale": STYLE_LR_SCALE})
    optimizer = build_optimizer(config, groups)
    validator = Validator.for_config(config, val)
    best, history = (-np.inf, 0, copy.deepcopy(head.state_dict())), []
    with torch_threads(1):
        for epoch in range(config.epochs + 1):
            loss = head_epoch(head, optimizer, loss_fn, train_feats, train.labels, config, epoch, sources=train.sources, style=style) if epoch else float("nan")
            metrics = _val_metrics(head, val_feats, val, validator)
            score = selection_score(metrics, selection)
            history.append({"epoch": epoch, "train_loss": loss, **metrics, "score": score})
            if score > best[0]:
                best = (score, epoch, copy.deepcopy(head.state_dict()))
    head.load_state_dict(best[2])
    return HeadFit(head.eval(), best[1], history)


@torch.no_grad()
def _val_metrics(head: nn.Module, val_feats: torch.Tensor, val: Split, validator: Validator) -> dict:
    head.eval()
    return validator.metrics(head(val_feats).float().cpu().numpy(), with_loss=False)
