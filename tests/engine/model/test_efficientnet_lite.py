"""engine.model.efficientnet_lite is timm's tf_efficientnet_lite*: same state dict, same init, same outputs."""

from __future__ import annotations

import pytest
import timm
import torch

from engine.model.efficientnet_lite import EfficientNetLite


def _pair(variant: str):
    torch.manual_seed(0)
    theirs = timm.create_model(f"tf_efficientnet_{variant}", pretrained=False)
    torch.manual_seed(0)
    return EfficientNetLite(variant), theirs


@pytest.mark.parametrize("variant", ["lite0", "lite2"])
def test_same_state_dict_keys_shapes_and_init_scale(variant):
    ours, theirs = _pair(variant)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)  # the order matters: ImageNet weights are mapped by position
    for key in a:
        assert a[key].shape == b[key].shape, key
        if a[key].is_floating_point() and a[key].numel() >= 2000:  # TF init: same spread per tensor
            assert a[key].std().item() == pytest.approx(b[key].std().item(), rel=0.15), key


@pytest.mark.parametrize("variant, size", [("lite0", 97), ("lite2", 64)])
def test_same_outputs_eval_train_and_as_trunk(variant, size):
    ours, theirs = _pair(variant)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(size))
    for mode in ("train", "eval"):  # train: batch statistics (and running-stat updates) agree too
        ours.train(mode == "train"), theirs.train(mode == "train")
        with torch.no_grad():
            assert torch.equal(ours(x), theirs(x)), mode
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    ours.reset_classifier(0), theirs.reset_classifier(0)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x)) and ours(x).shape == (2, 1280)
