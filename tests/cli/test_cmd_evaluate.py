import json

import pytest

from cli.app import main
from tests.engine.evaluate.test_runner import Fakes, make_dataset


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    data = make_dataset(tmp_path / "data")
    Fakes(data).install(monkeypatch)
    model = tmp_path / "model.pt"
    model.write_bytes(b"x")
    return model


def test_json_has_cli_keys_and_nothing_else_on_stdout(fake_model, capsys):
    code = main(["evaluate", "--model", str(fake_model), "--pairs", "80", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert {"split", "artists", "images", "verification", "triplet_accuracy", "attribution", "retrieval", "baseline"} <= set(doc)
    assert {"roc_auc", "accuracy", "threshold", "eer", "average_precision", "pairs"} <= set(doc["baseline"]["verification"])
    assert doc["split"] == "test"


def test_table_output(fake_model, capsys):
    assert main(["evaluate", "--model", str(fake_model), "--split", "val", "--pairs", "60", "--no-baseline"]) == 0
    out = capsys.readouterr().out
    assert "verification ROC-AUC" in out and "threshold from: val" in out


def test_errors_and_usage(tmp_path, fake_model, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "nope.pt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("engine: error: model not found") and err.count("\n") == 1
    assert main(["evaluate", "--model", str(fake_model), "--split", "train"]) == 2
    assert main(["evaluate", "--model", str(fake_model), "--pairs", "1"]) == 2
