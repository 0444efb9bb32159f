"""The attribution calibration lives in model.pt: written by `engine train`, refitted and stored by
`engine calibrate`; a model saved before it existed still loads (and has none)."""

from __future__ import annotations

import torch

from engine.evaluate.config import EvaluateConfig
from engine.calibrate.attribution import AttributionCalibration
from engine.evaluate.recalibrate import calibrate_model
from engine.evaluate.runner import evaluate_model
from engine.model.checkpoint import load_model, read_checkpoint
from engine.train.trainer import make_config, train_model
from train_kit import TINY, register_tiny, write_dataset

register_tiny()


def test_train_writes_it_old_models_load_and_calibrate_stores_it(tmp_path):
    data = write_dataset(tmp_path / "data", artists=6, per_artist=6, val_artists=3)
    config = make_config("default", mode="frozen", epochs=1, backbone=TINY, weights="none", batch_size=6, per_artist=2,
                         views=1, val_pairs=30, val_triplets=60, threads=1, workers=0)
    path = train_model(data, config=config, out=tmp_path / "m", home=tmp_path / "home")["model_path"]
    assert AttributionCalibration.from_dict(load_model(path).attribution) is not None

    old = read_checkpoint(path)
    del old["attribution"]  # as written before open-set attribution
    torch.save(old, path)
    assert load_model(path).attribution is None

    result = evaluate_model(model=path, split="val", pairs=60, home=tmp_path / "home",
                            config=EvaluateConfig(baseline=False, bootstrap=10, triplets=100))
    assert {"known_correct", "unknown_correct", "auroc", "ece"} <= set(result["open_set"])  # reported beside the rest
    assert "attribution" not in read_checkpoint(path)  # evaluate only reads
    stored_by = calibrate_model(model=path, pairs=60, home=tmp_path / "home")
    assert stored_by["attribution"] is not None and stored_by["threshold"] == result["verification"]["threshold"]
    stored = AttributionCalibration.from_dict(read_checkpoint(path)["attribution"])
    assert stored is not None and stored.k == 10 and load_model(path).fingerprint == old["fingerprint"]
