"""Cross-fitted calibration: no head scores an artist it trained on, every training artist is
scored once, and `engine train` / `engine calibrate` keep the pooled calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import engine.train.crossfit as crossfit
from engine.evaluate.config import EvaluateConfig
from engine.evaluate.recalibrate import calibrate_model
from engine.evaluate.runner import evaluate_model
from engine.model.checkpoint import load_model, read_checkpoint
from engine.model.network import NetworkConfig
from engine.train.config import TrainConfig
from engine.train.data import Split
from engine.train.frozen import new_head
from engine.train.trainer import make_config, train_model
from train_kit import TINY, register_tiny, write_dataset

register_tiny()


def _split(artists: int, per_artist: int, width: int, seed: int, offset: int = 0) -> tuple[torch.Tensor, Split]:
    """(2, N, width) features: an artist is a direction, each painting a noisy copy; view 1 noisier."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((artists, width))
    labels = np.repeat(np.arange(artists), per_artist)
    clean = centres[labels] + 0.8 * rng.standard_normal((len(labels), width))
    views = np.stack([clean, clean + 0.3 * rng.standard_normal(clean.shape)]).astype(np.float32)
    names = [f"artist {a + offset}" for a in labels]
    paths = [f"/x/{n}/{k}.jpg" for k, n in enumerate(names)]
    return torch.from_numpy(views), Split(paths, names, labels.astype(np.int64), paths)


@pytest.fixture()
def fitted(monkeypatch):
    config = TrainConfig(network=NetworkConfig(embedding_dim=8), epochs=2, batch_size=16, val_pairs=200, val_triplets=100)
    train_feats, train = _split(9, 8, 32, seed=0)
    val_feats, val = _split(3, 8, 32, seed=1, offset=100)
    seen = []
    real_fit = crossfit.fit_head

    def spy(head, config, feats, split, *args, **kwargs):
        seen.append(set(split.artists))
        assert sorted(set(split.labels.tolist())) == list(range(len(set(split.artists))))  # relabelled 0..A-1
        return real_fit(head, config, feats, split, *args, **kwargs)

    monkeypatch.setattr(crossfit, "fit_head", spy)
    built = []

    def build(features):
        built.append(len(features))
        return new_head(32, config.network, features)

    held = crossfit.crossfit_pairs(build, config, train_feats, train, val_feats[0], val, folds=3)
    return held, seen, built, train


def test_no_head_scores_an_artist_it_trained_on(fitted):
    held, seen, built, train = fitted
    everyone = set(train.artists)
    assert len(seen) == 3 and built == [48, 48, 48]  # each head starts on the clean view of 6 of the 9 artists
    scored = [everyone - trained for trained in seen]
    assert all(len(group) == 3 for group in scored)
    assert set().union(*scored) == everyone and sum(map(len, scored)) == 9  # every artist held out exactly once
    assert (held.artists, held.folds) == (9, 3)
    assert len(held.scores) == len(held.same) and held.same.any() and (~held.same).any()
    assert np.all(np.abs(held.scores) <= 1 + 1e-6)  # cosines of unit embeddings
    # the artists are separable, so the held-out heads rank same-artist pairs higher
    assert held.scores[held.same].mean() > held.scores[~held.same].mean() + 0.2


def test_too_few_artists_fall_back_to_val_pairs():
    assert crossfit.usable_folds(9, 3) == 3 and crossfit.usable_folds(5, 3) == 2 and crossfit.usable_folds(3, 3) == 1
    feats, train = _split(3, 4, 16, seed=2)
    val_feats, val = _split(2, 4, 16, seed=3, offset=50)
    config = TrainConfig(network=NetworkConfig(embedding_dim=4), epochs=1, batch_size=8, val_pairs=20, val_triplets=10)
    assert crossfit.crossfit_pairs(lambda f: new_head(16, config.network, f), config, feats, train, val_feats[0], val, folds=3) is None


FAST = dict(mode="frozen", epochs=2, backbone=TINY, weights="none", batch_size=8, per_artist=2, views=2,
            val_pairs=60, val_triplets=100, threads=1, workers=0)


def test_train_stores_the_pooled_calibration_and_calibrate_keeps_it(tmp_path):
    data = write_dataset(tmp_path / "data", artists=9, per_artist=6, val_artists=3)
    summary = train_model(data, config=make_config("default", **FAST), out=tmp_path / "m", home=tmp_path / "home")
    stored = read_checkpoint(summary["model_path"])
    assert (stored["held_out"]["artists"], stored["held_out"]["folds"]) == (6, 3)
    assert stored["calibration"]["held_out_artists"] == 6 and summary["calibration_artists"] == 9
    assert stored["calibration"]["anchor"] == pytest.approx(stored["threshold"]) == pytest.approx(summary["threshold"])
    lm = load_model(summary["model_path"])
    assert lm.held_out["artists"] == 6

    written = Path(summary["model_path"]).read_bytes()
    result = evaluate_model(model=summary["model_path"], split="val", pairs=60, home=tmp_path / "home",
                            config=EvaluateConfig(baseline=False, bootstrap=10, triplets=100))
    assert "held-out pairs of 6 training artists" in result["verification"]["threshold_source"]
    assert Path(summary["model_path"]).read_bytes() == written  # evaluate only reads
    refit = calibrate_model(model=summary["model_path"], pairs=60, home=tmp_path / "home")
    assert "held-out pairs of 6 training artists" in refit["source"]
    assert refit["threshold"] == result["verification"]["threshold"]  # the stored fit is the one evaluate reports
    again = read_checkpoint(summary["model_path"])
    assert again["calibration"]["held_out_artists"] == 6 and again["held_out"] == stored["held_out"]
    assert again["fingerprint"] == stored["fingerprint"]


def test_calibration_folds_zero_calibrates_on_val_alone(tmp_path):
    data = write_dataset(tmp_path / "data", artists=9, per_artist=6, val_artists=3)
    summary = train_model(data, config=make_config("default", calibration_folds=0, **FAST), out=tmp_path / "m", home=tmp_path / "home")
    stored = read_checkpoint(summary["model_path"])
    assert "held_out" not in stored and "held_out_artists" not in stored["calibration"]
    assert summary["calibration_artists"] == 3


def test_resuming_a_finished_run_recalibrates_from_the_stored_best_head(tmp_path):
    data = write_dataset(tmp_path / "data", artists=9, per_artist=6, val_artists=3)
    config = make_config("default", **FAST)
    first = train_model(data, config=config, out=tmp_path / "m", home=tmp_path / "home")
    before = read_checkpoint(first["model_path"])
    again = train_model(data, config=config, out=tmp_path / "m", home=tmp_path / "home", resume=True)  # nothing left to train
    after = read_checkpoint(again["model_path"])
    assert after["fingerprint"] == before["fingerprint"] and after["held_out"] == before["held_out"]
    assert after["threshold"] == pytest.approx(before["threshold"]) and after["calibration"]["a"] == pytest.approx(before["calibration"]["a"])
