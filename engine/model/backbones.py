"""CNN trunks by name, each with its own input size and normalisation.

A trunk maps a normalised image batch (B, 3, S, S) to global-pooled features (B, F).
Pretrained weights are resolved by `engine.model.weights`; this module only knows shapes.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from engine.base.errors import EngineError
from engine.model.zoo import is_zoo_name, resolve
from engine.model.spec import IMAGENET_MEAN, IMAGENET_STD, TF_LITE_MEAN, TF_LITE_STD, BackboneSpec, drop_classifier

BACKBONES: dict[str, BackboneSpec] = {
    "resnet34": BackboneSpec("resnet34", 224, 256, IMAGENET_MEAN, IMAGENET_STD, 512),
    # timm's crop_pct: 0.875 for lite0 (224/256), 0.89 for lite2 (260/292).
    "efficientnet_lite0": BackboneSpec("efficientnet_lite0", 224, 256, TF_LITE_MEAN, TF_LITE_STD, 1280),
    "efficientnet_lite2": BackboneSpec("efficientnet_lite2", 260, 292, TF_LITE_MEAN, TF_LITE_STD, 1280),
}



def _resnet34() -> nn.Module:
    from torchvision.models import resnet34

    return resnet34(weights=None)


def _efficientnet_lite(variant: str) -> Callable[[], nn.Module]:
    """timm's tf_efficientnet_<variant>, module for module, without importing timm (engine.model.efficientnet_lite)."""

    def create() -> nn.Module:
        from engine.model.efficientnet_lite import EfficientNetLite

        return EfficientNetLite(variant)

    return create


_CLASSIFIERS: dict[str, Callable[[], nn.Module]] = {
    "resnet34": _resnet34,
    "efficientnet_lite0": _efficientnet_lite("lite0"),
    "efficientnet_lite2": _efficientnet_lite("lite2"),
}


def register_backbone(spec: BackboneSpec, classifier: Callable[[], nn.Module]) -> None:
    """Add a trunk: `classifier()` builds it randomly initialised with either a `reset_classifier(0)`
    method (timm) or an `fc` layer (torchvision) that `to_trunk` removes. Tests use tiny ones."""
    BACKBONES[spec.name] = spec
    _CLASSIFIERS[spec.name] = classifier


def unregister_backbone(name: str) -> None:
    BACKBONES.pop(name, None)
    _CLASSIFIERS.pop(name, None)


def get_spec(name: str) -> BackboneSpec:
    """The spec of a named trunk; `timm:NAME` / `torchvision:NAME` are resolved (engine.model.zoo) and registered on first use."""
    if name not in BACKBONES and is_zoo_name(name):
        register_backbone(*resolve(name))
    try:
        return BACKBONES[name]
    except KeyError:
        raise EngineError(f"unknown backbone {name!r}; use one of {', '.join(BACKBONES)}, timm:NAME or torchvision:NAME") from None


def build_classifier(name: str) -> nn.Module:
    """The full ImageNet classifier (random init): (B, 3, S, S) -> (B, 1000) logits.

    Pretrained checkpoints are loaded into this shape, then `to_trunk` drops the classifier.
    """
    get_spec(name)
    return _CLASSIFIERS[name]()


def to_trunk(name: str, classifier: nn.Module) -> nn.Module:
    """Drop the classification layer in place: the module then returns pooled features (B, F)."""
    return drop_classifier(classifier, name=name)


def build_trunk(name: str) -> nn.Module:
    """A randomly initialised trunk (weights are loaded separately)."""
    return to_trunk(name, build_classifier(name))


def feature_dim(trunk: nn.Module, spec: BackboneSpec) -> int:
    """Measured output width of `trunk` (guards against a spec/model mismatch)."""
    with torch.no_grad():
        was_training = trunk.training
        trunk.eval()
        out = trunk(torch.zeros(1, 3, spec.input_size, spec.input_size))
        trunk.train(was_training)
    return int(out.shape[1])
