"""evaluate_model through the real engine.model.checkpoint / engine.inference.embedding (random-init weights, tiny images)."""

import pytest

from require_kit import require_module

torch = require_module("torch")

from engine.model.checkpoint import load_model, save_checkpoint  # noqa: E402
from engine.evaluate.recalibrate import calibrate_model  # noqa: E402
from engine.evaluate.runner import EvaluateConfig, evaluate_model  # noqa: E402
from engine.model.network import NetworkConfig, build_network  # noqa: E402
from tests.engine.evaluate.test_runner import make_dataset  # noqa: E402


@pytest.mark.slow  # two CNN passes over 9 images at 224 px: a few seconds, more on a busy machine
def test_calibrate_stores_calibration_in_a_saved_checkpoint(tmp_path):
    data = make_dataset(tmp_path / "data", per_artist=3, images=True)
    network = NetworkConfig(backbone="efficientnet_lite0", weights="none", embedding_dim=16, head="linear")
    torch.manual_seed(0)
    model_path = tmp_path / "model" / "model.pt"
    save_checkpoint(model_path, model=build_network(network, pretrained=False), network=network, config={"data_dir": str(data)})
    config = EvaluateConfig(bootstrap=50, triplets=200, baseline_weights="none", batch_size=64)  # one batch: no workers
    written = model_path.read_bytes()
    val = evaluate_model(model=model_path, split="val", pairs=40, config=config)
    assert val["images"] == 9 and model_path.read_bytes() == written  # evaluate only reads
    calibrate_model(model=model_path, pairs=40, config=config)
    assert val["baseline"]["model"] == "baseline:efficientnet_lite0:none"
    stored = load_model(model_path)
    assert stored.fingerprint == val["fingerprint"]  # weights untouched
    pair = stored.pair_calibration
    assert pair.threshold == pytest.approx(val["verification"]["threshold"])
    assert {k: pair.record[k] for k in ("method", "a", "b", "anchor")} == {k: val["calibration"][k] for k in ("method", "a", "b", "anchor")}
    assert set(pair.record) <= {"method", "a", "b", "anchor", "band"}  # + verify's uncertain band, fitted on the same pairs
    assert pair.anchor == pytest.approx(pair.threshold)  # p = 0.5 exactly at the threshold
