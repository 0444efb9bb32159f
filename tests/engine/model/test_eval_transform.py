"""The torchvision-free eval transform gives exactly torchvision's Resize + CenterCrop + ToTensor + Normalize."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from engine.model.augment import eval_transform
from engine.model.backbones import get_spec


def _torchvision(prep: dict):
    return T.Compose([
        T.Resize(int(prep["resize"]), interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(int(prep["input_size"])),
        T.ToTensor(), T.Normalize(mean=list(prep["mean"]), std=list(prep["std"])),
    ])


@pytest.mark.parametrize("backbone", ["efficientnet_lite0", "efficientnet_lite2", "resnet34"])
@pytest.mark.parametrize("size", [(300, 200), (201, 333), (256, 256), (257, 255), (1000, 30), (40, 20), (7, 500)])
def test_bit_identical_to_torchvision(backbone, size):
    prep = get_spec(backbone).preprocessing()
    rng = np.random.default_rng(size[0] * 7 + size[1])
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    ours, theirs = eval_transform(prep)(image), _torchvision(prep)(image)
    assert ours.shape == theirs.shape == (3, prep["input_size"], prep["input_size"])
    assert ours.dtype == theirs.dtype and torch.equal(ours, theirs)


def test_picklable_for_dataloader_workers():
    import pickle

    prep = get_spec("efficientnet_lite0").preprocessing()
    transform = pickle.loads(pickle.dumps(eval_transform(prep)))
    image = Image.new("RGB", (50, 60), (10, 200, 30))
    assert torch.equal(transform(image), eval_transform(prep)(image))
