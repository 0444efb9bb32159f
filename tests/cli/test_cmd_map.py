"""`engine map` through cli.app.main: JSON and table output, reuse of the cached map, one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kits"))
from indexer_kit import gallery, session_model  # noqa: E402

from cli.app import main  # noqa: E402


def test_map_json_table_and_reuse(tmp_path, tmp_path_factory, capsys):
    gallery(tmp_path / "art", per_artist=2)  # 6 paintings: a PCA layout, no optional package needed
    home = str(tmp_path / "home")
    assert main(["index", str(tmp_path / "art"), "--home", home, "--model", str(session_model(tmp_path_factory)), "--json"]) == 0
    capsys.readouterr()
    assert main(["map", "--home", home, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["paintings"], result["method"], result["reused"]) == (6, "pca", False) and Path(result["path"]).is_file()
    assert main(["map", "--home", home]) == 0
    out = capsys.readouterr().out
    assert "paintings" in out and "cached, still current" in out


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["map", "--home", str(tmp_path / "empty"), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert main(["map", "--home", str(tmp_path / "empty"), "--method", "pca2"]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "unknown map method 'pca2'" in captured.err
