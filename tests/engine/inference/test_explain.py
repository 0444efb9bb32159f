"""engine.inference.explain: the exact decomposition sums to the cosine; a pasted patch lights up where it was pasted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.inference.explain import EXACT, GRADIENT, explain_images, explain_method
from engine.inference.explain_image import explanation_png
from engine.model.checkpoint import LoadedModel, load_baseline
from engine.model.network import NetworkConfig, build_network
from engine.synthetic.paint import paint
from engine.synthetic.style import sample_style

SIZE = 256  # the models resize to 256 and crop the central 224: a 256 image is only cropped (16 px a side)


def _painting(index: int, seed: int):
    return paint(sample_style(index, seed=seed), np.random.default_rng(seed), SIZE)


def _with_network(config: NetworkConfig, seed: int = 0) -> LoadedModel:
    torch.manual_seed(seed)
    base = load_baseline("efficientnet_lite0")
    model = build_network(config, pretrained=True).eval()
    return dataclasses.replace(base, model=model, embedding_dim=config.embedding_dim, fingerprint="test")


@pytest.fixture(scope="module")
def baseline() -> LoadedModel:
    return load_baseline("efficientnet_lite0")


@pytest.fixture(scope="module")
def avg_linear() -> LoadedModel:
    return _with_network(NetworkConfig(pooling="avg", head="linear", embedding_dim=64))


def _embedding_cosine(lm: LoadedModel, a, b) -> float:
    with torch.no_grad():
        u, v = (lm.model(lm.transform(x).unsqueeze(0)).double()[0] for x in (a, b))
    return float(u @ v / (u.norm() * v.norm()))


@pytest.mark.parametrize("which", ["baseline", "avg_linear"])
def test_exact_maps_sum_to_the_models_cosine(which, request):
    lm = request.getfixturevalue(which)
    a, b = _painting(1, 3), _painting(2, 4)
    explained = explain_images(lm, a, b)
    assert explain_method(lm) == EXACT and explained.method == EXACT
    cosine = _embedding_cosine(lm, a, b)
    assert explained.similarity == pytest.approx(cosine, abs=1e-4)
    for grid in explained.maps:
        assert grid.shape == (7, 7)
        assert grid.sum() == pytest.approx(cosine, abs=1e-4)
        assert np.ptp(grid) > 0  # cells differ: a map, not a constant


def test_the_default_recipe_gets_gradient_x_activation():
    lm = _with_network(NetworkConfig(embedding_dim=32))  # gram pooling + projected head with signed sqrt
    assert explain_method(lm) == GRADIENT
    a, b = _painting(1, 3), _painting(2, 4)
    explained = explain_images(lm, a, b)
    assert explained.method == GRADIENT and all(g.shape == (7, 7) and np.isfinite(g).all() for g in explained.maps)
    assert explained.similarity == pytest.approx(_embedding_cosine(lm, a, b), abs=1e-4)
    assert not np.allclose(explained.maps[0], 0)
    assert explain_method(_with_network(NetworkConfig(pooling="avg", head="mlp", embedding_dim=32))) == GRADIENT


@pytest.mark.parametrize("which", ["baseline", "avg_linear"])
def test_a_patch_of_a_pasted_into_b_carries_bs_map(which, request):
    lm = request.getfixturevalue(which)
    a, b = _painting(3, 11), _painting(9, 12)
    patch = np.asarray(a)[16:16 + 96, 16:16 + 96]  # after the 16-px crop: pixels 0..95 of 224, cells 0..2 of 7 (32 px each)
    pasted = np.asarray(b).copy()
    pasted[16:16 + 96, 16:16 + 96] = patch
    from PIL import Image

    explained = explain_images(lm, a, Image.fromarray(pasted))
    grid = explained.maps[1]
    inside = np.zeros_like(grid, dtype=bool)
    inside[:3, :3] = True
    assert grid[inside].mean() >= 2 * grid[~inside].mean()
    assert grid[inside].mean() > 0


def test_png_shows_both_paintings(baseline):
    from io import BytesIO

    from PIL import Image

    explained = explain_images(baseline, _painting(1, 1), _painting(2, 2))
    image = Image.open(BytesIO(explanation_png(explained)))
    assert image.format == "PNG" and image.size[0] > 2 * 224 and image.size[1] > 224
