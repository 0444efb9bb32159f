"""Crash safety in-process: whatever stops a run, the next run ends consistent, complete, without re-embedding committed work
(on SQLite and PostgreSQL: `catalog_url`)."""

from __future__ import annotations

import numpy as np
import pytest

from db.store import CatalogStore
from engine.base.home import Home
from indexer import embed_loop
from indexer.artefacts import index_file
from indexer.config import IndexConfig
from indexer.pipeline import index_folder
from indexer.vector_index import VectorIndex, build_index
from indexer.writer import IndexWriter
from indexer_kit import catalog_state


class Crash(BaseException):
    """Stands in for a kill: not an Exception, so nothing on the way catches it."""


def _index_path(home, db):
    store = CatalogStore(db, create=False)
    try:
        return index_file(Home.resolve(home, db=db), store.catalog_uid())
    finally:
        store.close()


def test_crash_before_the_index_is_saved(art, home, tiny_model, catalog_url, monkeypatch):
    monkeypatch.setattr(IndexWriter, "save", lambda self: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        index_folder(art, home=home, db=catalog_url, model=tiny_model)
    monkeypatch.undo()
    again = index_folder(art, home=home, db=catalog_url, model=tiny_model)
    assert again["embedded"] == 0 and again["total"] == 12  # committed rows carried their vectors
    assert again["repaired"]["rebuilt"] is True
    assert len(catalog_state(home, catalog_url)) == 12


def test_crash_mid_embedding_resumes_where_it_stopped(art, home, tiny_model, catalog_url, monkeypatch):
    calls = {"n": 0}
    real = embed_loop.embed_paths

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash()
        return real(*args, **kwargs)

    monkeypatch.setattr(embed_loop, "embed_paths", dying)
    config = IndexConfig(commit_every=4, batch_size=4)
    with pytest.raises(Crash):
        index_folder(art, home=home, db=catalog_url, model=tiny_model, config=config)
    monkeypatch.undo()
    again = index_folder(art, home=home, db=catalog_url, model=tiny_model, config=config)
    assert again["embedded"] == 4 and again["added"] == 4 and again["total"] == 12
    assert len(catalog_state(home, catalog_url)) == 12


def test_orphan_vectors_are_removed(art, home, tiny_model, catalog_url):
    index_folder(art, home=home, db=catalog_url, model=tiny_model)
    store = CatalogStore(catalog_url)
    victims = store.ids()[:3].tolist()
    store.delete(victims)  # as if a prune committed and the process died before saving the index
    store.close()
    again = index_folder(art, home=home, db=catalog_url, model=tiny_model)
    assert again["repaired"]["orphan_vectors_removed"] == 3
    assert again["embedded"] == 3 and len(catalog_state(home, catalog_url)) == 12


def test_an_index_with_wrong_vectors_is_rebuilt(art, home, tiny_model, catalog_url):
    index_folder(art, home=home, db=catalog_url, model=tiny_model)
    path = _index_path(home, catalog_url)
    index = VectorIndex.load(path)
    ids = index.ids()
    rng = np.random.default_rng(0)
    build_index(ids, rng.normal(size=(len(ids), index.dim)).astype(np.float32)).save(path)
    again = index_folder(art, home=home, db=catalog_url, model=tiny_model)
    assert again["repaired"]["rebuilt"] is True and again["embedded"] == 0
    catalog_state(home, catalog_url)


def test_check_reports_and_repairs(art, home, tiny_model, catalog_url):
    index_folder(art, home=home, db=catalog_url, model=tiny_model)
    path = _index_path(home, catalog_url)
    index = VectorIndex.load(path)
    index.remove(index.ids()[:2])
    index.add(np.array([10_000], np.int64), np.ones((1, index.dim), np.float32) / np.sqrt(index.dim))
    index.save(path)
    (art / "Ann Red" / "0.jpg").unlink()
    result = index_folder(art, home=home, db=catalog_url, check=True)
    check = result["check"]
    assert check["found"]["rows_without_vector"] == 2 and check["found"]["vectors_without_row"] == 1
    assert check["repaired"] == {"rebuilt": False, "orphan_vectors_removed": 1, "missing_vectors_added": 2}
    assert check["consistent"] is True and check["rows_without_file"] == 1 and check["files_not_indexed"] == 0
    assert len(catalog_state(home, catalog_url)) == 12
    path.write_bytes(b"garbage")
    check = index_folder(art, home=home, db=catalog_url, check=True)["check"]
    assert check["found"] == {"index_file": "unreadable"} and check["repaired"]["rebuilt"] and check["consistent"]
    catalog_state(home, catalog_url)


def test_check_finds_two_swapped_vectors_under_the_right_ids(art, home, tiny_model, catalog_url):
    """Same ids, same vector set, two vectors exchanged: only a vector-by-vector comparison sees it."""
    index_folder(art, home=home, db=catalog_url, model=tiny_model)
    path = _index_path(home, catalog_url)
    index = VectorIndex.load(path)
    first, second = (int(i) for i in index.ids()[[1, 7]])
    v = index.reconstruct(np.array([first, second], np.int64))
    assert not np.allclose(v[0], v[1], atol=1e-3)  # two different paintings
    index.remove(np.array([first, second], np.int64))
    index.add(np.array([first, second], np.int64), v[::-1].copy())
    index.save(path)
    check = index_folder(art, home=home, db=catalog_url, check=True)["check"]
    assert check["found"]["index_file"] == "ok"
    assert check["found"]["mismatched_vectors"] == 2
    assert check["found"]["catalog_rows"] == check["found"]["index_vectors"] == 12
    assert check["repaired"]["rebuilt"] is True
    assert check["after"]["mismatched_vectors"] == 0 and check["consistent"] is True
    repaired = VectorIndex.load(path).reconstruct(np.array([first, second], np.int64))
    np.testing.assert_allclose(repaired, v, atol=1e-6)  # each id has its own painting's vector back
    catalog_state(home, catalog_url)
