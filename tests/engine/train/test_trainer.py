"""End-to-end training on tiny generated paintings with a tiny registered trunk (seconds, no downloads)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from cli.app import main
from engine.model.checkpoint import load_model
from engine.inference.embedding import embed_paths
from engine.base.errors import EngineError
from engine.base.home import Home
from engine.base.vectors import cosine_scores
from engine.metrics.pair_sampling import sample_pairs
from engine.train.trainer import make_config, train_model
from engine.train.data import load_train_data
from sklearn.metrics import roc_auc_score
from train_kit import TINY, register_tiny, write_dataset

register_tiny()
FAST = dict(backbone=TINY, weights="none", batch_size=8, per_artist=2, views=2, val_pairs=60, val_triplets=300,
            threads=1, workers=0, kind="triplet", miner="all", lr=3e-3)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("train-data"), artists=6, per_artist=6, val_artists=3)


def _rows(model_dir):
    with open(model_dir / "metrics.csv") as fh:
        return list(csv.DictReader(fh))


def test_finetune_loss_falls_and_checkpoint_round_trips(data, tmp_path):
    config = make_config("default", mode="finetune", epochs=4, **FAST)
    summary = train_model(data, config=config, out=tmp_path / "m", home=tmp_path / "home")
    rows = _rows(tmp_path / "m")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3, 4]
    losses = [float(r["train_loss"]) for r in rows[1:]]
    assert losses[-1] < losses[0]
    for name in ("model.pt", "loss.png", "config.json", "last.pt"):
        assert (tmp_path / "m" / name).is_file()
    assert Home.resolve(tmp_path / "home").current_model() == tmp_path / "m" / "model.pt"

    lm = load_model(summary["model_path"])
    assert lm.fingerprint == summary["fingerprint"] and lm.pair_calibration.threshold == pytest.approx(summary["threshold"])
    assert lm.pair_calibration.anchor == lm.pair_calibration.threshold  # p = 0.5 exactly at the decision threshold
    assert lm.config["mode"] == "finetune" and lm.metrics["epoch"] == summary["best_epoch"]
    # re-embedding the val images with the loaded model reproduces the stored val ROC-AUC
    val = load_train_data(data).val
    i, j, same = sample_pairs(val.artists, n_pairs=60, per_artist_cap=config.per_artist_cap, seed=0, groups=val.groups)
    vectors = embed_paths(lm, val.paths, num_workers=0).vectors
    assert roc_auc_score(same, cosine_scores(vectors, i, j)) == pytest.approx(summary["val_roc_auc"], abs=1e-6)


def test_frozen_resume_equals_an_uninterrupted_run(data, tmp_path):
    home = tmp_path / "home"
    straight = train_model(data, config=make_config(epochs=3, mode="frozen", **FAST), out=tmp_path / "a", home=home)
    train_model(data, config=make_config(epochs=2, mode="frozen", **FAST), out=tmp_path / "b", home=home)
    resumed = train_model(data, config=make_config(epochs=3, mode="frozen", **FAST), out=tmp_path / "b", home=home, resume=True)
    a, b = _rows(tmp_path / "a"), _rows(tmp_path / "b")
    assert len(b) == 4
    for key in ("train_loss", "val_loss", "val_roc_auc"):
        assert [r[key] for r in a] == [r[key] for r in b]
    assert resumed["val_roc_auc"] == straight["val_roc_auc"]
    state = torch.load(tmp_path / "b" / "last.pt", weights_only=True)
    assert state["epoch"] == 3 and "optimizer" in state


def test_resume_refuses_other_options(data, tmp_path):
    train_model(data, config=make_config(epochs=1, mode="frozen", **FAST), out=tmp_path / "m", home=tmp_path / "h")
    with pytest.raises(EngineError, match="differ: .*lr"):
        train_model(data, config=make_config(epochs=2, mode="frozen", **{**FAST, "lr": 0.1}), out=tmp_path / "m",
                    home=tmp_path / "h", resume=True)
    with pytest.raises(EngineError, match="nothing to resume"):
        train_model(data, config=make_config(epochs=1, mode="frozen", **FAST), out=tmp_path / "new", resume=True)


def test_cli_json_and_no_overwrite(data, tmp_path, capsys):
    args = ["train", str(data), "--backbone", TINY, "--weights", "none", "--mode", "frozen", "--epochs", "2",
            "--batch-size", "8", "--per-artist", "2", "--threads", "1", "--workers", "0", "--seed", "3",
            "--out", str(tmp_path / "m"), "--home", str(tmp_path / "home"), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model_path"] == str(tmp_path / "m" / "model.pt") and summary["mode"] == "frozen"
    assert {"val_roc_auc", "val_roc_auc_baseline", "val_roc_auc_untrained", "seconds", "threshold"} <= set(summary)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["config"]["seed"] == 3
    assert main(args) == 1
    assert "already holds a model" in capsys.readouterr().err


def test_reference_recipe_runs_end_to_end(data, tmp_path):
    config = make_config("reference", backbone=TINY, weights="none", epochs=1, batch_size=6, val_pairs=60,
                         val_triplets=300, threads=1, workers=0)
    assert (config.sampling, config.loss.margin, config.lr, config.network.normalize) == ("random_triplets", 5.0, 6e-6, False)
    summary = train_model(data, config=config, out=tmp_path / "ref", home=tmp_path / "home")
    lm = load_model(summary["model_path"])
    assert not lm.normalized and lm.embedding_dim == 256 and summary["mode"] == "finetune"
    assert np.isfinite(float(_rows(tmp_path / "ref")[1]["train_loss"]))


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"mode": "sideways"}, {"per_artist": 1}, {"backbone": "vgg"},
                                 {"calibration_folds": 1}, {"calibration_folds": -1}])
def test_bad_options_are_engine_errors(bad):
    with pytest.raises(EngineError):
        make_config(**bad)


def test_make_config_routes_options_to_their_section():
    config = make_config("default", normalize=False, pooling="avg", margin=0.5, rotation=0.0, epochs=3, lr=None)
    assert (config.network.normalize, config.network.pooling, config.loss.margin, config.augment.rotation) == (False, "avg", 0.5, 0.0)
    assert config.epochs == 3 and config.lr == 1e-4  # None means "the recipe's value"
    reference = make_config("reference", backbone="efficientnet_lite0")
    assert reference.network.backbone == "efficientnet_lite0" and reference.network.pooling == "avg" and reference.epochs == 14
