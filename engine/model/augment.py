"""Image preprocessing: the eval transform every model uses, and switchable training augmentations.

Eval: resize the short side to `resize` (bicubic), center-crop `input_size`, scale to [0,1],
normalise with the trunk's own mean/std -> (3, S, S) float tensor.
Training (the reference design's list): center crop, random vertical/horizontal flip, random
rotation, color jitter, random perspective, normalize; each can be switched off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from PIL import Image

# torchvision is imported only for training augmentations: importing it costs ~1.3 s (it pulls in
# torch._dynamo), which `engine query`/`verify` must not pay; the eval transform is PIL + torch.
Transform = Callable[[Image.Image], torch.Tensor]


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
    return EvalTransform(int(preprocessing["resize"]), int(preprocessing["input_size"]),
                         tuple(preprocessing["mean"]), tuple(preprocessing["std"]))


@dataclass(frozen=True)
class EvalTransform:
    """Resize the short side to `resize` (bicubic), center-crop `size`, scale to [0, 1], normalise:
    the same pixels and floats as torchvision's Resize + CenterCrop + ToTensor + Normalize on a PIL
    RGB image (same output-size rule, crop offsets and operation order), without importing it."""

    resize: int
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __call__(self, image: Image.Image) -> torch.Tensor:
        image = _center_crop(_resize_short_side(image, self.resize), self.size)
        pixels = torch.from_numpy(np.array(image, np.uint8, copy=True)).view(image.size[1], image.size[0], -1)
        x = pixels.permute((2, 0, 1)).contiguous().to(dtype=torch.get_default_dtype()).div(255)
        mean = torch.as_tensor(self.mean, dtype=x.dtype).view(-1, 1, 1)
        std = torch.as_tensor(self.std, dtype=x.dtype).view(-1, 1, 1)
        return x.sub_(mean).div_(std)


def _resize_short_side(image: Image.Image, short: int) -> Image.Image:
    w, h = image.size
    if w <= h:
        new_w, new_h = short, int(short * h / w)
    else:
        new_w, new_h = int(short * w / h), short
    return image if (new_w, new_h) == (w, h) else image.resize((new_w, new_h), Image.Resampling.BICUBIC)


def _center_crop(image: Image.Image, size: int) -> Image.Image:
    w, h = image.size
    if size > w or size > h:  # torchvision pads with black first (only for tiny images)
        padded = Image.new(image.mode, (max(w, size), max(h, size)))
        padded.paste(image, ((size - w) // 2 if size > w else 0, (size - h) // 2 if size > h else 0))
        image, (w, h) = padded, padded.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def train_transform(preprocessing: dict, config: AugmentConfig) -> Transform:
    """Random augmentations per `config`; uses torch's global RNG (seed it for repeatable views)."""
    from torchvision import transforms as T

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
    from torchvision import transforms as T

    size, bicubic = int(preprocessing["input_size"]), T.InterpolationMode.BICUBIC
    if center_crop:
        return [T.Resize(int(preprocessing["resize"]), interpolation=bicubic), T.CenterCrop(size)]
    return [T.Resize((size, size), interpolation=bicubic)]


def _to_tensor(preprocessing: dict, *, normalize: bool) -> list:
    from torchvision import transforms as T

    steps: list = [T.ToTensor()]
    if normalize:
        steps.append(T.Normalize(mean=list(preprocessing["mean"]), std=list(preprocessing["std"])))
    return steps
