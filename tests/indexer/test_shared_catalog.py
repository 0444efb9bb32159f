"""Two homes, one catalog (on SQLite and PostgreSQL): home A indexes, home B queries with its own FAISS file,
rebuilt from the catalog's stored vectors when missing and brought up to date when stale."""

from __future__ import annotations

import pytest
from indexer_kit import catalog_state, painting

from db.store import CatalogStore
from engine.base.errors import EngineError
from engine.base.home import Home
from indexer.artefacts import index_file
from indexer.pipeline import index_folder
from indexer.search import query_images
from indexer.vector_index import VectorIndex


def _index_path(home, db):
    store = CatalogStore(db, create=False)
    try:
        return index_file(Home.resolve(home, db=db), store.catalog_uid()), store.ids()
    finally:
        store.close()


def test_home_b_keeps_its_own_index_of_the_catalog_home_a_writes(art, tmp_path, tiny_model, catalog_url):
    home_a, home_b = tmp_path / "home-a", tmp_path / "home-b"
    index_folder(art, home=home_a, db=catalog_url, model=tiny_model)
    query = sorted(art.rglob("*.jpg"))[0]

    def ask(home, image):
        return query_images([image], home=home, db=catalog_url, model=tiny_model, k=5)["results"][0]

    b_file, ids = _index_path(home_b, catalog_url)
    assert not b_file.exists()
    assert ask(home_b, query) == ask(home_a, query)  # B rebuilt the index from the vectors A stored ...
    assert sorted(catalog_state(home_b, catalog_url).values()) == sorted(catalog_state(home_a, catalog_url).values())
    assert VectorIndex.load(b_file).ids().tolist() == ids.tolist()  # ... and kept it as its own file

    (art / "Ann Red" / "0.jpg").unlink()
    new = painting(art / "Dee Grey" / "0.jpg", colour=(128, 128, 128), seed=999)
    index_folder(art, home=home_a, db=catalog_url, model=tiny_model, prune=True)
    _, ids = _index_path(home_b, catalog_url)
    assert VectorIndex.load(b_file).ids().tolist() != ids.tolist()  # A's run left B's file stale
    from_b = ask(home_b, new)
    assert from_b == ask(home_a, new) and from_b["in_collection"]["path"] == str(new.resolve())
    assert str(new.resolve()) not in [m["path"] for m in from_b["matches"]]  # the query itself is never its own match
    assert VectorIndex.load(b_file).ids().tolist() == ids.tolist()  # brought up to date from the catalog
    check = index_folder(art, home=home_b, db=catalog_url, check=True)["check"]
    assert check["consistent"] and check["found"]["rows_without_vector"] == 0 and check["found"]["vectors_without_row"] == 0


def test_two_homes_cannot_index_one_catalog_at_once(art, tmp_path, tiny_model, catalog_url, monkeypatch):
    """The lock lives with the catalog: home B's indexer is refused while home A's runs (here: is inside a commit)."""
    import indexer.writer

    refused: list[str] = []
    real_insert = indexer.writer.IndexWriter.insert

    def insert_then_try_home_b(self, *args, **kwargs):
        if not refused:
            with pytest.raises(EngineError) as err:
                index_folder(art, home=tmp_path / "home-b", db=catalog_url, model=tiny_model)
            refused.append(str(err.value))
        return real_insert(self, *args, **kwargs)

    monkeypatch.setattr(indexer.writer.IndexWriter, "insert", insert_then_try_home_b)
    result = index_folder(art, home=tmp_path / "home-a", db=catalog_url, model=tiny_model)
    assert result["added"] == 12
    assert refused and refused[0].startswith("another `engine index` is running on the catalog "), refused
    assert len(catalog_state(tmp_path / "home-a", catalog_url)) == 12  # B wrote nothing
