"""Untrusted model files: malicious pickles never run, mismatched checkpoints are refused before use."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from catalog_audit import audit_home
from cli.app import main
from engine.model.checkpoint import fingerprint, load_model, read_checkpoint
from engine.base.errors import EngineError
from hostile import _save, noise_image


class Payload:
    """Unpickling this runs `touch MARKER` (what an attacker's model.pt would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def _evil_variants(tmp_path: Path, good: Path) -> dict[str, tuple[Path, Path]]:
    """{name: (model file, marker that must never appear)}."""
    out = {}

    def marker(name):
        return tmp_path / f"PWNED-{name}"

    data = torch.load(good, weights_only=True)
    out["extra_key"] = {**data, "evil": Payload(marker("extra_key"))}
    out["whole_file"] = Payload(marker("whole_file"))
    out["in_config"] = {**data, "config": {"note": Payload(marker("in_config"))}}
    files = {}
    for name, obj in out.items():
        path = tmp_path / name / "model.pt"
        path.parent.mkdir()
        torch.save(obj, path)
        files[name] = (path, marker(name))
    legacy = tmp_path / "legacy" / "model.pt"
    legacy.parent.mkdir()
    torch.save({**data, "evil": Payload(marker("legacy"))}, legacy, _use_new_zipfile_serialization=False)
    files["legacy_format"] = (legacy, marker("legacy"))
    raw = tmp_path / "raw_pickle" / "model.pt"
    raw.parent.mkdir()
    raw.write_bytes(pickle.dumps(Payload(marker("raw_pickle"))))
    files["raw_pickle"] = (raw, marker("raw_pickle"))
    return files


def test_the_payload_really_is_malicious(tmp_path):
    """Guard for the tests below: an unsafe load would create the marker."""
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_malicious_pickles_are_refused_and_never_run(tmp_path, tiny_model):
    for name, (path, marker) in _evil_variants(tmp_path, tiny_model).items():
        with pytest.raises(EngineError) as info:
            load_model(path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message, name
        assert not marker.exists(), f"{name}: the payload ran"


def test_malicious_model_through_every_cli_verb(tmp_path, tiny_model, capsys):
    variants = _evil_variants(tmp_path, tiny_model)
    path, marker = variants["extra_key"]
    image = _save(tmp_path / "a.jpg", noise_image((40, 40), seed=1), "JPEG")
    home = tmp_path / "home"
    for argv in (["verify", image, image], ["query", image], ["index", image.parent]):
        code = main([*map(str, argv), "--home", str(home), "--model", str(path), "--json"])
        err = capsys.readouterr().err
        assert code == 1, argv
        assert err.startswith("engine: error:") and "internal error" not in err, err
    assert not marker.exists()


@pytest.mark.parametrize(
    "content", [b"", b"not a model", b"PK\x03\x04" + b"\x00" * 64, b"\x80\x04K\x01."], ids=["empty", "text", "bad_zip", "pickled_int"]
)
def test_garbage_model_files(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(EngineError) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_truncated_model_file(tmp_path, tiny_model):
    data = tiny_model.read_bytes()
    for cut in (len(data) // 10, len(data) // 2, len(data) - 100):
        path = tmp_path / f"cut{cut}" / "model.pt"
        path.parent.mkdir()
        path.write_bytes(data[:cut])
        with pytest.raises(EngineError):
            load_model(path)


def _rewrite(tiny_model: Path, tmp_path: Path, name: str, edit) -> Path:
    data = read_checkpoint(tiny_model)
    edit(data)
    path = tmp_path / name / "model.pt"
    path.parent.mkdir()
    torch.save(data, path)
    return path


def test_wrong_backbone_is_refused(tmp_path, tiny_model):
    def to_resnet(data):
        data["backbone"] = "resnet34"
        data["network"]["backbone"] = "resnet34"

    with pytest.raises(EngineError) as info:
        load_model(_rewrite(tiny_model, tmp_path, "resnet", to_resnet))
    assert "resnet34" in str(info.value)


def test_unknown_backbone_is_refused(tmp_path, tiny_model):
    def to_unknown(data):
        data["backbone"] = data["network"]["backbone"] = "vit_giant_evil"

    with pytest.raises(EngineError):
        load_model(_rewrite(tiny_model, tmp_path, "unknown", to_unknown))


def test_wrong_embedding_size_is_refused(tmp_path, tiny_model):
    def to_64(data):
        data["embedding_dim"] = 64
        data["network"]["embedding_dim"] = 64

    with pytest.raises(EngineError):
        load_model(_rewrite(tiny_model, tmp_path, "dim64", to_64))


def test_header_disagreeing_with_config_is_refused(tmp_path, tiny_model):
    def header_only(data):
        data["embedding_dim"] = 128

    with pytest.raises(EngineError):
        load_model(_rewrite(tiny_model, tmp_path, "header", header_only))


def test_edited_weights_are_refused(tmp_path, tiny_model):
    def tamper(data):
        name = next(k for k, v in data["state_dict"].items() if v.dtype.is_floating_point and v.numel() > 1)
        data["state_dict"][name] = data["state_dict"][name] + 1.0

    with pytest.raises(EngineError) as info:
        load_model(_rewrite(tiny_model, tmp_path, "tampered", tamper))
    assert "fingerprint" in str(info.value)


def test_newer_format_is_refused(tmp_path, tiny_model):
    def future(data):
        data["format_version"] = 99

    with pytest.raises(EngineError) as info:
        load_model(_rewrite(tiny_model, tmp_path, "future", future))
    assert "newer" in str(info.value)


def test_non_finite_weights_are_refused_before_indexing(tmp_path, tiny_model):
    """A checkpoint whose weights hold NaN (fingerprint recomputed, so it "looks" valid) must not fill the catalog with NaN vectors."""
    from indexer.config import IndexConfig
    from indexer.pipeline import index_folder

    def poison(data):
        name = next(k for k in data["state_dict"] if k.startswith("head") and k.endswith("weight"))
        data["state_dict"][name] = torch.full_like(data["state_dict"][name], float("nan"))
        data["fingerprint"] = fingerprint(data["state_dict"])

    path = _rewrite(tiny_model, tmp_path, "nan", poison)
    _save(tmp_path / "folder" / "a.jpg", noise_image((40, 40), seed=1), "JPEG")
    home = tmp_path / "home"
    try:
        with pytest.raises(EngineError) as info:
            index_folder(tmp_path / "folder", home=home, model=path, config=IndexConfig(num_workers=0))
    finally:  # refused or not, the poison never reaches the catalog
        audit = audit_home(home)
        assert audit.bad_vectors == 0 and audit.rows == 0, audit
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "NaN or infinite" in message


def test_other_embedding_size_cannot_touch_an_index(tmp_path, tiny_model, tiny_model_16d, fast_models):
    """A 16-d model against a home indexed with a 32-d one: refused before anything is embedded or written."""
    from indexer.config import IndexConfig
    from indexer.pipeline import index_folder
    from indexer.search import query_images

    folder = tmp_path / "folder"
    image = _save(folder / "a.jpg", noise_image((40, 40), seed=1), "JPEG")
    home = tmp_path / "home"
    index_folder(folder, home=home, model=tiny_model, config=IndexConfig(num_workers=0))
    before = audit_home(home)
    _save(folder / "b.jpg", noise_image((40, 40), seed=2), "JPEG")
    with pytest.raises(EngineError):
        index_folder(folder, home=home, model=tiny_model_16d, config=IndexConfig(num_workers=0))
    with pytest.raises(EngineError):
        query_images([image], home=home, model=tiny_model_16d)
    after = audit_home(home)
    assert (after.paths, after.row_ids, after.index_ids, after.index_dim) == (before.paths, before.row_ids, before.index_ids, 32)


def test_a_non_finite_embedding_is_skipped_not_stored(tmp_path, tiny_model, monkeypatch, fast_models):
    """Defence in depth: even a sane model can overflow on one input; that row must not enter the catalog."""
    import numpy as np

    import indexer.embed_loop as embed_loop
    from indexer.config import IndexConfig
    from indexer.pipeline import index_folder

    real = embed_loop.embed_paths

    def one_nan(*args, **kwargs):
        result = real(*args, **kwargs)
        result.vectors[0] = np.nan
        return result

    monkeypatch.setattr(embed_loop, "embed_paths", one_nan)
    for i in range(3):
        _save(tmp_path / "folder" / f"{i}.jpg", noise_image((40, 40), seed=i), "JPEG")
    result = index_folder(tmp_path / "folder", home=tmp_path / "home", model=tiny_model, config=IndexConfig(num_workers=0))
    audit = audit_home(tmp_path / "home")
    assert audit.bad_vectors == 0 and audit.rows == 2 and audit.consistent
    assert [s["reason"] for s in result["skipped"]] == ["non_finite_embedding"]
