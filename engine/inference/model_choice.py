"""Which model a command uses when the home has no index: `--model`, else the home's most recently
trained model, else the model shipped in the package (engine.model.shipped).

indexer.home_model puts the model recorded by the home's index before the home's own; every command
that needs a model resolves it through one of the two, and its `--json` names the choice.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from engine.base.errors import EngineError
from engine.base.home import Home
from engine.data.provenance import is_synthetic
from engine.model.checkpoint import LoadedModel
from engine.model.shipped import SHIPPED_NAME, is_shipped, shipped_model

logger = logging.getLogger(__name__)

SOURCES = ("option", "index", "home", "shipped")  # in the order they are tried


@dataclass(frozen=True)
class ModelChoice:
    path: Path
    source: str  # one of SOURCES: --model, the model recorded by the home's index, the home's own, the shipped one

    def describe(self, lm: LoadedModel) -> dict:
        """What `--json` says about the model used."""
        return {"path": str(self.path), "source": self.source, "fingerprint": lm.fingerprint[:12],
                "name": model_name(lm)}


def choose_model(home: Home, model: str | os.PathLike[str] | None = None) -> ModelChoice:
    """`--model`, else the home's most recently trained model, else the shipped one."""
    if model is not None:
        return ModelChoice(home.model_path(model), "option")
    try:
        return ModelChoice(home.current_model(), "home")
    except EngineError as missing:
        shipped = shipped_model()
        if shipped is None:
            raise missing from None
        return ModelChoice(shipped, "shipped")


def model_name(lm: LoadedModel) -> str:
    """A name for people: the shipped model's, else the model's folder and what it learnt from."""
    trained_on = lm.trained_on or {}
    what = f"{trained_on['painters']} painters" if trained_on.get("painters") else "unknown data"
    if trained_on.get("synthetic"):
        what = f"{what}, generated"
    if is_shipped(lm.path):
        return f"{SHIPPED_NAME} ({lm.backbone}, {what})"
    folder = lm.path.parent.name if lm.path else lm.fingerprint[:12]
    return f"{folder} ({lm.backbone}, {what})"


def warn_if_synthetic(lm: LoadedModel, paths: Iterable[str | os.PathLike[str]]) -> bool:
    """One warning line when a model trained on generated paintings meets real files; True when it warned."""
    if not (lm.trained_on or {}).get("synthetic"):
        return False
    real = next((p for p in paths if not is_synthetic(p)), None)
    if real is None:
        return False
    logger.warning("model %s was trained on generated paintings (engine demo), not real ones: its answers on %s "
                   "mean little; use the shipped model (no --model) or train one with `engine train`",
                   lm.fingerprint[:12], Path(real).name)
    return True
