"""The cross-validation measures the model that ships: its default head recipe and `engine train --mode frozen`
train the same head (to 1e-6) and store the same calibration, on a small generated set (issue 23)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from benchmarks.crossval.features import FeatureSet
from benchmarks.crossval.recipes import HeadRecipe
from engine.model.checkpoint import read_checkpoint
from engine.train.distributed import run_config
from engine.train.data import load_train_data
from engine.train.frozen import FrozenTrainer
from engine.train.steps import set_seed
from engine.train.trainer import make_config, train_model
from engine.train.validation import Validator
from train_kit import TINY, register_tiny, write_dataset

register_tiny()


def _feature_set(features: torch.Tensor, split) -> FeatureSet:
    """A Split and its (V, N, F) features as the CV harness holds them."""
    return FeatureSet(features.cpu().numpy(), np.array(split.artists, dtype=object), np.array(split.groups, dtype=object),
                      np.zeros(len(split), dtype=np.int64), list(split.paths))


@pytest.mark.parametrize("calibration_folds", [3, 0])
def test_cv_head_recipe_equals_engine_train(tmp_path, calibration_folds):
    data = write_dataset(tmp_path / "data", artists=9, per_artist=6, val_artists=3)
    config = make_config("default", mode="frozen", epochs=3, backbone=TINY, weights="none", batch_size=8, per_artist=2,
                         views=2, val_pairs=60, val_triplets=100, threads=1, workers=0, calibration_folds=calibration_folds,
                         feature_cache=str(tmp_path / "cache"))
    summary = train_model(data, config=config, out=tmp_path / "model", home=tmp_path / "home")
    shipped = read_checkpoint(summary["model_path"])

    # the CV's view of the same paintings: the trainer's features, as FeatureSets (weights "none": a random trunk,
    # seeded as train_model seeds it, so the feature cache, keyed by the trunk's weights, is hit)
    set_seed(config.seed)
    frozen = FrozenTrainer(run_config(config), load_train_data(data), cache_dir=tmp_path / "cache")
    train, val = _feature_set(frozen.train_feats, frozen.train), _feature_set(frozen.val_feats[None], frozen.val)
    embedder = HeadRecipe("default", replace(config, feature_cache=None)).fit(train, val, seed=config.seed)

    shipped_head = {k.removeprefix("head."): v for k, v in shipped["state_dict"].items() if k.startswith("head.")}
    cv_head = embedder.head.state_dict()
    assert sorted(cv_head) == sorted(shipped_head)
    for name, value in cv_head.items():
        torch.testing.assert_close(value.float(), shipped_head[name].float(), rtol=0, atol=1e-6, msg=name)
    assert shipped["metrics"]["epoch"] == summary["best_epoch"]

    # the calibration the CV fits from that head equals the one model.pt stores
    validator = Validator.for_config(config, frozen.val)
    emb = embedder(frozen.val_feats.numpy())
    held_out = getattr(embedder, "held_out", None)
    assert (held_out is None) == (calibration_folds == 0)
    threshold, calibration = validator.calibrate(emb, held_out=held_out)
    assert threshold == pytest.approx(shipped["threshold"], abs=1e-9)
    assert calibration.keys() == shipped["calibration"].keys()
    for key, value in calibration.items():
        assert value == pytest.approx(shipped["calibration"][key], abs=1e-9), key
