"""What a trunk is, independent of where it comes from: its input geometry and feature width
(BackboneSpec), the normalisation constants, and how its classification layer is dropped.

A leaf of engine.model: engine.model.backbones (the registry of named trunks) and engine.model.zoo
(timm:/torchvision: names) both build on it, so neither imports the other's module at load time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

from engine.base.errors import EngineError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The TF EfficientNet-Lite checkpoints were trained on inputs scaled to [-1, 1].
TF_LITE_MEAN = (0.5, 0.5, 0.5)
TF_LITE_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class BackboneSpec:
    """What a trunk needs to see: resize the short side to `resize`, center-crop `input_size`."""

    name: str
    input_size: int
    resize: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    feature_dim: int

    def preprocessing(self) -> dict:
        """Plain-data description stored in checkpoints (interpolation is always bicubic)."""
        data = asdict(self)
        data.pop("name")
        data.pop("feature_dim")
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        data["interpolation"] = "bicubic"
        return data


def drop_classifier(classifier: nn.Module, *, name: str = "") -> nn.Module:
    """timm: `reset_classifier(0)`; torchvision: the last Linear of `fc`, `classifier`, `heads` or `head`
    becomes an Identity (resnet, vgg, efficientnet, mobilenet, convnext, regnet, vit, swin, ...)."""
    if hasattr(classifier, "reset_classifier"):
        classifier.reset_classifier(0)
        return classifier
    for attr in ("fc", "classifier", "heads", "head"):
        head = getattr(classifier, attr, None)
        if isinstance(head, nn.Linear):
            setattr(classifier, attr, nn.Identity())
            return classifier
        linears = [i for i, m in enumerate(head) if isinstance(m, nn.Linear)] if isinstance(head, nn.Sequential) else []
        if linears:
            head[linears[-1]] = nn.Identity()
            return classifier
    raise EngineError(f"cannot find the final Linear classification layer of {name or type(classifier).__name__}; use another backbone")
