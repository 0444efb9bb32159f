"""Without --model, `query` uses the model that built the index; a moved model is a one-line error."""

from __future__ import annotations

import json
import shutil

import pytest
from indexer_kit import gallery, write_model

from cli.app import main
from db.store import CatalogStore
from engine.base.errors import EngineError
from engine.base.home import Home
from indexer.index_model import index_model


@pytest.fixture
def indexed_with_outside_model(tmp_path_factory):
    """A home indexed with `--model M`, M outside the home (the home has no model of its own)."""
    root = tmp_path_factory.mktemp("index-model")
    model = write_model(root / "outside" / "model.pt", embedding_dim=8)
    paths = gallery(root / "art", per_artist=2)
    home = root / "home"
    assert main(["index", str(root / "art"), "--home", str(home), "--model", str(model), "--json"]) == 0
    return paths, home, model


def _stored(home):
    store = CatalogStore(Home.resolve(home).catalog_url, create=False)
    try:
        return store.model_info()
    finally:
        store.close()


def test_query_without_model_uses_the_index_model(indexed_with_outside_model, capsys):
    paths, home, model = indexed_with_outside_model
    capsys.readouterr()
    assert main(["query", str(paths["Cid Blue"][0]), "-k", "1", "--home", str(home), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["matches"][0]["artist"] == "Cid Blue"
    lm = index_model(Home.resolve(home), _stored(home))
    assert lm.path.resolve() == model.resolve()


def test_current_model_with_the_same_fingerprint_is_preferred(indexed_with_outside_model):
    _, home, model = indexed_with_outside_model
    copy = Home.resolve(home).models_dir / "copy" / "model.pt"
    copy.parent.mkdir(parents=True)
    shutil.copy(model, copy)
    Home.resolve(home).set_current_model(copy)
    assert index_model(Home.resolve(home), _stored(home)).path.resolve() == copy.resolve()


def test_current_model_of_another_fingerprint_falls_back_to_the_index_model(indexed_with_outside_model, tmp_path):
    _, home, model = indexed_with_outside_model
    other = write_model(Home.resolve(home).models_dir / "other" / "model.pt", seed=1, embedding_dim=8)
    Home.resolve(home).set_current_model(other)
    assert index_model(Home.resolve(home), _stored(home)).path.resolve() == model.resolve()


def test_moved_model_is_a_one_line_error_naming_the_fingerprint(indexed_with_outside_model, capsys):
    paths, home, model = indexed_with_outside_model
    fingerprint = _stored(home).fingerprint[:12]
    model.rename(model.with_name("moved.pt"))
    capsys.readouterr()
    assert main(["query", str(paths["Ann Red"][0]), "--home", str(home)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fingerprint in err and "--model" in err
    with pytest.raises(EngineError, match=fingerprint):
        index_model(Home.resolve(home), _stored(home))
    # the moved file still works when named explicitly
    assert index_model(Home.resolve(home), _stored(home), model.with_name("moved.pt")).fingerprint.startswith(fingerprint)
