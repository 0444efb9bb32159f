"""Backbone registry: specs, trunk building, feature widths."""

import pytest

from engine.model.backbones import BACKBONES, build_trunk, feature_dim, get_spec
from engine.base.errors import EngineError
from train_kit import TINY, register_tiny

register_tiny()


def test_specs_of_the_shipped_backbones():
    assert (get_spec("resnet34").input_size, get_spec("resnet34").feature_dim) == (224, 512)
    assert (get_spec("efficientnet_lite0").input_size, get_spec("efficientnet_lite0").mean) == (224, (0.5, 0.5, 0.5))
    assert (get_spec("efficientnet_lite2").input_size, get_spec("efficientnet_lite2").resize) == (260, 292)
    prep = get_spec("resnet34").preprocessing()
    assert prep == {"input_size": 224, "resize": 256, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "interpolation": "bicubic"}


def test_trunk_output_width_matches_the_spec():
    # the shipped trunks are built (and their widths used) in test_weights; this one is cheap
    assert feature_dim(build_trunk(TINY), get_spec(TINY)) == get_spec(TINY).feature_dim


def test_unknown_backbone():
    with pytest.raises(EngineError, match="unknown backbone 'vgg'.*resnet34"):
        get_spec("vgg")
    assert {"resnet34", "efficientnet_lite0", "efficientnet_lite2"} <= set(BACKBONES)
