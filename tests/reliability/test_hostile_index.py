"""The hostile corpus through `index` (in-process): good files indexed, bad ones skipped with a reason."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

import engine.data.imageio as imageio
import indexer.pipeline as pipeline
from catalog_audit import audit_home
from indexer.config import IndexConfig
from indexer.pipeline import index_folder

CONFIG = IndexConfig(num_workers=0, batch_size=8, commit_every=8)


def _index(source, home, model, **kwargs) -> dict:
    return index_folder(source, home=home, model=model, config=CONFIG, **kwargs)


def _skipped(result: dict) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in result["skipped"]}


def _expected_paths(src) -> set[str]:
    return {str(p.resolve()) for p in [c.path for c in src.good] + src.plain}


@pytest.fixture(autouse=True)
def _fast(fast_models):
    """CheapNet instead of the trunk: decoding, catalog and index are what these tests are about."""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_model):
    """The hostile source indexed once into a fresh home (shared by the read-only tests below)."""
    from conftest import build_source, patch_fast_models

    root = tmp_path_factory.mktemp("hostile-index")
    src = build_source(root / "source")
    home = root / "home"
    with pytest.MonkeyPatch.context() as mp:
        patch_fast_models(mp)
        result = _index(src.root, home, tiny_model)
    return src, home, result


def test_every_good_file_is_indexed(indexed):
    src, home, result = indexed
    audit = audit_home(home)
    assert audit.paths == _expected_paths(src)
    assert result["added"] == result["total"] == len(src.good) + len(src.plain)


def test_every_bad_file_is_skipped_with_its_reason(indexed):
    src, home, result = indexed
    skipped = _skipped(result)
    for case in src.bad:
        assert skipped.get(case.path.name) in case.reasons, (case.name, skipped.get(case.path.name))
    assert skipped.get("back_to_root") == "symlink_loop"


def test_catalog_and_index_agree(indexed, tiny_model):
    src, home, _ = indexed
    audit = audit_home(home)
    assert audit.consistent, audit
    assert audit.index_dim == 32 and not audit.temp_files
    check = index_folder(src.root, home=home, model=tiny_model, check=True)["check"]
    assert check["consistent"] and check["rows_without_file"] == 0


def test_no_row_outside_the_folder(indexed):
    src, home, _ = indexed
    root = src.root.resolve()
    assert all(Path(p).is_relative_to(root) for p in audit_home(home).paths)


def test_rerun_changes_nothing(indexed, tiny_model):
    src, home, _ = indexed
    before = audit_home(home)
    again = _index(src.root, home, tiny_model)
    assert again["added"] == again["updated"] == again["removed"] == 0
    after = audit_home(home)
    assert (after.paths, after.row_ids, after.index_ids) == (before.paths, before.row_ids, before.index_ids)


def test_symlink_pointing_outside_is_not_indexed(tmp_path, tiny_model):
    from hostile import _save, noise_image

    folder = tmp_path / "folder"
    _save(folder / "inside.jpg", noise_image((40, 40), seed=1), "JPEG")
    outside = _save(tmp_path / "private" / "photo.jpg", noise_image((40, 40), seed=2), "JPEG")
    (folder / "link.jpg").symlink_to(outside)
    (folder / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    result = _index(folder, tmp_path / "home", tiny_model)
    assert audit_home(tmp_path / "home").paths == {str((folder / "inside.jpg").resolve())}
    assert _skipped(result).get("link.jpg") == "outside_folder"


def _small_folder(root: Path) -> list[Path]:
    from hostile import _save, noise_image

    return [_save(root / f"p{i}.jpg", noise_image((40, 40), seed=50 + i), "JPEG") for i in range(3)]


def test_file_vanishing_between_scan_and_hash(tmp_path, tiny_model, monkeypatch):
    files = _small_folder(tmp_path / "source")
    victim = files[0]
    real_scan = pipeline.scan_folder

    def scan_then_delete(folder):
        scan = real_scan(folder)
        victim.unlink()
        return scan

    monkeypatch.setattr(pipeline, "scan_folder", scan_then_delete)
    result = _index(tmp_path / "source", tmp_path / "home", tiny_model)
    assert _skipped(result).get(victim.name) in {"missing", "unreadable"}
    audit = audit_home(tmp_path / "home")
    assert audit.consistent and str(victim.resolve()) not in audit.paths


def test_file_vanishing_between_hash_and_decode(tmp_path, tiny_model, monkeypatch):
    victim = _small_folder(tmp_path / "source")[1].resolve()
    original = imageio._check_file

    def check_then_delete(path):
        if Path(path).resolve() == victim and victim.exists():
            victim.unlink()
        original(path)

    monkeypatch.setattr(imageio, "_check_file", check_then_delete)
    result = _index(tmp_path / "source", tmp_path / "home", tiny_model)
    assert _skipped(result).get(victim.name) == "missing"
    audit = audit_home(tmp_path / "home")
    assert audit.consistent and str(victim) not in audit.paths and audit.rows == 2


def test_unreadable_file(tmp_path, tiny_model, monkeypatch):
    """Permission denied on open (a chmod 000 file for a normal user; simulated because CI runs as root)."""
    victim = str(_small_folder(tmp_path / "source")[2].resolve())
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)) and str(Path(file).resolve()) == victim:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(imageio.os, "access", lambda p, mode, **kw: str(Path(p).resolve()) != victim)
    result = _index(tmp_path / "source", tmp_path / "home", tiny_model)
    assert _skipped(result).get(Path(victim).name) == "unreadable"
    assert victim not in audit_home(tmp_path / "home").paths
