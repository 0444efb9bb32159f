"""`engine calibrate`: a thin adapter over engine.evaluate.recalibrate.calibrate_model."""

import json

import pytest

from cli.app import main
from tests.engine.evaluate.test_runner import Fakes, make_dataset


@pytest.fixture
def fakes(tmp_path, monkeypatch):
    data = make_dataset(tmp_path / "data")
    fakes = Fakes(data)
    fakes.install(monkeypatch)
    (tmp_path / "model.pt").write_bytes(b"x")
    return fakes


def test_json_is_what_was_stored(tmp_path, fakes, capsys):
    assert main(["calibrate", "--model", str(tmp_path / "model.pt"), "--pairs", "60", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    path, stored = fakes.stored[0]
    assert path == tmp_path / "model.pt" and doc["model"] == str(path)
    assert doc["threshold"] == stored["threshold"] and doc["calibration"] == stored["calibration"]
    assert doc["split"] == "val" and doc["pairs"] == 60 and doc["artists"] == 3


def test_table_and_the_dataset_argument(tmp_path, fakes, capsys):
    assert main(["calibrate", str(tmp_path / "data"), "--model", str(tmp_path / "model.pt"), "--pairs", "40"]) == 0
    out = capsys.readouterr().out
    assert "threshold (cosine)" in out and "stored in" in out and len(fakes.stored) == 1


def test_errors_are_one_line(tmp_path, fakes, capsys):
    assert main(["calibrate", "--model", str(tmp_path / "nope.pt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("engine: error: model not found") and err.count("\n") == 1
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.csv").write_text("path,artist,split,sha256\n" + "".join(f"o{k % 2}_{k}.jpg,o{k % 2},val,z{k}\n" for k in range(8)))
    assert main(["calibrate", str(other), "--model", str(tmp_path / "model.pt")]) == 1
    assert "is not the dataset" in capsys.readouterr().err
    assert main(["calibrate", "--model", str(tmp_path / "model.pt"), "--pairs", "1"]) == 2
    assert fakes.stored == []


def test_own_painters_is_passed_through(tmp_path, fakes, capsys):
    own = tmp_path / "own"
    own.mkdir()
    (own / "manifest.csv").write_text("path,artist,split,sha256\n" + "".join(f"o{k % 4}_{k}.jpg,o{k % 4},train,z{k}\n" for k in range(16)))
    assert main(["calibrate", str(own), "--model", str(tmp_path / "model.pt"), "--own-painters", "--pairs", "40"]) == 0
    out = capsys.readouterr().out
    assert "own painters" in out and "4 artists, 16 images" in out and len(fakes.stored) == 1
    assert main(["calibrate", "--model", str(tmp_path / "model.pt"), "--own-painters"]) == 1
    assert "--own-painters needs DATA" in capsys.readouterr().err
