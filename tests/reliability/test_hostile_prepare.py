"""The hostile corpus through `prepare`: good files kept, bad ones dropped with their reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from engine.base.errors import EngineError
from engine.prepare.pipeline import PrepareConfig, prepare_dataset
from hostile import jpeg_bytes, noise_image, _save

# min_side=1 keeps the 1x1 image; one in-process worker keeps the test fast and monkeypatchable.
CONFIG = PrepareConfig(size=32, min_side=1, workers=1, near_dup_threshold=-1)


def _run(source: Path, out: Path, **kwargs) -> tuple[dict, pd.DataFrame]:
    report = prepare_dataset(source, out=out, config=CONFIG, **kwargs)
    manifest = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    return report, manifest


def _drops(report: dict) -> dict[str, str]:
    return {Path(d["source"]).name: d["reason"] for d in report["dropped_files"]}


def test_good_files_are_kept(hostile_source, tmp_path):
    report, manifest = _run(hostile_source.root, tmp_path / "out")
    sources = set(manifest["source"])
    for case in hostile_source.good:
        assert str(case.path) in sources, case.name
    assert report["images"] == len(hostile_source.good) + len(hostile_source.plain)
    for rel in manifest["path"]:
        cached = tmp_path / "out" / rel
        assert cached.is_file() and cached.resolve().is_relative_to((tmp_path / "out").resolve())


def test_bad_files_are_dropped_with_their_reason(hostile_source, tmp_path):
    report, manifest = _run(hostile_source.root, tmp_path / "out")
    drops = _drops(report)
    for case in hostile_source.bad:
        if case.name.startswith("symlink_loop"):
            continue  # see test_symlink_loops_are_reported
        assert case.path.name in drops, case.name
        assert drops[case.path.name] in case.reasons, (case.name, drops[case.path.name])
        assert str(case.path) not in set(manifest["source"])


def test_symlink_loops_are_reported(hostile_source, tmp_path):
    report, _ = _run(hostile_source.root, tmp_path / "out")
    drops = _drops(report)
    for case in hostile_source.bad:
        if case.name.startswith("symlink_loop"):
            assert drops.get(case.path.name) in case.reasons, case.name


def test_report_and_manifest_are_consistent(hostile_source, tmp_path):
    report, manifest = _run(hostile_source.root, tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    assert on_disk["images"] == report["images"] == len(manifest)
    assert report["dropped_total"] == len(report["dropped_files"])
    assert set(manifest["split"]) <= {"train", "val", "test"}


def test_rerun_is_stable(hostile_source, tmp_path):
    first, m1 = _run(hostile_source.root, tmp_path / "out")
    second, m2 = _run(hostile_source.root, tmp_path / "out")
    assert list(m1["sha256"]) == list(m2["sha256"])
    assert _drops(first) == _drops(second)


def test_file_unreadable_at_read_time(hostile_source, tmp_path, monkeypatch):
    """Permission denied when the worker reads (chmod 000 as a user; simulated for root)."""
    victim = hostile_source.plain[0]
    real_read = Path.read_bytes

    def read_bytes(self):
        if self == victim:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    report, manifest = _run(hostile_source.root, tmp_path / "out")
    assert _drops(report)[victim.name] == "unreadable"
    assert str(victim) not in set(manifest["source"])


def test_file_vanishing_between_scan_and_read(hostile_source, tmp_path, monkeypatch):
    import engine.prepare.collections as prepare_module  # where prepare scans each SOURCE

    victim = hostile_source.plain[1]
    real_scan = prepare_module.scan_source

    def scan_then_delete(*args, **kwargs):
        scan = real_scan(*args, **kwargs)
        victim.unlink()
        return scan

    monkeypatch.setattr(prepare_module, "scan_source", scan_then_delete)
    report, manifest = _run(hostile_source.root, tmp_path / "out")
    assert _drops(report)[victim.name] == "missing"


def test_labels_csv_cannot_reach_outside_the_source(tmp_path):
    source = tmp_path / "source"
    for i in range(4):
        _save(source / f"in{i}.jpg", noise_image((48, 48), seed=i), "JPEG")
    outside = _save(tmp_path / "outside.jpg", noise_image((48, 48), seed=9), "JPEG")
    (tmp_path / "secret.jpg").write_bytes(jpeg_bytes(seed=8))
    rows = ["filename,artist", "in0.jpg,A", "in1.jpg,A", "in2.jpg,B", "in3.jpg,B",
            "../outside.jpg,A", f"{outside},B", "../../../../../../etc/passwd,A", "sub/../../secret.jpg,B"]
    labels = tmp_path / "labels.csv"
    labels.write_text("\n".join(rows) + "\n")
    report, manifest = _run(source, tmp_path / "out", labels=labels)
    root = source.resolve()
    for src in manifest["source"]:
        assert Path(src).resolve().is_relative_to(root), src
    assert len(manifest) == 4


def test_source_symlink_to_outside_file_is_not_copied(tmp_path):
    """A link inside SOURCE naming a file outside it: consistent with `index` (outside_folder)."""
    source = tmp_path / "source"
    for i in range(3):
        _save(source / "A" / f"a{i}.jpg", noise_image((48, 48), seed=i), "JPEG")
        _save(source / "B" / f"b{i}.jpg", noise_image((48, 48), seed=10 + i), "JPEG")
    outside = _save(tmp_path / "private" / "photo.jpg", noise_image((48, 48), seed=99), "JPEG")
    os.symlink(outside, source / "A" / "link.jpg")
    report, manifest = _run(source, tmp_path / "out")
    assert str(outside) not in set(manifest["source"])
    assert all(Path(s).resolve().is_relative_to(source.resolve()) for s in manifest["source"])


def _enospc(monkeypatch):
    import errno

    import engine.base.atomic as atomic

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "_fsync_file", full)


def test_out_of_space_keeps_previous_outputs(hostile_source, tmp_path, monkeypatch):
    """A full disk during a re-run never damages the dataset written before."""
    out = tmp_path / "out"
    _run(hostile_source.root, out)
    before = {name: (out / name).read_bytes() for name in ("manifest.csv", "report.json")}
    _save(hostile_source.root / "Artist A" / "new.jpg", noise_image((64, 64), seed=77), "JPEG")
    _enospc(monkeypatch)
    with pytest.raises((EngineError, OSError)):
        _run(hostile_source.root, out)
    monkeypatch.undo()
    assert {name: (out / name).read_bytes() for name in before} == before
    assert not list(out.glob(".*.tmp"))


def test_out_of_space_is_a_clear_error(hostile_source, tmp_path, monkeypatch):
    _enospc(monkeypatch)
    with pytest.raises(EngineError) as info:
        _run(hostile_source.root, tmp_path / "out")
    assert "\n" not in str(info.value) and "space" in str(info.value).lower()
    assert not (tmp_path / "out" / "manifest.csv").exists()
