"""Backbones by library name: `timm:NAME` (any timm model, `arch` or `arch.tag`) and
`torchvision:NAME` (torchvision classification models).

Each is resolved once into a BackboneSpec from the model's own pretrained config (timm:
`pretrained_cfg` input size, crop_pct, mean/std; torchvision: the default weights' transforms,
crop and resize size, mean/std) and registered with engine.model.backbones (which imports this module lazily). The feature width is
measured by one forward pass on the meta device (no memory, no compute). Weights: engine.model.weights.
Multiscale pooling (engine.model.pooling) of a timm CNN pools the mean and std of each stage of its
`feature_info` from stride 4 up to, not including, the last stage (already in the final pool);
transformers (one stride throughout) and torchvision models get the final features only.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from engine.base.errors import EngineError
from engine.model.spec import IMAGENET_MEAN, IMAGENET_STD, BackboneSpec, drop_classifier

PREFIXES = ("timm:", "torchvision:")


def is_zoo_name(name: str) -> bool:
    return name.startswith(PREFIXES)


def split_name(name: str) -> tuple[str, str]:
    """"timm:resnet18" -> ("timm", "resnet18")."""
    library, _, model = name.partition(":")
    if library not in ("timm", "torchvision") or not model:
        raise EngineError(f"unknown backbone {name!r}; use timm:NAME or torchvision:NAME (e.g. timm:convnext_tiny)")
    return library, model


def resolve(name: str) -> tuple[BackboneSpec, Callable[[], nn.Module]]:
    """(spec, classifier factory) for a `timm:`/`torchvision:` name; EngineError for an unknown model."""
    library, model = split_name(name)
    factory = _timm_factory(model) if library == "timm" else _torchvision_factory(model)
    size, resize, mean, std = _timm_geometry(model) if library == "timm" else _torchvision_geometry(model)
    spec = BackboneSpec(name, size, resize, mean, std, _measured_width(factory, size))
    if library == "timm":
        from engine.model.pooling import STAGES

        STAGES.setdefault(name, (_timm_stages(factory),) * 2)
    return spec, factory


def _timm_stages(factory: Callable[[], nn.Module]) -> tuple[str, ...]:
    """Module names of the middle stages of a timm CNN (module docstring); () for a transformer."""
    with torch.device("meta"):
        info = list(getattr(factory(), "feature_info", None) or [])
    reductions = [int(d.get("reduction", 0)) for d in info]
    if len(set(reductions)) < 2:
        return ()
    return tuple(d["module"] for d, r in zip(info, reductions) if 4 <= r < max(reductions))


def _timm_factory(model: str) -> Callable[[], nn.Module]:
    import timm

    arch = model.split(".", 1)[0]
    if not timm.is_model(arch):
        close = timm.list_models(f"*{arch[:6]}*")[:5]
        hint = f"; close names: {', '.join(close)}" if close else "; see timm.list_models()"
        raise EngineError(f"timm has no model {model!r}{hint}")
    return lambda: timm.create_model(model, pretrained=False)


def _timm_geometry(model: str) -> tuple[int, int, tuple, tuple]:
    import timm

    cfg = timm.get_pretrained_cfg(model)
    if cfg is None:  # an architecture without pretrained configs: timm's ImageNet defaults
        return 224, 256, IMAGENET_MEAN, IMAGENET_STD
    size = int(cfg.input_size[-1])
    resize = int(round(size / float(cfg.crop_pct or 0.875)))
    return size, resize, tuple(float(v) for v in cfg.mean), tuple(float(v) for v in cfg.std)


def _torchvision_factory(model: str) -> Callable[[], nn.Module]:
    import torchvision

    known = torchvision.models.list_models(module=torchvision.models)
    if model not in known:
        raise EngineError(f"torchvision has no classification model {model!r}; use one of torchvision.models.list_models()")
    return lambda: torchvision.models.get_model(model, weights=None)


def _torchvision_geometry(model: str) -> tuple[int, int, tuple, tuple]:
    import torchvision

    try:
        preset = torchvision.models.get_model_weights(model).DEFAULT.transforms()
    except (ValueError, AttributeError):  # no published weights: the ImageNet defaults
        return 224, 256, IMAGENET_MEAN, IMAGENET_STD
    return int(preset.crop_size[0]), int(preset.resize_size[0]), tuple(preset.mean), tuple(preset.std)


def _measured_width(factory: Callable[[], nn.Module], size: int) -> int:
    """Output width of the trunk (classifier removed), from a meta-device forward pass."""
    with torch.device("meta"), torch.no_grad():
        trunk = drop_classifier(factory()).eval()
        return int(trunk(torch.zeros(1, 3, size, size)).shape[1])
