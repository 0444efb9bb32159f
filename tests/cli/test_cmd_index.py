"""`engine index` through cli.app.main: JSON and table output, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kits"))
from indexer_kit import gallery, session_model  # noqa: E402

from cli.app import main  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return session_model(tmp_path_factory)


def test_json_then_table(tmp_path, model, capsys):
    gallery(tmp_path / "art", per_artist=2)
    args = ["index", str(tmp_path / "art"), "--home", str(tmp_path / "home"), "--model", str(model), "--threads", "1"]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)  # stdout is exactly one JSON document
    assert {"added", "updated", "removed", "skipped", "total", "images_per_second"} <= set(result)
    assert (result["added"], result["total"], result["skipped"]) == (6, 6, [])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "added" in out and "total" in out and "6" in out


def test_check_json(tmp_path, model, capsys):
    gallery(tmp_path / "art", per_artist=1)
    home = str(tmp_path / "home")
    assert main(["index", str(tmp_path / "art"), "--home", home, "--model", str(model), "--json"]) == 0
    capsys.readouterr()
    assert main(["index", str(tmp_path / "art"), "--home", home, "--check", "--json"]) == 0
    check = json.loads(capsys.readouterr().out)["check"]
    assert check["consistent"] is True and check["after"]["catalog_rows"] == 3
    assert main(["index", str(tmp_path / "art"), "--home", home, "--check"]) == 0
    assert "consistent" in capsys.readouterr().out


def test_failures_are_one_line_and_exit_1(tmp_path, model, capsys, monkeypatch):
    monkeypatch.setattr("engine.model.shipped.SHIPPED_MODEL", tmp_path / "no-shipped-model.pt")  # a build without it
    assert main(["index", str(tmp_path / "nope"), "--home", str(tmp_path / "h"), "--model", str(model), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "folder not found" in captured.err
    (tmp_path / "art").mkdir()
    assert main(["index", str(tmp_path / "art"), "--home", str(tmp_path / "h")]) == 1
    assert "no trained model in" in capsys.readouterr().err


def test_wrong_usage_is_exit_2(tmp_path, capsys):
    assert main(["index", str(tmp_path), "--batch-size", "0"]) == 2
    assert main(["index"]) == 2
