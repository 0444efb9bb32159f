"""Offline-first trunk weights: EfficientNet-Lite mapping proof, the ResNet34 offline error."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import resnet34

import engine.model.weights as weights
from cli.app import main
from engine.model.augment import eval_transform
from engine.model.backbones import get_spec
from engine.base.errors import EngineError
from engine.model.weights import build_pretrained_classifier, imagenet_weights_path, load_state_file, map_by_position
from require_kit import require_module
from train_kit import write_dataset

sklearn_datasets = require_module("sklearn.datasets")


def _top5(model, backbone: str, image_name: str) -> list[int]:
    image = Image.fromarray(sklearn_datasets.load_sample_image(image_name))
    x = eval_transform(get_spec(backbone).preprocessing())(image)[None]
    with torch.no_grad():
        return model.eval()(x).topk(5).indices[0].tolist()


def test_lite0_package_weights_load_strictly_and_recognise_images():
    source = torch.load(imagenet_weights_path("efficientnet_lite0"), weights_only=True)
    assert next(iter(source)) == "_conv_stem.weight"  # the package's own naming, not timm's
    model = build_pretrained_classifier("efficientnet_lite0")
    assert len(model.state_dict()) == len(source) == 296
    for mapped, original in zip(model.state_dict().values(), source.values()):
        assert torch.equal(mapped, original)
    assert 442 in _top5(model, "efficientnet_lite0", "china.jpg")  # bell cote (a temple)
    assert _top5(model, "efficientnet_lite0", "flower.jpg")[0] == 985  # daisy


def test_lite2_package_weights_recognise_the_temple():
    model = build_pretrained_classifier("efficientnet_lite2")
    top5 = _top5(model, "efficientnet_lite2", "china.jpg")
    assert 442 in top5 and {698, 663, 483} & set(top5)  # bell cote + palace/monastery/castle


def test_map_by_position_checks_count_and_shapes():
    target = OrderedDict(a=torch.zeros(2, 3), b=torch.zeros(4))
    mapped = map_by_position(OrderedDict(x=torch.ones(2, 3), y=torch.ones(4)), target)
    assert list(mapped) == ["a", "b"]
    with pytest.raises(EngineError, match="does not fit"):
        map_by_position(OrderedDict(x=torch.ones(3, 2), y=torch.ones(4)), target)
    with pytest.raises(EngineError, match="hold 1 tensors"):
        map_by_position(OrderedDict(x=torch.ones(2, 3)), target)


def test_weights_file_errors(tmp_path):
    model = torch.nn.Linear(2, 2)
    with pytest.raises(EngineError, match="not found"):
        load_state_file(model, tmp_path / "none.pth", backbone="x")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(EngineError, match="cannot read weights"):
        load_state_file(model, tmp_path / "junk.pth", backbone="x")
    torch.save({"weight": torch.zeros(3, 3), "bias": torch.zeros(3)}, tmp_path / "wrong.pth")
    with pytest.raises(EngineError, match="does not fit"):
        load_state_file(model, tmp_path / "wrong.pth", backbone="x")


def _offline(url, target, *, timeout):
    raise OSError("Name or service not known")


def test_resnet34_offline_is_one_actionable_line(monkeypatch):
    monkeypatch.setattr(weights, "_download", _offline)
    with pytest.raises(EngineError) as info:
        weights.resnet34_weights_path()
    message = str(info.value)
    assert "resnet34-b627a593.pth" in message and "efficientnet_lite0" in message and "--weights none" in message
    assert "\n" not in message


def test_resnet34_offline_via_cli_exits_1(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(weights, "_download", _offline)
    data = write_dataset(tmp_path / "data", artists=4, per_artist=3, val_artists=2)
    code = main(["train", str(data), "--backbone", "resnet34", "--home", str(tmp_path / "home")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("engine: error:") and "resnet34-b627a593.pth" in err[-1]


def test_resnet34_uses_the_hub_cache_without_network(monkeypatch):
    monkeypatch.setattr(weights, "_download", lambda *a, **k: pytest.fail("must not download"))
    cached = Path(torch.hub.get_dir()) / "checkpoints" / weights.RESNET34_FILE  # TORCH_HOME is a tmp dir
    cached.parent.mkdir(parents=True)
    torch.manual_seed(0)
    reference = resnet34(weights=None)
    torch.save(reference.state_dict(), cached)
    trunk = weights.build_pretrained_trunk("resnet34").eval()
    assert torch.equal(trunk.state_dict()["layer1.0.conv1.weight"], reference.state_dict()["layer1.0.conv1.weight"])
    with torch.no_grad():
        assert trunk(torch.zeros(1, 3, 64, 64)).shape == (1, get_spec("resnet34").feature_dim)  # classifier dropped


def test_download_fails_fast_when_the_host_does_not_resolve(tmp_path):
    with pytest.raises(OSError):
        weights._check_resolvable("no-such-host.invalid", 3.0)
    assert not np.any([p.name.endswith(".tmp") for p in tmp_path.iterdir()])
