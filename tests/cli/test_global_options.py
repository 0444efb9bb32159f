"""Global options before the verb (`engine --home DIR VERB`) as well as after it; the verb's own wins."""

from __future__ import annotations

import json

import pytest
from indexer_kit import gallery, session_model

from cli.app import main


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    model = session_model(tmp_path_factory)
    root = tmp_path_factory.mktemp("cli-global")
    paths = gallery(root / "art", per_artist=2)
    home = root / "home"
    assert main(["--home", str(home), "--json", "index", str(root / "art"), "--model", str(model)]) == 0
    return paths, home, model


def _query(argv, capsys) -> dict:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("order", ["before", "after", "mixed"])
def test_both_option_orders_give_the_same_answer(indexed, capsys, order):
    paths, home, model = indexed
    image = str(paths["Ann Red"][0])
    opts = ["--home", str(home), "--json", "--model", str(model)]
    argv = {
        "before": [*opts, "query", image, "-k", "2"],
        "after": ["query", image, "-k", "2", *opts],
        "mixed": ["--json", "--home", str(home), "query", image, "-k", "2", "--model", str(model)],
    }[order]
    result = _query(argv, capsys)
    (answer,) = result["results"]
    assert answer["in_collection"]["artist"] == "Ann Red"  # the catalogued query itself: reported, never its own match
    assert len(answer["matches"]) == 2 and answer["matches"][0]["artist"] == "Ann Red"


def test_option_after_the_verb_takes_precedence(indexed, tmp_path, capsys):
    paths, home, _ = indexed
    empty = tmp_path / "empty-home"
    # the global --home names an empty home; the verb's own --home (the indexed one) wins
    result = _query(["--home", str(empty), "query", str(paths["Bob Green"][1]), "-k", "1", "--home", str(home), "--json"], capsys)
    assert result["results"][0]["matches"][0]["artist"] == "Bob Green"
    assert not (empty / "catalog.sqlite").exists()


def test_global_db_reaches_the_verb(indexed, tmp_path, capsys):
    paths, home, _ = indexed
    other = tmp_path / "other.sqlite"
    assert main(["--db", f"sqlite:///{other}", "query", str(paths["Ann Red"][0]), "--home", str(home)]) == 1
    assert "nothing indexed" in capsys.readouterr().err and not other.exists()


def test_global_json_on_a_failing_verb_is_still_one_line(tmp_path, capsys):
    assert main(["--json", "--home", str(tmp_path / "h"), "query", str(tmp_path / "x.jpg")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("engine: error:") and err.count("\n") == 1
