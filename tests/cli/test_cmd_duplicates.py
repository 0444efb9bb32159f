"""`engine duplicates` through cli.app.main: JSON and table output, a bad threshold is a one-line error."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kits"))
from indexer_kit import gallery, session_model  # noqa: E402

from cli.app import main  # noqa: E402


def test_json_table_and_errors(tmp_path, tmp_path_factory, capsys):
    model = session_model(tmp_path_factory)
    art, home = tmp_path / "art", tmp_path / "home"
    gallery(art, per_artist=2)
    shutil.copy(art / "Ann Red" / "0.jpg", art / "Bob Green" / "scan again.jpg")
    assert main(["index", str(art), "--home", str(home), "--model", str(model)]) == 0
    capsys.readouterr()
    assert main(["duplicates", "--home", str(home), "--threshold", "1.0", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["paintings"] == 7 and result["groups"][0]["exact"] is True
    assert {Path(p["path"]).name for p in result["groups"][0]["paintings"]} == {"0.jpg", "scan again.jpg"}
    assert main(["duplicates", "--home", str(home), "--threshold", "1.0"]) == 0
    assert "group 1: 2 paintings (same file)" in capsys.readouterr().out
    assert main(["duplicates", "--home", str(home), "--threshold", "2"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "not a cosine" in captured.err
