"""Compact model files: the trunk comes from its package, the large head matrices are float16."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from indexer_kit import painting, write_model

from engine.base.errors import EngineError
from engine.inference.embedding import embed_image
from engine.model.checkpoint import TRUNK_PREFIX, fingerprint, load_model, read_checkpoint, save_checkpoint
from engine.model.compact import LARGE_TENSOR, compact_checkpoint
from engine.model.network import NetworkConfig, build_network


@pytest.fixture(scope="module")
def full_model(tmp_path_factory):
    return write_model(tmp_path_factory.mktemp("compact") / "full" / "model.pt", embedding_dim=96)


def test_compact_file_drops_the_trunk_and_halves_the_large_head_tensors(full_model, tmp_path):
    out = tmp_path / "compact.pt"
    header = compact_checkpoint(full_model, out)
    data, full = read_checkpoint(out), read_checkpoint(full_model)
    assert not any(k.startswith(TRUNK_PREFIX) for k in data["state_dict"])
    for name, tensor in data["state_dict"].items():
        big = full["state_dict"][name].numel() >= LARGE_TENSOR and tensor.is_floating_point()
        assert tensor.dtype == (torch.float16 if big else full["state_dict"][name].dtype), name
    assert any(t.dtype == torch.float16 for t in data["state_dict"].values())
    assert out.stat().st_size < full_model.stat().st_size / 3
    assert header["full_fingerprint"] == full["fingerprint"] != header["fingerprint"] == data["fingerprint"]


def test_compact_model_embeds_like_the_full_one(full_model, tmp_path):
    compact_checkpoint(full_model, tmp_path / "compact.pt")
    full, small = load_model(full_model), load_model(tmp_path / "compact.pt")
    images = [painting(tmp_path / f"{i}.jpg", colour=(30 * i, 90, 200 - 20 * i), seed=i, size=64) for i in range(4)]
    a = np.stack([embed_image(full, p) for p in images])
    b = np.stack([embed_image(small, p) for p in images])
    assert np.abs(a @ a.T - b @ b.T).max() < 2e-3  # float16 rounding of the head, nothing more
    assert small.fingerprint == read_checkpoint(tmp_path / "compact.pt")["fingerprint"]
    assert small.pair_calibration == full.pair_calibration


def test_a_fine_tuned_trunk_cannot_be_compacted(tmp_path):
    network = NetworkConfig(embedding_dim=8, head="linear", pooling="avg")
    model = build_network(network, pretrained=True)
    with torch.no_grad():
        next(model.trunk.parameters()).add_(0.01)  # as finetune mode would
    save_checkpoint(tmp_path / "tuned.pt", model=model, network=network)
    with pytest.raises(EngineError, match="only a model trained with --mode frozen"):
        compact_checkpoint(tmp_path / "tuned.pt", tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_a_package_with_other_trunk_weights_is_refused(full_model, tmp_path, monkeypatch):
    compact_checkpoint(full_model, tmp_path / "compact.pt")
    from engine.model import checkpoint

    real = checkpoint.package_trunk

    def other_weights(network):
        state = real(network)
        first = next(k for k, v in state.items() if v.is_floating_point())
        state[first] = state[first] + 1e-3
        return state

    monkeypatch.setattr(checkpoint, "package_trunk", other_weights)
    with pytest.raises(EngineError, match="installed efficientnet_lite0 weights are not the ones"):
        load_model(tmp_path / "compact.pt")


def test_an_edited_compact_head_fails_its_fingerprint(full_model, tmp_path):
    compact_checkpoint(full_model, tmp_path / "compact.pt")
    data = read_checkpoint(tmp_path / "compact.pt")
    name = next(iter(data["state_dict"]))
    data["state_dict"][name] = data["state_dict"][name] + 1
    torch.save(data, tmp_path / "edited.pt")
    with pytest.raises(EngineError, match="fingerprint mismatch"):
        load_model(tmp_path / "edited.pt")


def test_fingerprint_of_the_restored_state_is_the_documented_one(full_model, tmp_path):
    compact_checkpoint(full_model, tmp_path / "compact.pt")
    full = read_checkpoint(full_model)["state_dict"]
    stored = read_checkpoint(tmp_path / "compact.pt")["state_dict"]
    restored = {k: ((stored[k].float() if stored[k].is_floating_point() else stored[k]) if k in stored else v) for k, v in full.items()}
    assert fingerprint(restored) == read_checkpoint(tmp_path / "compact.pt")["fingerprint"]
