"""Model cards: the facts come from the model file (and card.json for the shipped model), the Markdown shows them."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "kits"))
from indexer_kit import THRESHOLD, write_model  # noqa: E402

from engine.model.card import model_card, render_card  # noqa: E402

TRAINED_ON = {"fingerprint": "ab" * 32, "painters": 7, "paintings": 91, "synthetic": False,
              "collections": [{"name": "alpha", "painters": 4, "paintings": 60, "synthetic": False},
                              {"name": "beta", "painters": 3, "paintings": 31, "synthetic": False}]}


def _with_trained_on(path: Path, trained_on) -> Path:
    data = torch.load(path, map_location="cpu", weights_only=False)
    data["trained_on"] = trained_on
    torch.save(data, path)
    return path


def test_card_reads_the_model_file(tmp_path):
    path = _with_trained_on(write_model(tmp_path / "m" / "model.pt"), TRAINED_ON)
    card = model_card(path.parent)
    assert card["path"] == str(path) and card["name"] == "m" and not card["shipped"]
    assert card["threshold"] == THRESHOLD and card["calibration_slope"] == 10.0
    assert card["trained_on"] == TRAINED_ON and card["size_bytes"] == path.stat().st_size
    assert "cv" not in card  # only the shipped model carries its recipe's CV rows


def test_rendered_card_gives_the_training_data_with_counts(tmp_path):
    text = render_card(model_card(_with_trained_on(write_model(tmp_path / "model.pt"), TRAINED_ON)))
    assert "91 real paintings by 7 painters" in text
    assert "`alpha`: 60 paintings, 4 painters" in text and "`beta`: 31 paintings, 3 painters" in text
    assert f"decision threshold {THRESHOLD:.4f}" in text
    for heading in ("## Limits", "## Data provenance and terms", "## Train your own on a collection"):
        assert heading in text


def test_a_demo_model_says_it_learnt_generated_paintings(tmp_path):
    text = render_card(model_card(_with_trained_on(write_model(tmp_path / "model.pt"), {**TRAINED_ON, "synthetic": True})))
    assert "generated paintings (engine demo)" in text and "real paintings" not in text.split("## Limits")[0]


def test_uncalibrated_and_unrecorded_models_say_so(tmp_path):
    text = render_card(model_card(write_model(tmp_path / "model.pt", calibrated=False)))
    assert "- Not calibrated." in text and "Not recorded" in text


def test_cv_rows_become_a_table_with_their_commands(tmp_path):
    card = model_card(write_model(tmp_path / "model.pt"))
    card["cv"] = [
        {"label": "both", "key": "k1", "command": "python benchmarks/accuracy.py --x", "summary": {"roc_auc": {"mean": 0.8123, "sd": 0.0311}}},
        {"label": "first", "key": "k2", "command": "python benchmarks/accuracy.py --y", "summary": {"roc_auc": {"mean": 0.7, "sd": None}, "top1": {"mean": 0.5, "sd": 0.1}}},
    ]
    text = render_card(card)
    assert "| metric | both | first |" in text
    assert "| verification ROC-AUC | 0.812 ± 0.031 | 0.700 ± 0.000 |" in text
    assert "| attribution top-1 (10-NN vote) |  | 0.500 ± 0.100 |" in text
    assert "retrieval MAP@R" not in text  # no row without a number
    assert "- both: `python benchmarks/accuracy.py --x`" in text
