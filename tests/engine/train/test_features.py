"""Frozen-mode feature cache: computed once, reused, resumable, views deterministic, damage tolerated."""

from __future__ import annotations

import pytest
import torch

from engine.inference.forward_plan import InferencePlan

import engine.train.features as features
from engine.model.augment import AugmentConfig
from engine.model.backbones import build_trunk, get_spec
from engine.data.hashing import file_sha256
from engine.train.features import cached_features, view_key
from train_kit import TINY, register_tiny

register_tiny()


@pytest.fixture
def setup(image_factory, tmp_path):
    paths = [str(image_factory(f"{i}.jpg", seed=i, size=(48, 40))) for i in range(6)]
    torch.manual_seed(0)
    trunk = build_trunk(TINY)
    keys = [file_sha256(p) for p in paths]
    return trunk, paths, keys, tmp_path / "cache"


def _run(trunk, paths, keys, cache, views=3, augment=AugmentConfig.reference(), plan=InferencePlan(batch_size=4)):
    return cached_features(
        trunk, paths, keys, backbone=TINY, preprocessing=get_spec(TINY).preprocessing(), augment=augment,
        views=views, cache_dir=cache, device=torch.device("cpu"), plan=plan, num_workers=0,
    )


def test_concurrent_streams_give_the_same_features(setup, tmp_path):
    trunk, paths, keys, _ = setup
    one, _ = _run(trunk, paths, keys, tmp_path / "one")
    two, _ = _run(trunk, paths, keys, tmp_path / "two", plan=InferencePlan(batch_size=2, streams=2, threads=1))
    torch.testing.assert_close(two, one, rtol=1e-4, atol=1e-5)


def test_the_default_plan_does_not_depend_on_timing():
    from engine.inference.forward_plan import steady_plan

    cpu = torch.device("cpu")
    assert steady_plan(cpu, cores=2) == steady_plan(cpu, cores=2) == InferencePlan(batch_size=4, streams=2, threads=1)
    assert steady_plan(cpu, cores=1) == InferencePlan(batch_size=16, streams=1, threads=1)
    assert steady_plan(torch.device("cuda")) == InferencePlan(batch_size=64)


def test_cached_features_are_reused_not_recomputed(setup, monkeypatch):
    trunk, paths, keys, cache = setup
    feats, ok = _run(trunk, paths, keys, cache)
    assert feats.shape == (3, 6, 24) and ok.all()
    assert len(list(cache.glob("*.pt"))) == 3
    assert not torch.allclose(feats[0], feats[1])  # view 1 is augmented, view 0 clean
    monkeypatch.setattr(features, "forward_dataset", lambda *a, **k: pytest.fail("recomputed"))
    again, _ = _run(trunk, paths, keys, cache)
    assert torch.equal(feats, again)


def test_views_are_deterministic_and_incremental(setup, tmp_path):
    trunk, paths, keys, cache = setup
    first, _ = _run(trunk, paths[:4], keys[:4], cache)
    fresh, _ = _run(trunk, paths, keys, tmp_path / "other")  # all six, from scratch, other batching
    both, _ = _run(trunk, paths, keys, cache)  # four cached + two new
    assert torch.allclose(first, fresh[:, :4], atol=1e-3) and torch.allclose(both, fresh, atol=1e-3)


def test_key_depends_on_weights_and_augmentation():
    prep = get_spec(TINY).preprocessing()
    base = dict(backbone=TINY, trunk_fingerprint="a", preprocessing=prep, augment=AugmentConfig(), view=1)
    assert view_key(**base) != view_key(**{**base, "trunk_fingerprint": "b"})
    assert view_key(**base) != view_key(**{**base, "augment": AugmentConfig.reference()})
    clean = {**base, "view": 0}
    assert view_key(**clean) == view_key(**{**clean, "augment": AugmentConfig.reference()})


def test_unreadable_images_are_flagged_and_damaged_cache_ignored(setup, tmp_path):
    trunk, paths, keys, cache = setup
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    paths, keys = paths + [str(tmp_path / "bad.jpg")], keys + ["bad"]
    feats, ok = _run(trunk, paths, keys, cache, views=1)
    assert ok.tolist() == [True] * 6 + [False] and float(feats[0, 6].abs().sum()) == 0.0
    for file in cache.glob("*.pt"):
        file.write_bytes(b"garbage")
    again, ok2 = _run(trunk, paths, keys, cache, views=1)
    assert ok2.tolist() == ok.tolist() and torch.allclose(again, feats)
