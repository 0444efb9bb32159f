"""`timm:NAME` / `torchvision:NAME` backbones: geometry from the model's own config, random init,
weights offline-first (explicit file, local cache, else a one-line error). Nothing is downloaded:
every download path is made to fail."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.base.errors import EngineError
from engine.model import weights as weights_mod
from engine.model.backbones import build_trunk, feature_dim, get_spec
from engine.model.checkpoint import load_model, save_checkpoint
from engine.model.network import NetworkConfig, build_network

TIMM = "timm:test_efficientnet"  # timm's own 0.36 M-parameter test model (160 px)
TV = "torchvision:mobilenet_v3_small"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """Empty torch hub and Hugging Face caches, and every download fails as when offline."""
    import huggingface_hub.constants

    def no_network(*args, **kwargs):
        raise OSError("offline (test)")

    monkeypatch.setattr(weights_mod, "_download", no_network)
    monkeypatch.setattr(weights_mod, "_check_resolvable", no_network)
    hub = tmp_path / "torch-hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def test_geometry_comes_from_the_models_pretrained_config():
    import timm
    import torchvision

    cfg = timm.get_pretrained_cfg("test_efficientnet")
    spec = get_spec(TIMM)
    assert (spec.input_size, spec.mean, spec.std) == (cfg.input_size[-1], tuple(cfg.mean), tuple(cfg.std))
    assert spec.resize == round(cfg.input_size[-1] / cfg.crop_pct)
    preset = torchvision.models.get_model_weights("mobilenet_v3_small").DEFAULT.transforms()
    tv = get_spec(TV)
    assert (tv.input_size, tv.resize, list(tv.mean), list(tv.std)) == (preset.crop_size[0], preset.resize_size[0], preset.mean, preset.std)


@pytest.mark.parametrize("name", [TIMM, TV, "torchvision:resnet18"])
def test_random_trunk_width_matches_the_spec(name):
    assert feature_dim(build_trunk(name), get_spec(name)) == get_spec(name).feature_dim


def test_network_trains_saves_and_loads_with_its_preprocessing(tmp_path):
    config = NetworkConfig(backbone=TIMM, weights="none", embedding_dim=8)
    model = build_network(config, pretrained=True).eval()
    x = torch.rand(2, 3, 160, 160)
    assert model(x).shape == (2, 8)
    save_checkpoint(tmp_path / "model.pt", model=model, network=config)
    loaded = load_model(tmp_path / "model.pt")
    assert loaded.preprocessing["mean"] == list(get_spec(TIMM).mean) and loaded.input_size == 160
    torch.testing.assert_close(loaded.model(x), model(x))


def test_multiscale_pooling_of_a_timm_cnn_adds_its_middle_stages():
    from engine.model.pooling import STAGES

    get_spec(TIMM)
    assert STAGES[TIMM] == (("blocks.1", "blocks.2", "blocks.3"),) * 2  # strides 4, 8, 16 of 2..32
    trunk = build_network(NetworkConfig(backbone=TIMM, weights="none", pooling="multiscale"), pretrained=True).trunk.eval()
    assert trunk(torch.rand(1, 3, 160, 160)).shape[1] == get_spec(TIMM).feature_dim + 2 * (24 + 32 + 48)
    get_spec("timm:test_vit")
    assert STAGES["timm:test_vit"] == ((), ())  # one stride throughout: the final features only


@pytest.mark.parametrize("name, suffix", [(TIMM, ".pth"), (TV, ".pth"), (TV, ".safetensors")])
def test_explicit_weights_file_is_loaded(name, suffix, tmp_path, offline):
    from safetensors.torch import save_file

    source = weights_mod.build_pretrained_classifier(name, "none")
    path = tmp_path / f"mine{suffix}"
    state = {k: v.contiguous() for k, v in source.state_dict().items()}
    torch.save(state, path) if suffix == ".pth" else save_file(state, path)
    loaded = weights_mod.build_pretrained_classifier(name, str(path))
    for key, tensor in source.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], tensor)


def test_torchvision_weights_come_from_the_torch_hub_cache(offline):
    import torchvision

    with pytest.raises(EngineError, match="not available offline") as err:
        weights_mod.build_pretrained_trunk(TV, "imagenet")
    assert "\n" not in str(err.value)
    url = torchvision.models.get_model_weights("mobilenet_v3_small").DEFAULT.url
    cached = offline / "torch-hub" / "checkpoints" / url.rsplit("/", 1)[-1]
    cached.parent.mkdir(parents=True)
    source = weights_mod.build_pretrained_classifier(TV, "none")
    torch.save(source.state_dict(), cached)
    loaded = weights_mod.build_pretrained_classifier(TV, "imagenet")
    key = next(iter(source.state_dict()))
    torch.testing.assert_close(loaded.state_dict()[key], source.state_dict()[key])


def test_timm_weights_come_from_the_hugging_face_cache(offline):
    from safetensors.torch import save_file

    with pytest.raises(EngineError, match="not available offline.*huggingface.co/timm/test_efficientnet") as err:
        weights_mod.build_pretrained_trunk(TIMM, "imagenet")
    assert "\n" not in str(err.value)
    repo = offline / "hf" / "models--timm--test_efficientnet.r160_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    source = weights_mod.build_pretrained_classifier(TIMM, "none")
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, repo / "snapshots" / "0123abcd" / "model.safetensors")
    trunk = weights_mod.build_pretrained_trunk(TIMM, "imagenet").eval()
    key = "conv_stem.weight"
    np.testing.assert_array_equal(trunk.state_dict()[key].numpy(), source.state_dict()[key].numpy())


@pytest.mark.parametrize("name, message", [
    ("timm:no_such_model_xyz", "timm has no model"),
    ("torchvision:no_such_model", "torchvision has no classification model"),
    ("torchvision:squeezenet1_0", "cannot find the final Linear"),
    ("keras:resnet", "unknown backbone"),
])
def test_unknown_or_unsupported_names_are_one_line_errors(name, message):
    with pytest.raises(EngineError, match=message):
        get_spec(name)
