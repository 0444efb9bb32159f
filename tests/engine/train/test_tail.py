"""The trainable tail on cached activations computes what the whole trunk computes from images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.base.errors import EngineError
from engine.model.network import NetworkConfig, build_pooled_trunk
from engine.model.pooling import feature_blocks
from engine.train.config import TrainConfig
from engine.train.data import Split
from engine.train.frozen import new_head
from engine.train.head_fit import fit_head
from engine.train.tail import CutCapture, TailEmbedder, TailTrunk, cut_shape, tail_stages

SIZE = 64  # small images: the stages are the same, the maps 2 x 2


@pytest.fixture()
def trunk():
    torch.manual_seed(0)
    return build_pooled_trunk(NetworkConfig(weights="none", pooling="gram"), pretrained=False).eval()


def _rows(trunk, cut, images):
    capture = CutCapture(trunk, cut)
    with torch.no_grad():
        rows = capture(images)
    capture.handle.remove()
    return rows


@pytest.mark.parametrize("cut", ["blocks.6", "conv_head"])
def test_tail_on_cached_rows_equals_the_trunk_on_images(trunk, cut):
    images = torch.randn(3, 3, SIZE, SIZE)
    blocks = feature_blocks(trunk, SIZE)
    rows = _rows(trunk, cut, images)
    tail = TailTrunk(trunk, cut=cut, blocks=blocks, map_shape=cut_shape(trunk, cut, SIZE))
    with torch.no_grad():
        direct = trunk(images)
        assert torch.allclose(tail(rows), direct, atol=1e-5)
        # the tail's weights are the trunk's: changed through the tail, the trunk changes the same way
        for p in tail.parameters_trained():
            p.add_(0.05 * torch.randn_like(p))
        changed = trunk(images)
        assert not torch.allclose(changed, direct, atol=1e-3)
        assert torch.allclose(tail(rows), changed, atol=1e-4)


def test_only_the_parts_the_tail_produces_are_recomputed(trunk):
    blocks = feature_blocks(trunk, SIZE)
    tail = TailTrunk(trunk, cut="blocks.6", blocks=blocks, map_shape=cut_shape(trunk, "blocks.6", SIZE))
    assert tail.recomputed == ["final", "mean:blocks.6"]
    rows = _rows(trunk, "blocks.6", torch.randn(2, 3, SIZE, SIZE))
    fixed = rows.clone()
    fixed[:, 1280:tail.width] += 1.0  # every part below the cut is read from the row as it is
    with torch.no_grad():
        out, out_fixed = tail(rows), tail(fixed)
    starts = np.cumsum([0] + [w for _, w in blocks])
    for (name, width), start in zip(blocks, starts):
        moved = not torch.allclose(out[:, start:start + width], out_fixed[:, start:start + width])
        assert moved == (name not in tail.recomputed), name


def test_frozen_stages_between_the_cut_and_train_from(trunk):
    tail = TailTrunk(trunk, cut="blocks.6", blocks=feature_blocks(trunk, SIZE), map_shape=cut_shape(trunk, "blocks.6", SIZE),
                     train_from="conv_head")
    trained = {id(p) for p in tail.parameters_trained()}
    assert trained == {id(p) for name, m in tail_stages(trunk, "conv_head") for p in m.parameters()}
    assert not any(p.requires_grad for p in trunk.trunk.blocks[6].parameters())
    with pytest.raises(EngineError, match="below the cut"):
        TailTrunk(trunk, cut="conv_head", blocks=feature_blocks(trunk, SIZE), map_shape=(320, 2, 2), train_from="blocks.6")
    with pytest.raises(EngineError, match="unknown cut"):
        tail_stages(trunk, "blocks.9")


def test_batch_norms_keep_their_statistics_in_training(trunk):
    tail = TailTrunk(trunk, cut="blocks.6", blocks=feature_blocks(trunk, SIZE), map_shape=cut_shape(trunk, "blocks.6", SIZE))
    before = trunk.trunk.bn2.running_mean.clone()
    tail.train()
    tail(_rows(trunk, "blocks.6", torch.randn(4, 3, SIZE, SIZE)))
    assert torch.equal(trunk.trunk.bn2.running_mean, before)


def test_fit_head_trains_the_tail_at_its_own_rate(trunk):
    torch.manual_seed(1)
    images = torch.randn(24, 3, SIZE, SIZE)
    rows = _rows(trunk, "blocks.6", images)
    blocks = feature_blocks(trunk, SIZE)
    tail = TailTrunk(trunk, cut="blocks.6", blocks=blocks, map_shape=cut_shape(trunk, "blocks.6", SIZE), train_from="conv_head")
    config = TrainConfig(network=NetworkConfig(weights="none", embedding_dim=8), epochs=2, batch_size=8, per_artist=2, val_pairs=50)
    head = new_head(tail.width, config.network, rows[:, :tail.width].numpy())
    model = TailEmbedder(tail, head, tail_lr_scale=0.1)
    groups = model.param_groups()
    assert groups[1]["lr_scale"] == 0.1 and len(groups[1]["params"]) == len(list(tail.parameters_trained()))
    artists = [f"a{i % 6}" for i in range(24)]
    split = Split([f"p{i}" for i in range(24)], artists, np.array([i % 6 for i in range(24)]), [f"g{i}" for i in range(24)])
    before = trunk.trunk.conv_head.weight.clone()
    frozen_before = trunk.trunk.blocks[6][0].conv_pw.weight.clone()
    fit = fit_head(model, config, rows[None], split, rows, split)
    assert len(fit.history) == 3
    if fit.best_epoch:  # the best epoch's weights are the trunk's now
        assert not torch.equal(trunk.trunk.conv_head.weight, before)
    assert torch.equal(trunk.trunk.blocks[6][0].conv_pw.weight, frozen_before)
