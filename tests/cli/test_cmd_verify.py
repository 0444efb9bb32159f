"""`engine verify` through cli.app.main: JSON and table output, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kits"))
from indexer_kit import CALIBRATION, THRESHOLD, painting, session_model  # noqa: E402

from cli.app import main  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return session_model(tmp_path_factory)


def test_json_and_table(tmp_path, model, capsys):
    a = painting(tmp_path / "a.jpg", colour=(200, 20, 20), seed=1)
    b = painting(tmp_path / "b.jpg", colour=(20, 20, 200), seed=2)
    assert main(["verify", str(a), str(b), "--model", str(model), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"similarity", "probability", "same_artist", "threshold"} <= set(result)
    assert result["threshold"] == THRESHOLD and result["same_artist"] == (result["similarity"] >= THRESHOLD)
    assert 0.0 <= result["probability"] <= 1.0
    assert main(["verify", str(a), str(a), "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "same artist" in out and "1.0000" in out


def test_errors(tmp_path, model, capsys):
    a = painting(tmp_path / "a.jpg", colour=(200, 20, 20), seed=1)
    assert main(["verify", str(a), str(tmp_path / "missing.jpg"), "--model", str(model), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "image not found" in captured.err
    assert main(["verify", str(a), str(a), "--model", str(tmp_path / "none.pt")]) == 1
    assert "model not found" in capsys.readouterr().err
    assert main(["verify", str(a)]) == 2


def test_explain_writes_the_png_and_the_decision_is_in_the_json(tmp_path, model, capsys):
    from PIL import Image

    a = painting(tmp_path / "a.jpg", colour=(200, 20, 20), seed=1)
    b = painting(tmp_path / "b.jpg", colour=(20, 20, 200), seed=2)
    out = tmp_path / "explained.png"
    assert main(["verify", str(a), str(b), "--model", str(model), "--explain", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decision"] in ("same", "different", "uncertain")
    assert result["explanation"]["png"] == str(out) and Image.open(out).format == "PNG"
    assert len(result["explanation"]["maps"]) == 2
    assert main(["verify", "--pairs", str(tmp_path / "p.csv"), "--out", str(tmp_path / "o.csv"), "--explain", str(out)]) == 2
