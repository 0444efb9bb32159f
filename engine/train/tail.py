"""Last-stage fine-tuning on a CPU: the trunk below a cut stays frozen and runs once per cached view; the
stages above the cut train together with the embedding head (issue 28's first lever).

A cached row is [the pooled features of the whole pretrained trunk (F) | the activation entering the cut
stage, flattened (C*H*W)] (`CutCapture`, cached like frozen mode's features). `TailTrunk` runs the stages
from the cut on over the activation and rebuilds the pooled features in the trunk's order: the parts those
stages produce ("final" and the statistics of stages at or above the cut) are recomputed, the others
(statistics of the middle stages below the cut) are the row's. So after training the wrapped trunk, whose
modules the tail shares, computes from images exactly what the tail computed from cached activations.

Only EfficientNet-Lite trunks are cut: their stages are `blocks.0` .. `blocks.6`, then `conv_head`, `bn2`.
The tail's batch norms keep their ImageNet statistics (eval mode); their scale and shift train.
"""

from __future__ import annotations

import threading
from typing import Iterator

import torch
from torch import nn

from engine.base.errors import EngineError
from engine.model.pooling import MultiScaleTrunk, stage_statistic

CUTS = ("blocks.6", "conv_head")  # the stage the cached activation enters: 18 KB / 31 KB per view in fp16 at 224 px
EVAL_CHUNK = 256  # rows per forward outside training (the expanded maps of blocks.6 are 225 KB per row)


def stage_sequence(trunk: nn.Module) -> list[tuple[str, nn.Module]]:
    """(dotted name, module) of an EfficientNet-Lite's stages after the stem, in forward order."""
    if not all(hasattr(trunk, a) for a in ("blocks", "conv_head", "bn2")):
        raise EngineError(f"last-stage fine-tuning needs an EfficientNet-Lite trunk, got {type(trunk).__name__}")
    stages = [(f"blocks.{i}", block) for i, block in enumerate(trunk.blocks)]
    return stages + [("conv_head", trunk.conv_head), ("bn2", trunk.bn2)]


def _inner(pooled_trunk: nn.Module) -> nn.Module:
    return pooled_trunk.trunk if isinstance(pooled_trunk, MultiScaleTrunk) else pooled_trunk


def tail_stages(pooled_trunk: nn.Module, cut: str) -> list[tuple[str, nn.Module]]:
    """The stages from `cut` on (shared with the trunk, not copies)."""
    stages = stage_sequence(_inner(pooled_trunk))
    names = [name for name, _ in stages]
    if cut not in names or cut == "bn2":
        raise EngineError(f"unknown cut {cut!r}; use one of {', '.join(CUTS)}")
    return stages[names.index(cut):]


class CutCapture(nn.Module):
    """(B,3,S,S) -> (B, F + C*H*W): the pooled trunk's features and the activation entering `cut`, flattened."""

    def __init__(self, pooled_trunk: nn.Module, cut: str) -> None:
        super().__init__()
        self.pooled_trunk = pooled_trunk
        self.cut = cut
        self.map_shape: tuple[int, int, int] | None = None
        self._captured: dict[int, torch.Tensor] = {}  # thread -> activation: the inference plan runs several threads
        self.handle = tail_stages(pooled_trunk, cut)[0][1].register_forward_pre_hook(self._capture)

    def _capture(self, module: nn.Module, inputs) -> None:
        self._captured[threading.get_ident()] = inputs[0]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pooled = self.pooled_trunk(images).float()
        activation = self._captured.pop(threading.get_ident())
        self.map_shape = tuple(int(d) for d in activation.shape[1:])
        return torch.cat([pooled, activation.float().flatten(1)], dim=1)


class TailTrunk(nn.Module):
    """Cached rows (B, F + C*H*W) -> the pooled features (B, F) with the tail's parts recomputed.

    blocks: the pooled trunk's (name, width) parts in output order (engine.model.pooling.feature_blocks);
    train_from: the first stage whose weights train (default: the cut); stages between the cut and it run frozen."""

    def __init__(self, pooled_trunk: nn.Module, *, cut: str, blocks: tuple[tuple[str, int], ...],
                 map_shape: tuple[int, int, int], train_from: str | None = None) -> None:
        super().__init__()
        stages = tail_stages(pooled_trunk, cut)
        names = [name for name, _ in stages]
        train_from = train_from or cut
        if train_from not in names:
            raise EngineError(f"train_from {train_from!r} is below the cut {cut!r}")
        self.names = names
        self.stages = nn.ModuleList(module for _, module in stages)
        self.trained = set(names[names.index(train_from):])
        for name, module in stages:
            for param in module.parameters():
                param.requires_grad_(name in self.trained)
        self.blocks = tuple(blocks)
        self.width = sum(w for _, w in self.blocks)
        self.map_shape = tuple(map_shape)
        self.recomputed = [name for name, _ in self.blocks if name == "final" or name.partition(":")[2] in names]
        self.train(False)

    def train(self, mode: bool = True) -> "TailTrunk":
        super().train(mode)
        for module in self.modules():  # ImageNet batch statistics stay: batches hold few painters
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def parameters_trained(self) -> Iterator[nn.Parameter]:
        return (p for p in self.stages.parameters() if p.requires_grad)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        if not self.training and len(rows) > EVAL_CHUNK:
            return torch.cat([self(rows[s:s + EVAL_CHUNK]) for s in range(0, len(rows), EVAL_CHUNK)])
        x = rows[:, self.width:].reshape(len(rows), *self.map_shape)
        stats: dict[str, torch.Tensor] = {}
        for name, module in zip(self.names, self.stages):
            with torch.set_grad_enabled(torch.is_grad_enabled() and name in self.trained):
                x = module.forward(x)  # .forward: the pooled trunk's hooks (its own statistics) stay silent
            for part, _ in self.blocks:
                kind, _, stage = part.partition(":")
                if stage == name:
                    stats[part] = stage_statistic(kind, x)
        stats["final"] = x.float().mean(dim=(2, 3))
        parts, start = [], 0
        for part, width in self.blocks:
            parts.append(stats[part] if part in stats else rows[:, start:start + width])
            start += width
        return torch.cat(parts, dim=1)


class TailEmbedder(nn.Module):
    """Cached rows -> embeddings: TailTrunk then the embedding head. Its optimizer groups let the tail learn at
    lr * `tail_lr_scale` (engine.train.head_fit.fit_head reads `param_groups`)."""

    def __init__(self, tail: TailTrunk, head: nn.Module, *, tail_lr_scale: float) -> None:
        super().__init__()
        self.tail = tail
        self.head = head
        self.tail_lr_scale = tail_lr_scale

    def param_groups(self) -> list[dict]:
        return [{"params": list(self.head.parameters())},
                {"params": list(self.tail.parameters_trained()), "lr_scale": self.tail_lr_scale}]

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.head(self.tail(rows))  # the tail chunks its own eval-mode batches


def cut_shape(pooled_trunk: nn.Module, cut: str, input_size: int) -> tuple[int, int, int]:
    """(C, H, W) of the activation entering `cut` for `input_size` images (one eval-mode forward of zeros)."""
    capture = CutCapture(pooled_trunk, cut)
    was_training = pooled_trunk.training
    pooled_trunk.eval()
    with torch.no_grad():
        capture(torch.zeros(1, 3, input_size, input_size))
    capture.handle.remove()
    pooled_trunk.train(was_training)
    return capture.map_shape


def cut_cache_id(pooling: str, cut: str) -> str:
    """The feature cache's pooling identity for rows of `CutCapture` (engine.train.features.view_key)."""
    return f"{pooling}|cut:{cut}"
