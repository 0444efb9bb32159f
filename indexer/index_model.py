"""Which model embeds queries for an index: `--model`, else the model that built the index.

Without `--model`, the home's current model is used when it has the index's fingerprint (same
weights; its calibration may be newer); otherwise the model file recorded in the catalog when the
index was built (`engine index FOLDER --model M` into a home that has no trained model of its own).
A recorded file that has moved, gone, or been overwritten by another model is a one-line error
naming the fingerprint. `engine query` and `engine serve` both resolve their model here.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from db.records import ModelInfo
from db.store import check_model
from engine.base.errors import EngineError
from engine.base.home import Home
from engine.inference.model_cache import cached_model
from engine.model.checkpoint import LoadedModel
from engine.model.shipped import shipped_model
from indexer.artefacts import model_info

logger = logging.getLogger(__name__)


def index_model(home: Home, stored: ModelInfo, model: str | os.PathLike[str] | None = None) -> LoadedModel:
    """The loaded (cached) model for an index whose vectors `stored` made; EngineError when none fits."""
    if model is not None:
        lm = cached_model(home.model_path(model))
        check_model(stored, model_info(lm))
        return lm
    for candidate in _candidates(home, stored):
        lm = cached_model(candidate)
        if lm.fingerprint == stored.fingerprint:
            return lm
        logger.debug("%s has fingerprint %s, the index needs %s", candidate, lm.fingerprint[:12], stored.fingerprint[:12])
    raise EngineError(_missing_message(home, stored))


def _candidates(home: Home, stored: ModelInfo) -> list[Path]:
    """The home's current model, the recorded path, then the shipped model (each once, existing files only)."""
    paths: list[Path] = []
    try:
        paths.append(home.current_model())
    except EngineError:
        pass  # a home without a trained model: the index's own model is the default
    if stored.path and Path(stored.path).is_file():
        recorded = Path(stored.path)
        if not any(_same_file(recorded, p) for p in paths):
            paths.append(recorded)
    shipped = shipped_model()
    if shipped is not None and not any(_same_file(shipped, p) for p in paths):
        paths.append(shipped)
    return paths


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _missing_message(home: Home, stored: ModelInfo) -> str:
    fp = stored.fingerprint[:12]
    where = f"{stored.path}, which is gone, moved or now holds another model" if stored.path else "a file not recorded"
    return (
        f"this index was built with model {fp} ({stored.backbone}) from {where}, and the current model of "
        f"{home.root} is not that model; pass --model PATH to the model with fingerprint {fp}, "
        f"or re-index with `engine index FOLDER --reindex --model PATH`"
    )
