"""The shipped model records what `python benchmarks/ship_model.py` would write today: its recipe, the data it
was built from, the library versions, its recipe's CV rows and the model card in docs/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import ship_model  # noqa: E402

from engine.base.config import to_plain  # noqa: E402
from engine.model.card import model_card, render_card  # noqa: E402
from engine.model.checkpoint import read_checkpoint  # noqa: E402
from engine.model.shipped import SHIPPED_MODEL, shipped_card  # noqa: E402

MAX_BYTES = 10_000_000


@pytest.fixture(scope="module")
def card() -> dict:
    assert SHIPPED_MODEL.is_file(), "engine/model/shipped/default.pt is missing: python benchmarks/ship_model.py"
    return shipped_card()


def test_recipe_is_what_the_script_trains(card):
    assert card["recipe"] == ship_model.SHIP_RECIPE
    today = ship_model.recipe_record(to_plain(ship_model.ship_config()))
    changed = {k for k in card["config"] if today.get(k, card["config"][k]) != card["config"][k]}
    assert not changed and set(card["config"]) <= set(today) | {"trained_on"}, \
        f"the default recipe changed ({sorted(changed)}): rebuild with python benchmarks/ship_model.py"
    # (a field added since, absent from the record, must default to the behaviour the model was trained with)
    stored = read_checkpoint(SHIPPED_MODEL)
    assert ship_model.recipe_record(stored["config"]) == card["config"]


def test_versions_are_those_installed(card):
    assert card["versions"] == ship_model.shipped_versions()


def test_built_from_the_shared_paintings_as_they_are(card, artdata):
    assert card["source_fingerprint"] == ship_model.source_fingerprint(artdata.parent)
    trained_on = read_checkpoint(SHIPPED_MODEL)["trained_on"]
    assert not trained_on["synthetic"] and {c["name"].split("/")[0] for c in trained_on["collections"]} == {"artdata", "wikiart"}
    assert card["build"]["painters"] == trained_on["painters"] and card["build"]["images"] == trained_on["paintings"]


def test_cv_rows_and_model_card_are_generated(card):
    assert card["cv"] == ship_model.cv_rows()
    assert (REPO / "docs" / "MODEL_CARD.md").read_text(encoding="utf-8") == render_card(model_card(SHIPPED_MODEL)), \
        "docs/MODEL_CARD.md is stale: python benchmarks/ship_model.py --card-only"


def test_compact_and_half_precision_lose_nothing_measurable(card):
    assert SHIPPED_MODEL.stat().st_size == card["size_bytes"] < MAX_BYTES
    assert card["fingerprint"] == read_checkpoint(SHIPPED_MODEL)["fingerprint"]
    check = card["float16_check"]
    assert check["max_abs_cosine_difference"] < 1e-2
    assert abs(check["val_roc_auc_float16"] - check["val_roc_auc_float32"]) < 1e-3
