"""`engine model info`: the card of the model a command would use, as Markdown or JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kits"))
from indexer_kit import session_model  # noqa: E402

from cli.app import main  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return session_model(tmp_path_factory)


def test_info_of_a_named_model(model, tmp_path, capsys):
    assert main(["model", "info", str(model), "--home", str(tmp_path / "h"), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["path"] == str(model) and card["source"] == "option" and not card["shipped"]
    assert main(["model", "info", str(model.parent), "--home", str(tmp_path / "h")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Model card: ") and "(used here as: option;" in out


def test_fresh_home_without_any_model_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("engine.inference.model_choice.shipped_model", lambda: None)
    assert main(["model", "info", "--home", str(tmp_path / "fresh")]) != 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no trained model in" in captured.err and "Traceback" not in captured.err


def test_missing_model_file_is_a_one_line_error(tmp_path, capsys):
    assert main(["model", "info", str(tmp_path / "nope.pt"), "--home", str(tmp_path / "h")]) != 0
    err = capsys.readouterr().err
    assert "nope.pt" in err and "Traceback" not in err
