"""Image preprocessing: the eval transform every model uses, and switchable training augmentations.

Eval: resize the short side to `resize` (bicubic), center-crop `input_size`, scale to [0,1],
normalise with the trunk's own mean/std -> (3, S, S) float tensor.
Training (the reference design's list): center crop, random vertical/horizontal flip, random
rotation, color jitter, random perspective, normalize; each can be switched off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from PIL import Image
from torchvision import transforms as T

Transform = Callable[[Image.Image], torch.Tensor]
_BICUBIC = T.InterpolationMode.BICUBIC


@dataclass(frozen=True)
class AugmentConfig:
    center_crop: bool = True  # else the whole image is squashed to S x S
    vflip: float = 0.0  # probability
    hflip: float = 0.5
    rotation: float = 10.0  # max degrees either way; 0 = off
    color_jitter: float = 0.1  # brightness/contrast/saturation strength; 0 = off
    perspective: float = 0.1  # distortion scale, applied with probability 0.5; 0 = off
    normalize: bool = True

    @classmethod
    def reference(cls) -> "AugmentConfig":
        """The reference design's augmentations, all on."""
        return cls(center_crop=True, vflip=0.5, hflip=0.5, rotation=15.0, color_jitter=0.2, perspective=0.2)


def eval_transform(preprocessing: dict) -> Transform:
    """Deterministic preprocessing described by a checkpoint's `preprocessing` dict."""
    return T.Compose(_geometry(preprocessing, center_crop=True) + _to_tensor(preprocessing, normalize=True))


def train_transform(preprocessing: dict, config: AugmentConfig) -> Transform:
    """Random augmentations per `config`; uses torch's global RNG (seed it for repeatable views)."""
    steps: list = _geometry(preprocessing, center_crop=config.center_crop)
    if config.vflip > 0:
        steps.append(T.RandomVerticalFlip(config.vflip))
    if config.hflip > 0:
        steps.append(T.RandomHorizontalFlip(config.hflip))
    if config.rotation > 0:
        steps.append(T.RandomRotation(config.rotation, interpolation=T.InterpolationMode.BILINEAR))
    if config.perspective > 0:
        steps.append(T.RandomPerspective(config.perspective, p=0.5))
    if config.color_jitter > 0:
        strength = config.color_jitter
        steps.append(T.ColorJitter(brightness=strength, contrast=strength, saturation=strength))
    return T.Compose(steps + _to_tensor(preprocessing, normalize=config.normalize))


def _geometry(preprocessing: dict, *, center_crop: bool) -> list:
    size = int(preprocessing["input_size"])
    if center_crop:
        return [T.Resize(int(preprocessing["resize"]), interpolation=_BICUBIC), T.CenterCrop(size)]
    return [T.Resize((size, size), interpolation=_BICUBIC)]


def _to_tensor(preprocessing: dict, *, normalize: bool) -> list:
    steps: list = [T.ToTensor()]
    if normalize:
        steps.append(T.Normalize(mean=list(preprocessing["mean"]), std=list(preprocessing["std"])))
    return steps
