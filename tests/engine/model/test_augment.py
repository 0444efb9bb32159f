"""Eval preprocessing and the switchable training augmentations."""

import numpy as np
import torch
from PIL import Image

from engine.model.augment import AugmentConfig, eval_transform, train_transform

PREP = {"input_size": 32, "resize": 36, "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3], "interpolation": "bicubic"}


def _image(w=60, h=40, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


def test_eval_transform_is_resize_center_crop_normalise():
    image = Image.new("RGB", (80, 40), (255, 128, 0))
    x = eval_transform(PREP)(image)
    assert x.shape == (3, 32, 32)
    expected = (torch.tensor([1.0, 128 / 255, 0.0]) - torch.tensor(PREP["mean"])) / torch.tensor(PREP["std"])
    assert torch.allclose(x.mean(dim=(1, 2)), expected, atol=1e-3)


def test_everything_off_equals_eval():
    off = AugmentConfig(center_crop=True, vflip=0, hflip=0, rotation=0, color_jitter=0, perspective=0, normalize=True)
    image = _image()
    assert torch.equal(train_transform(PREP, off)(image), eval_transform(PREP)(image))


def test_normalize_switch():
    off = AugmentConfig(vflip=0, hflip=0, rotation=0, color_jitter=0, perspective=0, normalize=False)
    x = train_transform(PREP, off)(_image())
    assert x.min() >= 0 and x.max() <= 1


def test_flips_are_exact_with_probability_one():
    image = _image(32, 32)
    base = AugmentConfig(center_crop=False, vflip=0, hflip=0, rotation=0, color_jitter=0, perspective=0)
    plain = train_transform(PREP, base)(image)
    flipped = train_transform(PREP, AugmentConfig(center_crop=False, vflip=1.0, hflip=1.0, rotation=0, color_jitter=0, perspective=0))(image)
    assert torch.allclose(flipped, plain.flip(1).flip(2))


def test_reference_augmentations_are_random_but_seedable():
    transform = train_transform(PREP, AugmentConfig.reference())
    image = _image()
    torch.manual_seed(5)
    a = transform(image)
    torch.manual_seed(5)
    b = transform(image)
    torch.manual_seed(6)
    c = transform(image)
    assert a.shape == (3, 32, 32) and torch.equal(a, b) and not torch.equal(a, c)
