"""model.pt round trip, validation, refusal of pickles and mismatches, recalibration, baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.model.checkpoint import FORMAT, fingerprint, load_baseline, load_model, read_checkpoint, save_checkpoint, update_calibration
from engine.base.errors import EngineError
from engine.model.network import NetworkConfig, build_network
from train_kit import TINY, register_tiny

register_tiny()
NETWORK = NetworkConfig(backbone=TINY, weights="none", embedding_dim=16, head="mlp")
CALLED: list[str] = []


def _mark(text: str) -> str:
    CALLED.append(text)
    return text


class Evil:
    def __reduce__(self):
        return (_mark, ("code ran",))


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build_network(NETWORK, pretrained=False).eval()
    path = tmp_path / "m" / "model.pt"
    fp = save_checkpoint(path, model=model, network=NETWORK, config={"epochs": 3, "note": "x"},
                         threshold=0.4, calibration={"method": "platt", "a": 5.0, "b": -2.0})
    return path, model, fp


def test_round_trip_gives_the_same_embeddings(saved):
    path, model, fp = saved
    lm = load_model(path.parent)  # the folder works too
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(lm.model(x), model(x), atol=1e-6)
    assert (lm.input_size, lm.embedding_dim, lm.normalized, lm.backbone) == (32, 16, True, TINY)
    assert lm.fingerprint == fp and len(fp) == 64
    assert lm.pair_calibration.threshold == 0.4 and lm.pair_calibration.record == {"method": "platt", "a": 5.0, "b": -2.0}
    assert (lm.pair_calibration.a, lm.pair_calibration.b, lm.pair_calibration.anchor) == (5.0, -2.0, None)
    assert lm.config["epochs"] == 3 and lm.path == path
    assert not lm.model.training


def test_checkpoint_is_plain_data(saved):
    data = torch.load(saved[0], weights_only=True)
    assert data["format"] == FORMAT and data["preprocessing"]["input_size"] == 32
    assert data["versions"]["torch"] == torch.__version__.split("+")[0]


def test_malicious_pickle_is_refused_without_running_code(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"format": FORMAT, "payload": Evil()}, path)
    CALLED.clear()
    with pytest.raises(EngineError, match="refusing to load") as info:
        load_model(path)
    assert CALLED == [] and "\n" not in str(info.value)


@pytest.mark.parametrize("content", [b"", b"hello", b"PK\x03\x04broken zip"])
def test_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(EngineError, match="not a model checkpoint"):
        load_model(path)


def test_plain_state_dict_is_not_a_model(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(build_network(NETWORK, pretrained=False).state_dict(), path)
    with pytest.raises(EngineError, match="not a model checkpoint of this engine"):
        load_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(EngineError, match="model not found"):
        load_model(tmp_path / "nope.pt")


def test_weights_that_do_not_match_the_config_are_refused(saved):
    path = saved[0]
    data = read_checkpoint(path)
    data["network"]["embedding_dim"] = 32
    data["embedding_dim"] = 32
    torch.save(data, path)
    with pytest.raises(EngineError, match="do not match its config"):
        load_model(path)


def test_header_config_disagreement_is_refused(saved):
    path = saved[0]
    data = read_checkpoint(path)
    data["embedding_dim"] = 99
    torch.save(data, path)
    with pytest.raises(EngineError, match="inconsistent"):
        load_model(path)


def test_edited_weights_fail_the_fingerprint(saved):
    path = saved[0]
    data = read_checkpoint(path)
    key = next(iter(data["state_dict"]))
    data["state_dict"][key] = data["state_dict"][key] + 1
    torch.save(data, path)
    with pytest.raises(EngineError, match="fingerprint"):
        load_model(path)


def test_fingerprint_depends_on_every_value():
    state = {"a": torch.zeros(3), "b": torch.ones(2, dtype=torch.int64)}
    base = fingerprint(state)
    assert fingerprint({"b": state["b"], "a": state["a"]}) == base
    assert fingerprint({**state, "a": torch.tensor([0.0, 0.0, 1e-7])}) != base
    assert fingerprint({**state, "a": torch.zeros(1, 3)}) != base


def test_update_calibration_rewrites_only_the_calibration(saved):
    path, _, fp = saved
    update_calibration(path, threshold=0.7, calibration={"method": "platt", "a": 1.5, "b": 0.5}, metrics={"roc_auc": 0.9})
    lm = load_model(path)
    assert lm.pair_calibration.threshold == 0.7 and lm.pair_calibration.a == 1.5 and lm.fingerprint == fp
    assert lm.metrics["roc_auc"] == 0.9
    assert not list(path.parent.glob(".*.tmp"))


def test_baseline_is_the_normalised_pooled_trunk():
    lm = load_baseline(TINY, weights="none")
    assert lm.fingerprint == f"baseline:{TINY}:none" and lm.embedding_dim == 24 and lm.pair_calibration is None
    with torch.no_grad():
        out = lm.model(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 24)
    np.testing.assert_allclose(out.norm(dim=1).numpy(), 1.0, atol=1e-5)
