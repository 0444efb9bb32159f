"""One model resolution for every command: --model, the index's model, the home's trained model, the shipped one."""

from __future__ import annotations

import json
import shutil

import pytest
from indexer_kit import gallery, write_model

from cli.app import main
from engine.base.home import Home
from indexer.home_model import home_model


@pytest.fixture
def shipped(tmp_path, monkeypatch, tiny_model):
    path = tmp_path / "package" / "default.pt"
    path.parent.mkdir()
    shutil.copy(tiny_model, path)
    monkeypatch.setattr("engine.model.shipped.SHIPPED_MODEL", path)
    return path


def _json(capsys, argv):
    capsys.readouterr()
    assert main(argv + ["--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_verify_on_a_home_built_with_index_model_uses_that_model(tmp_path, tiny_model, other_model, shipped, capsys):
    paths = gallery(tmp_path / "art", per_artist=2)
    home = str(tmp_path / "home")
    _json(capsys, ["index", str(tmp_path / "art"), "--home", home, "--model", str(other_model)])
    a, b = paths["Ann Red"]
    result = _json(capsys, ["verify", str(a), str(b), "--home", home])
    assert result["model_used"]["source"] == "index" and result["model_used"]["path"] == str(other_model)
    # a newer model trained into the home does not replace the index's model
    newer = write_model(Home.resolve(home).models_dir / "20990101-000000" / "model.pt", seed=5, embedding_dim=8)
    Home.resolve(home).set_current_model(newer)
    assert home_model(Home.resolve(home)).path == other_model
    assert _json(capsys, ["verify", str(a), str(b), "--home", home])["model_used"]["path"] == str(other_model)
    # --model still wins
    assert _json(capsys, ["verify", str(a), str(b), "--home", home, "--model", str(newer)])["model_used"]["source"] == "option"


def test_an_incremental_index_keeps_the_index_model(tmp_path, other_model, shipped, capsys):
    gallery(tmp_path / "art", per_artist=2)
    home = str(tmp_path / "home")
    _json(capsys, ["index", str(tmp_path / "art"), "--home", home, "--model", str(other_model)])
    write_model(Home.resolve(home).models_dir / "20990101-000000" / "model.pt", seed=6, embedding_dim=8)
    gallery(tmp_path / "art", per_artist=3)  # one more painting per artist
    result = _json(capsys, ["index", str(tmp_path / "art"), "--home", home])
    assert result["added"] == 3 and result["model_used"] == {**result["model_used"], "source": "index", "path": str(other_model)}


def test_another_model_for_an_index_is_one_line_naming_both(tmp_path, tiny_model, other_model, shipped, capsys):
    gallery(tmp_path / "art", per_artist=2)
    home = str(tmp_path / "home")
    _json(capsys, ["index", str(tmp_path / "art"), "--home", home, "--model", str(other_model)])
    capsys.readouterr()
    assert main(["index", str(tmp_path / "art"), "--home", home, "--model", str(tiny_model)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--reindex" in err
    from engine.model.checkpoint import load_model

    assert load_model(other_model).fingerprint[:12] in err and load_model(tiny_model).fingerprint[:12] in err


def test_a_fresh_home_indexes_queries_and_verifies_with_the_shipped_model(tmp_path, shipped, capsys):
    paths = gallery(tmp_path / "art", per_artist=3)
    home = str(tmp_path / "home")
    indexed = _json(capsys, ["index", str(tmp_path / "art"), "--home", home])
    assert indexed["added"] == 9 and indexed["model_used"]["source"] == "shipped"
    found = _json(capsys, ["query", str(paths["Bob Green"][0]), "--home", home, "-k", "3"])
    assert found["model_used"]["path"] == str(shipped)
    a, b = paths["Cid Blue"][:2]
    assert _json(capsys, ["verify", str(a), str(b), "--home", home])["model_used"]["path"] == str(shipped)
    card = _json(capsys, ["model", "info", "--home", home])
    assert card["source"] == "index" and card["path"] == str(shipped)
