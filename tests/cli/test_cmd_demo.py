import json

import pytest

import cli.demo.tour
from cli.app import main


def _result(home):
    return {
        "source": "synthetic", "seconds": 95.0, "home": str(home), "workdir": str(home / "demo" / "synthetic"),
        "steps": {
            "generate": {"line": "24 synthetic artists x 30 paintings", "seconds": 3.0},
            "prepare": {"line": "720 images of 24 artists", "seconds": 4.0},
            "train": {"line": "efficientnet_lite0 (frozen)", "seconds": 40.0},
            "evaluate": {"line": "held-out artists: ROC-AUC 0.950 trained vs 0.860 ImageNet baseline", "seconds": 30.0,
                         "trained": {"roc_auc": 0.95}, "baseline": {"roc_auc": 0.86}},
            "index": {"line": "150 paintings in the index", "seconds": 10.0},
            "query": {"line": "right", "seconds": 2.0, "query": "/q/new-030.jpg", "true_artist": "synthetic-10",
                      "matches": [{"path": "/lib/synthetic-10/005.jpg", "artist": "synthetic-10", "similarity": 0.97}]},
            "verify": {"line": "2/2 right", "seconds": 3.0, "pairs": []},
        },
        "artefacts": {"model": str(home / "models" / "demo-1" / "model.pt"), "report": str(home / "report"),
                      "plots": [str(home / "report" / "roc.png")], "catalog": f"sqlite:///{home}/catalog.sqlite",
                      "index": str(home / "index.faiss"), "gallery": None},
    }


@pytest.fixture
def fake_demo(tmp_path, monkeypatch):
    calls = []

    def run_demo(**kwargs):
        calls.append(kwargs)
        return _result(tmp_path / "home")

    monkeypatch.setattr(cli.demo.tour, "run_demo", run_demo)
    return calls


def test_json_is_the_result_and_nothing_else(fake_demo, tmp_path, capsys):
    assert main(["demo", "--home", str(tmp_path / "home"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == _result(tmp_path / "home")
    call = fake_demo[0]
    assert call["data"] is None and call["labels"] is None and call["home"] == tmp_path / "home"
    assert call["config"] == cli.demo.tour.DemoConfig()


def test_options_reach_the_library(fake_demo, tmp_path):
    data, labels = tmp_path / "art", tmp_path / "info.csv"
    args = ["demo", "--data", str(data), "--labels", str(labels), "--max-per-artist", "0", "--epochs", "3",
            "--seed", "7", "--index-all", "--workdir", str(tmp_path / "w")]
    assert main(args) == 0
    call = fake_demo[0]
    assert (call["data"], call["labels"], call["workdir"]) == (data, labels, tmp_path / "w")
    assert call["config"] == cli.demo.tour.DemoConfig(max_per_artist=None, epochs=3, seed=7, index="all")


def test_summary_lists_steps_in_order_and_artefacts(fake_demo, tmp_path, capsys):
    assert main(["demo", "--home", str(tmp_path / "home")]) == 0
    out = capsys.readouterr().out
    positions = [out.index(step) for step in ("generate", "prepare", "train", "evaluate", "index", "query", "verify")]
    assert positions == sorted(positions)
    assert "0.950 trained vs 0.860" in out and "005.jpg" in out and "roc.png" in out and "model.pt" in out
    assert "engine query /q/new-030.jpg" in out


def test_errors_and_usage(tmp_path, capsys):
    assert main(["demo", "--labels", str(tmp_path / "x.csv"), "--home", str(tmp_path / "h")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("engine: error: --labels needs --data") and err.count("\n") == 1
    assert main(["demo", "--data", str(tmp_path / "missing"), "--home", str(tmp_path / "h")]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert main(["demo", "--epochs", "0"]) == 2
    assert main(["demo", "--max-per-artist", "-1"]) == 2
