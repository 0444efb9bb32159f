"""The model every command uses: `--model`, then the model recorded by the home's index, then the
home's most recently trained model, then the model shipped in the package.

Query, serve and export find the index's model through indexer.index_model; verify and an incremental
`engine index` come here, so a home built by `engine index --model M` answers `engine verify` with M.
"""

from __future__ import annotations

import os

from db.records import ModelInfo
from db.store import CatalogStore, NothingIndexed
from engine.base.home import Home
from engine.inference.model_choice import ModelChoice, choose_model
from engine.model.card import model_card
from indexer.index_model import index_model


def home_model(home: Home, model: str | os.PathLike[str] | None = None) -> ModelChoice:
    """The model for a command run in `home` (see the module doc)."""
    if model is not None:
        return choose_model(home, model)
    stored = recorded_model(home)
    if stored is not None:
        return ModelChoice(index_model(home, stored).path, "index")
    return choose_model(home)


def recorded_model(home: Home) -> ModelInfo | None:
    """The model that made the home's index; None when nothing is indexed there."""
    try:
        store = CatalogStore(home.catalog_url, create=False)
    except NothingIndexed:
        return None
    try:
        return store.model_info() if store.count() else None
    finally:
        store.close()


def model_card_of(home: Home, model: str | os.PathLike[str] | None = None) -> dict:
    """The model card (engine.model.card) of the model a command in `home` would use, with how it was chosen."""
    choice = home_model(home, model)
    return {**model_card(choice.path), "source": choice.source}
