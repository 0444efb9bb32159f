"""Which regions of two paintings carry their similarity: one map per painting over the spatial cells
of the trunk's last feature map (the input of its global average pool; 7 x 7 for a 224-pixel input).

Two methods, chosen by the model (`explain_method`):

* "exact" (Stylianou et al., WACV 2019, "Visualizing deep similarity networks"): when the embedding
  before its L2 normalisation is an affine map g of the average-pooled last feature map,
  u = g(mean_ij f_ij) = mean_ij g(f_ij), so the cosine splits exactly over the cells:
      cos(a, b) = sum_ij  g(fa_ij) . v / (HW |u| |v|)     (map of a; b's map likewise with u)
  and each map sums to the cosine. Models that get it: the untrained baseline (pooled features),
  and trained models with `pooling="avg"` and a "linear" head (BatchNorm + Linear, affine in eval)
  or a "projected" head without the signed square root.
* "gradient-x-activation": every other model, among them the default recipe (`pooling="gram"`:
  the embedding also reads the means, standard deviations and channel covariances of middle stages,
  and its "projected" head takes a signed square root, so it is not affine in the last map). Map of
  a = sum over channels of d cos / d fa * fa on the same last map. It is a first-order attribution:
  it does not sum to the cosine, and it sees only what reaches the cosine through the last map (the
  middle-stage statistics are held fixed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from engine.base.errors import EngineError, ImageLoadError
from engine.data.imageio import load_rgb
from engine.model.checkpoint import LoadedModel
from engine.model.heads import ProjectedHead
from engine.model.network import EmbeddingHead, PooledFeatures, SiameseNet
from engine.model.pooling import MultiScaleTrunk

EXACT = "exact"
GRADIENT = "gradient-x-activation"


@dataclass(frozen=True)
class Explanation:
    """The cosine of two images, how it was explained, and one (H, W) map per image over the last feature
    map's cells; `inputs`: the two images as the model saw them (S, S, 3) uint8 (resized and cropped)."""

    similarity: float
    method: str
    maps: tuple[np.ndarray, np.ndarray]
    inputs: tuple[np.ndarray, np.ndarray]

    def to_dict(self, *, decimals: int = 5) -> dict:
        """{"similarity", "method", "maps": [grid of a, grid of b]} (each grid a list of H rows of W numbers)."""
        return {"similarity": round(self.similarity, 6), "method": self.method,
                "maps": [np.round(m.astype(np.float64), decimals).tolist() for m in self.maps]}


def explain_method(lm: LoadedModel) -> str:
    """EXACT when the model's embedding is affine in its average-pooled last feature map, else GRADIENT."""
    return EXACT if _affine_head(lm.model) is not None else GRADIENT


def explain_images(lm: LoadedModel, a, b) -> Explanation:
    """Explain the cosine of two decoded RGB images (PIL) under `lm`."""
    xa, xb = (lm.transform(image).unsqueeze(0).to(lm.device) for image in (a, b))
    head = _affine_head(lm.model)
    with torch.inference_mode(False), torch.enable_grad():
        if head is not None:
            similarity, maps = _exact(lm.model, head, xa, xb)
            method = EXACT
        else:
            similarity, maps = _gradient_x_activation(lm.model, xa, xb)
            method = GRADIENT
    return Explanation(similarity, method, maps, (_seen(lm, xa), _seen(lm, xb)))


def explain_paths(lm: LoadedModel, a: str | os.PathLike[str], b: str | os.PathLike[str]) -> Explanation:
    """`explain_images` for two image files; EngineError naming an unreadable one."""
    return explain_images(lm, load_image(lm, a), load_image(lm, b))


def load_image(lm: LoadedModel, path: str | os.PathLike[str]):
    """An image file decoded for `lm` (PIL RGB); EngineError naming it when it cannot be read."""
    try:
        return load_rgb(path, draft_size=int(lm.preprocessing.get("resize", lm.input_size)) if lm.preprocessing else lm.input_size)
    except ImageLoadError as exc:
        if exc.reason == "missing":
            raise EngineError(f"image not found: {path}; check the path") from None
        raise EngineError(f"cannot read image {path} ({exc.reason}); pass a readable image file (JPEG, PNG, ...)") from None


def _exact(model: nn.Module, head, xa: torch.Tensor, xb: torch.Tensor) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    fmap_a, fmap_b = (_feature_map(model, x) for x in (xa, xb))  # (1, C, H, W) each
    cells_a, cells_b = (f[0].flatten(1).T for f in (fmap_a, fmap_b))  # (HW, C): a row per cell, row-major
    with torch.no_grad():
        ga, gb = head(cells_a.double()), head(cells_b.double())  # (HW, D): g of each cell
        u, v = ga.mean(dim=0), gb.mean(dim=0)  # the pre-normalisation embeddings
        scale = u.norm() * v.norm()
        if float(scale) == 0.0:
            raise EngineError("an image has a zero embedding; its similarity is undefined")
        map_a = (ga @ v) / (len(ga) * scale)
        map_b = (gb @ u) / (len(gb) * scale)
        similarity = float(u @ v / scale)
    return similarity, (_grid(map_a, fmap_a), _grid(map_b, fmap_b))


def _gradient_x_activation(model: nn.Module, xa: torch.Tensor, xb: torch.Tensor) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    (ea, fa), (eb, fb) = _forward_with_map(model, xa), _forward_with_map(model, xb)
    cos = torch.nn.functional.cosine_similarity(ea.double(), eb.double(), dim=1)[0]
    ga, gb = torch.autograd.grad(cos, (fa, fb))
    # A channel that is 0 everywhere pools to 0, where the head's signed square root has an infinite slope:
    # it contributes nothing (0 * inf is taken as 0).
    maps = tuple(torch.where(f == 0, torch.zeros_like(f), g * f).sum(dim=1)[0].detach().cpu().numpy().astype(np.float64)
                 for g, f in ((ga, fa), (gb, fb)))
    return float(cos.detach()), maps


def _pool_module(model: nn.Module) -> nn.Module:
    """The last global average pool of the trunk (its input is the last feature map)."""
    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise EngineError("this model has no global average pool over a feature map, so no region map can be drawn")
    return pools[-1]


def _forward_with_map(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(embedding (1, D), the last feature map (1, C, H, W) as a leaf that gradients reach)."""
    kept: list[torch.Tensor] = []

    def capture(module, inputs):
        leaf = inputs[0].detach().float().requires_grad_(True)
        kept.append(leaf)
        return (leaf,)

    handle = _pool_module(model).register_forward_pre_hook(capture)
    try:
        out = model(x)
    finally:
        handle.remove()
    return out, kept[-1]


def _feature_map(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The last feature map (1, C, H, W) of one image."""
    with torch.no_grad():
        _, fmap = _forward_with_map(model, x)
    return fmap.detach()


def _grid(values: torch.Tensor, fmap: torch.Tensor) -> np.ndarray:
    """(HW,) cell values -> (H, W) float64."""
    return values.detach().cpu().numpy().astype(np.float64).reshape(fmap.shape[2], fmap.shape[3])


def _affine_head(model: nn.Module):
    """g: (N, F) pooled trunk features -> (N, D) embeddings before normalisation, when the trunk output is the
    plain global average pool and the head is affine in it; else None."""
    if isinstance(model, PooledFeatures):
        return lambda f: f
    if not isinstance(model, SiameseNet) or isinstance(model.trunk, MultiScaleTrunk) or not isinstance(model.head, EmbeddingHead):
        return None
    layers = model.head.layers
    if isinstance(layers, ProjectedHead):
        if layers.signed_sqrt:
            return None
        return lambda f: nn.functional.linear((f - layers.mean.double()) * layers.inv_sd.double(),
                                              layers.linear.weight.double(), layers.linear.bias.double())
    if isinstance(layers, nn.Sequential) and all(isinstance(m, (nn.Linear, nn.BatchNorm1d)) for m in layers):
        return lambda f: _apply_double(layers, f)
    return None


def _apply_double(layers: nn.Sequential, f: torch.Tensor) -> torch.Tensor:
    """The eval-mode affine layers applied in float64 (BatchNorm1d with its running statistics)."""
    for m in layers:
        if isinstance(m, nn.BatchNorm1d):
            f = (f - m.running_mean.double()) / torch.sqrt(m.running_var.double() + m.eps)
            if m.affine:
                f = f * m.weight.double() + m.bias.double()
        else:
            f = nn.functional.linear(f, m.weight.double(), None if m.bias is None else m.bias.double())
    return f


def _seen(lm: LoadedModel, x: torch.Tensor) -> np.ndarray:
    """The model input back as (S, S, 3) uint8 (undoing the mean/std normalisation)."""
    mean = torch.tensor(lm.preprocessing.get("mean", [0.5, 0.5, 0.5]), dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(lm.preprocessing.get("std", [0.5, 0.5, 0.5]), dtype=torch.float32).view(3, 1, 1)
    rgb = (x[0].detach().float().cpu() * std + mean).clamp(0, 1)
    return (rgb.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
