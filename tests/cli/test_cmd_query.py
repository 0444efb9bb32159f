"""`engine query` through cli.app.main: JSON and table output, filters, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kits"))
from indexer_kit import gallery, session_model  # noqa: E402

from cli.app import main  # noqa: E402


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    model = session_model(tmp_path_factory)
    root = tmp_path_factory.mktemp("cli-query")
    paths = gallery(root / "art", per_artist=3)
    home = root / "home"
    assert main(["index", str(root / "art"), "--home", str(home), "--model", str(model), "--json"]) == 0
    return paths, ["--home", str(home), "--model", str(model)]


def test_json(indexed, capsys):
    paths, opts = indexed
    capsys.readouterr()
    query = paths["Cid Blue"][1]
    assert main(["query", str(query), str(paths["Ann Red"][0]), "-k", "4", "--duplicate-threshold", "0.9999", "--json", *opts]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["query"] for r in results] == [str(query), str(paths["Ann Red"][0])]
    first = results[0]
    assert len(first["matches"]) == 4 and set(first["matches"][0]) == {"path", "artist", "similarity", "duplicate"}
    assert first["in_collection"]["path"] == str(query.resolve()) and str(query.resolve()) not in [m["path"] for m in first["matches"]]
    assert first["artists"][0]["artist"] == "Cid Blue"
    assert set(first["artists"][0]) == {"artist", "vote", "score", "probability"} and "unknown" in first  # open-set attribution


def test_artist_filter(indexed, capsys):
    paths, opts = indexed
    capsys.readouterr()
    assert main(["query", str(paths["Ann Red"][0]), "-k", "3", "--artist", "BOB GREEN", "--json", *opts]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert [m["artist"] for m in result["matches"]] == ["Bob Green"] * 3


def test_table(indexed, capsys):
    paths, opts = indexed
    capsys.readouterr()
    assert main(["query", str(paths["Bob Green"][2]), "-k", "2", *opts]) == 0
    out = capsys.readouterr().out
    assert "similarity" in out and "Bob Green" in out and "likely" in out


def test_errors_exit_1_with_one_line(indexed, tmp_path, capsys):
    paths, opts = indexed
    capsys.readouterr()
    assert main(["query", str(paths["Ann Red"][0]), "-k", "100", "--json", *opts]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "larger than the index" in captured.err and captured.err.count("\n") == 1
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    assert main(["query", str(tmp_path / "bad.jpg"), *opts]) == 1
    assert "cannot read query image" in capsys.readouterr().err
    assert main(["query", str(paths["Ann Red"][0]), "--home", str(tmp_path / "empty"), "--model", opts[-1]]) == 1
    assert "nothing indexed" in capsys.readouterr().err
    assert main(["query", str(paths["Ann Red"][0]), "-k", "0", *opts]) == 2
