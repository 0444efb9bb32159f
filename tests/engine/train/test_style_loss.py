"""Style as a second target (issue 28): the auxiliary cross-entropy over the manifest's style."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.train.style_loss import UNKNOWN, style_labels, style_target


def test_style_labels_index_the_sorted_styles_and_mark_missing_ones():
    labels, names = style_labels(["Cubism", "", "Baroque", "Cubism", None])
    assert names == ["Baroque", "Cubism"]
    assert labels.tolist() == [1, UNKNOWN, 0, 1, UNKNOWN]
    assert style_labels(None)[1] == []


def test_no_target_without_weight_or_without_two_styles():
    assert style_target(0.0, ["a", "b"], 4) is None
    assert style_target(1.0, ["a", "a", ""], 4) is None
    assert style_target(1.0, None, 4) is None
    assert style_target(0.5, ["a", "b"], 4).names == ["a", "b"]


def test_style_loss_is_the_weighted_cross_entropy_of_the_items_with_a_style():
    torch.manual_seed(0)
    target = style_target(0.3, ["a", "", "b", "c", ""], 4)
    emb = torch.randn(5, 4)
    idx = torch.tensor([0, 1, 2, 4])
    e, w = emb[[0, 2]].numpy().astype(np.float64), target.classifier.weight.detach().numpy().astype(np.float64)
    cosines = (e / np.linalg.norm(e, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=1, keepdims=True)).T
    logits = 16.0 * cosines  # items 0 and 2 have a style (a=0, b=1)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    by_hand = -0.3 * (log_softmax[0, 0] + log_softmax[1, 1]) / 2
    assert float(target.loss(emb[idx], idx).detach()) == pytest.approx(by_hand, rel=1e-5)
    none = target.loss(emb[[1, 4]], torch.tensor([1, 4]))
    assert float(none) == 0.0


def test_training_with_a_style_weight_learns_the_style_direction():
    """Two styles split every artist's paintings along one feature direction the artist loss ignores:
    head epochs with the style loss separate the styles in the embedding more than without it."""
    from engine.model.network import NetworkConfig
    from engine.train.config import TrainConfig
    from engine.train.frozen import new_head
    from engine.train.head_fit import head_epoch
    from engine.train.steps import build_loss, build_optimizer
    from engine.train.style_loss import LR_SCALE

    rng = np.random.default_rng(0)
    artists, per, dim = 12, 10, 24
    labels = np.repeat(np.arange(artists), per)
    style = np.tile(np.arange(per) % 2, artists)
    feats = rng.normal(size=(artists, dim))[labels] + 0.4 * rng.normal(size=(len(labels), dim))
    feats[:, 0] += 0.6 * (2 * style - 1)  # the style direction
    views = torch.from_numpy(np.stack([feats, feats]).astype(np.float32))
    styles = [f"s{s}" for s in style]

    def separation(weight: float) -> float:
        config = TrainConfig(network=NetworkConfig(embedding_dim=8), batch_size=16, lr=3e-3, style_weight=weight)
        torch.manual_seed(0)
        head = new_head(dim, config.network, feats.astype(np.float32))
        target = style_target(weight, styles, 8)
        groups = [{"params": head.parameters()}] + ([{"params": target.classifier.parameters(), "lr_scale": LR_SCALE}] if target else [])
        optimizer, loss_fn = build_optimizer(config, groups), build_loss(config)
        for epoch in range(1, 11):
            head_epoch(head, optimizer, loss_fn, views, labels, config, epoch, style=target)
        with torch.no_grad():
            emb = torch.nn.functional.normalize(head.eval()(views[0]), dim=1).numpy()
        return float(np.linalg.norm(emb[style == 1].mean(axis=0) - emb[style == 0].mean(axis=0)))

    assert separation(5.0) > separation(0.0) * 1.2
