"""query_images: exact neighbours, artist vote, SQL filters as FAISS id selections, errors."""

from __future__ import annotations

import numpy as np
import pytest

from engine.base.errors import EngineError
from indexer.config import IndexConfig
from indexer.pipeline import index_folder
from indexer.search import query_images, rank_artists
from indexer_kit import painting, stored_vectors


@pytest.fixture
def indexed(art, home, tiny_model):
    index_folder(art, home=home, model=tiny_model)
    return art, home, tiny_model


NO_COPIES = 0.9999  # the untrained test model puts distinct paintings of one colour above the default duplicate cosine


def _query(indexed, images, **kw):
    _, home, model = indexed
    return query_images(images, home=home, model=model, **{"duplicate_threshold": NO_COPIES, **kw})


def test_neighbours_are_exact_and_ranked(indexed):
    art = indexed[0]
    query = art / "Bob Green" / "1.jpg"
    (result,) = _query(indexed, [query], k=5)["results"]
    assert result["query"] == str(query)
    vectors = stored_vectors(indexed[1])
    paths = list(vectors)
    sims = np.stack([vectors[p] for p in paths]) @ vectors[str(query.resolve())]
    want = [paths[i] for i in np.argsort(-sims)[1:6]]  # the query itself (similarity 1) is not its own match
    assert paths[int(np.argmax(sims))] == str(query.resolve())
    assert [m["path"] for m in result["matches"]] == want
    np.testing.assert_allclose([m["similarity"] for m in result["matches"]], np.sort(sims)[::-1][1:6], atol=1e-4)
    assert result["in_collection"]["path"] == str(query.resolve()) and result["in_collection"]["artist"] == "Bob Green"
    assert not any(m["duplicate"] for m in result["matches"])
    assert result["artists"][0]["artist"] == "Bob Green"
    assert sum(a["score"] for a in result["artists"]) == pytest.approx(1.0, abs=1e-5)
    assert all(a["vote"] == a["score"] for a in result["artists"])


def test_several_queries_at_once(indexed):
    art = indexed[0]
    results = _query(indexed, [art / "Ann Red" / "0.jpg", art / "Cid Blue" / "2.jpg"], k=3)["results"]
    assert [r["in_collection"]["path"] for r in results] == [str((art / "Ann Red" / "0.jpg").resolve()), str((art / "Cid Blue" / "2.jpg").resolve())]
    assert all(len(r["matches"]) == 3 for r in results)


def test_artist_filter_is_an_id_selection_that_fills_k(indexed, monkeypatch):
    art = indexed[0]
    from indexer.vector_index import VectorIndex

    seen = {}
    original = VectorIndex.search

    def spy(self, queries, k, *, allowed=None):
        seen["allowed"], seen["k"] = allowed, k
        return original(self, queries, k, allowed=allowed)

    monkeypatch.setattr(VectorIndex, "search", spy)
    (result,) = _query(indexed, [art / "Ann Red" / "0.jpg"], k=4, artist="cid blue")["results"]
    assert len(seen["allowed"]) == 4 and seen["k"] == 4  # FAISS got the SQL ids, not a post-filter
    assert len(result["matches"]) == 4 and {m["artist"] for m in result["matches"]} == {"Cid Blue"}
    assert [a["artist"] for a in result["artists"]] == ["Cid Blue"]


def test_filter_with_fewer_matches_than_k_returns_them_all(indexed):
    (result,) = _query(indexed, [indexed[0] / "Ann Red" / "0.jpg"], k=10, artist="Ann Red")["results"]
    assert len(result["matches"]) == 3  # the 4 paintings of Ann Red but the query itself


def test_unknown_artist_suggests_close_names(indexed):
    with pytest.raises(EngineError, match="no indexed painting matches --artist 'Ann Rod'; did you mean 'Ann Red'"):
        _query(indexed, [indexed[0] / "Ann Red" / "0.jpg"], artist="Ann Rod")


def test_k_larger_than_the_index_is_an_error(indexed):
    with pytest.raises(EngineError, match="-k 50 is larger than the index \\(12 paintings\\); pass -k 12 or less"):
        _query(indexed, [indexed[0] / "Ann Red" / "0.jpg"], k=50)


def test_bad_query_images(indexed, tmp_path):
    with pytest.raises(EngineError) as missing:
        _query(indexed, [tmp_path / "missing.jpg"])
    assert str(missing.value) == f"query image not found: {tmp_path / 'missing.jpg'}; check the path"
    (tmp_path / "notes.jpg").write_text("hello")
    with pytest.raises(EngineError, match="cannot read query image .* \\(not_an_image\\)"):
        _query(indexed, [tmp_path / "notes.jpg"])


def test_nothing_indexed(tmp_path, tiny_model):
    with pytest.raises(EngineError, match="nothing indexed in .*; run `engine index FOLDER` first"):
        query_images([tmp_path / "q.jpg"], home=tmp_path / "empty-home", model=tiny_model)
    assert not list((tmp_path / "empty-home").rglob("*"))  # a command that reads never writes: no catalogue made


def test_a_query_puts_back_the_homes_missing_index_file(indexed):
    from db.store import CatalogStore
    from engine.base.home import Home
    from indexer.artefacts import index_file

    art, home, _ = indexed
    the_home = Home.resolve(home)
    store = CatalogStore(the_home.catalog_url, create=False)
    try:
        path = index_file(the_home, store.catalog_uid())
    finally:
        store.close()
    path.unlink()
    (result,) = _query(indexed, [art / "Ann Red" / "0.jpg"], k=2)["results"]
    assert len(result["matches"]) == 2 and path.is_file()  # rebuilt from the stored vectors and kept


def test_emptied_index_is_nothing_indexed(art, home, tiny_model, tmp_path):
    index_folder(art, home=home, model=tiny_model)
    empty = tmp_path / "empty"
    empty.mkdir()
    for sub in list(art.iterdir()):
        for f in sub.iterdir():
            f.unlink()
    index_folder(art, home=home, model=tiny_model, prune=True)
    with pytest.raises(EngineError, match="nothing indexed"):
        query_images([painting(tmp_path / "q.jpg", colour=(1, 2, 3), seed=1)], home=home, model=tiny_model)


def test_model_mismatch_says_reindex(indexed, other_model):
    with pytest.raises(EngineError, match="built with model .* re-index with `engine index FOLDER --reindex`"):
        query_images([indexed[0] / "Ann Red" / "0.jpg"], home=indexed[1], model=other_model)


def test_search_on_the_approximate_index(art, home, tiny_model):
    index_folder(art, home=home, model=tiny_model, config=IndexConfig(approx_threshold=5))
    (result,) = query_images([art / "Ann Red" / "2.jpg"], home=home, model=tiny_model, k=3, artist="Bob Green")["results"]
    assert len(result["matches"]) == 3 and {m["artist"] for m in result["matches"]} == {"Bob Green"}


def test_rank_artists_is_a_clipped_normalised_vote():
    matches = [
        {"artist": "A", "similarity": 0.9}, {"artist": "B", "similarity": 0.3}, {"artist": "A", "similarity": 0.3},
        {"artist": None, "similarity": 0.99}, {"artist": "C", "similarity": -0.5},
    ]
    assert rank_artists(matches) == [{"artist": "A", "vote": 0.8, "score": 0.8}, {"artist": "B", "vote": 0.2, "score": 0.2},
                                     {"artist": "C", "vote": 0.0, "score": 0.0}]
    assert rank_artists([{"artist": "A", "similarity": -0.1}]) == [{"artist": "A", "vote": 0.0, "score": 0.0}]


@pytest.mark.parametrize("k", [0, -3])
def test_a_k_below_one_is_refused_before_any_work(tmp_path, k):
    with pytest.raises(EngineError) as info:
        query_images([tmp_path / "q.jpg"], home=tmp_path / "no-home", k=k)
    assert str(info.value) == f"-k {k} is not a positive number; pass -k 1 or more"
    assert not (tmp_path / "no-home").exists()


def test_no_query_image_is_refused_before_any_work(tmp_path):
    with pytest.raises(EngineError) as info:
        query_images([], home=tmp_path / "no-home", k=1)
    assert str(info.value) == "no query image given; pass one or more image paths"


def test_the_default_k_is_ten_clamped_to_the_index(indexed, monkeypatch):
    import indexer.search as search

    (result,) = _query(indexed, [indexed[0] / "Ann Red" / "0.jpg"])["results"]
    assert len(result["matches"]) == 10  # 12 indexed
    monkeypatch.setattr(search, "DEFAULT_K", 50)
    (result,) = _query(indexed, [indexed[0] / "Ann Red" / "0.jpg"])["results"]
    assert len(result["matches"]) == 11  # the default never errs: clamped (the query itself is in_collection, not a match)
    (result,) = _query(indexed, [indexed[0] / "Ann Red" / "0.jpg"], k=12)["results"]
    assert len(result["matches"]) == 11 and result["in_collection"]  # k equal to the index is allowed


def test_search_embedded_alone_needs_no_selves_and_adds_no_ids(indexed):
    """As a long-running server calls it: no `selves` (a stored vector comes back as its own match 1), no ids."""
    from db.store import CatalogStore
    from engine.base.home import Home
    from indexer.search import open_search, search_embedded

    _, home, model = indexed
    path, vector = next(iter(stored_vectors(home).items()))
    the_home = Home.resolve(home)
    store = CatalogStore(the_home.catalog_url, create=False)
    try:
        _, index = open_search(store, the_home, model, keep_copy=False)
        (result,) = search_embedded(store, index, vector[None, :], ["q"], k=3, duplicate_threshold=NO_COPIES)["results"]
    finally:
        store.close()
    assert result["in_collection"] is None and len(result["matches"]) == 3
    assert result["matches"][0]["path"] == path and result["matches"][0]["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert all("id" not in m for m in result["matches"])
    store = CatalogStore(the_home.catalog_url, create=False)
    try:
        (with_ids,) = search_embedded(store, index, vector[None, :], ["q"], k=3, with_ids=True)["results"]
        by_id = store.views([m["id"] for m in with_ids["matches"]])
    finally:
        store.close()
    assert [by_id[m["id"]].path for m in with_ids["matches"]] == [m["path"] for m in with_ids["matches"]]


def test_a_filter_narrower_than_k_says_so_once(indexed, tmp_path, caplog):
    """k above the filtered count: a warning naming the count (not for k equal to it), and every match of the filter."""
    import logging

    query = painting(tmp_path / "q.jpg", colour=(200, 30, 30), seed=9)  # not catalogued: nothing left out
    with caplog.at_level(logging.WARNING, logger="indexer.search"):
        (wide,) = _query(indexed, [query], k=10, artist="Ann Red")["results"]
    assert len(wide["matches"]) == 4 and "id" not in wide["matches"][0]
    assert [r.getMessage() for r in caplog.records if r.name == "indexer.search"] == [
        "only 4 indexed paintings match the filters; returning 4 matches"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="indexer.search"):
        (exact,) = _query(indexed, [query], k=4, artist="Ann Red")["results"]
    assert len(exact["matches"]) == 4 and not [r for r in caplog.records if r.name == "indexer.search"]


def test_an_artist_with_no_close_name_gets_the_general_hint():
    from types import SimpleNamespace

    from indexer.search import _artist_hint

    store = SimpleNamespace(artist_names=lambda: ["Ann Red", "Bob Green", "Cid Blue"])
    assert _artist_hint(store, "Zzzzzzzz") == "run without --artist to see the indexed artists"
    assert _artist_hint(store, "Ann Rod") == "did you mean 'Ann Red'?"
    assert _artist_hint(store, "Ann Gxxx") == "did you mean 'Ann Red'?"  # difflib ratio 0.53: above the 0.5 cutoff
    assert _artist_hint(store, "Ann Blue") == "did you mean 'Ann Red', 'Cid Blue'?"
    many = SimpleNamespace(artist_names=lambda: ["Ann Red", "Ann Rod", "Ann Ray", "Ann Reed", "Bob Green"])
    assert _artist_hint(many, "Ann Re") == "did you mean 'Ann Red', 'Ann Reed', 'Ann Rod'?"  # the 3 closest


def test_embed_queries_are_the_unit_embeddings_of_each_image(indexed, tmp_path):
    from engine.base.vectors import l2_normalize
    from engine.inference.embedding import embed_image
    from engine.inference.model_cache import cached_model
    from indexer.search import embed_queries

    lm = cached_model(indexed[2])
    images = [painting(tmp_path / f"{n}.jpg", colour=(40 * n, 90, 200 - 40 * n), seed=n) for n in range(3)]
    got = embed_queries(lm, images)
    want = l2_normalize(np.stack([embed_image(lm, p) for p in images]))
    assert got.shape == (3, lm.embedding_dim) and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.allclose(got, want, atol=1e-4)


def test_every_filter_reaches_the_sql_selection(indexed, monkeypatch):
    import indexer.search as search

    seen = {}

    def spy(store, *, artist, style, date):
        seen.update(artist=artist, style=style, date=date)
        return None

    monkeypatch.setattr(search, "_allowed_ids", spy)
    _query(indexed, [indexed[0] / "Ann Red" / "0.jpg"], k=2, artist="Ann Red", style="Baroque", date="1650")
    assert seen == {"artist": "Ann Red", "style": "Baroque", "date": "1650"}


class _FilterStore:
    """What _allowed_ids reads: filter_ids (recording its arguments) and artist_names."""

    def __init__(self, ids):
        self.ids, self.calls = np.asarray(ids, np.int64), []

    def filter_ids(self, **filters):
        self.calls.append(filters)
        return self.ids

    def artist_names(self):
        return ["Ann Red"]


@pytest.mark.parametrize("filters", [{"style": "Baroque"}, {"date": "1650"}, {"artist": "Ann Red"},
                                     {"artist": "Ann Red", "style": "Baroque", "date": "1650"}])
def test_any_one_filter_selects_ids_with_every_filter_passed(filters):
    from indexer.search import _allowed_ids

    store = _FilterStore([3, 5])
    got = _allowed_ids(store, **{"artist": None, "style": None, "date": None, **filters})
    assert got.tolist() == [3, 5] and store.calls == [{"artist": None, "style": None, "date": None, **filters}]


def test_no_filter_selects_nothing_and_an_empty_selection_names_the_filters():
    from indexer.search import _allowed_ids

    store = _FilterStore([])
    assert _allowed_ids(store, artist=None, style=None, date=None) is None and store.calls == []
    with pytest.raises(EngineError) as empty:
        _allowed_ids(store, artist=None, style="Baroque", date="1650")
    assert str(empty.value) == "no indexed painting matches --style 'Baroque', --date '1650'; check the spelling"


def test_catalogued_queries_use_their_stored_vectors_and_only_the_others_are_embedded(indexed, tmp_path, monkeypatch):
    from types import SimpleNamespace

    import indexer.search as search
    from db.store import CatalogStore
    from engine.base.home import Home
    from engine.base.vectors import l2_normalize

    _, home, model = indexed
    stored = stored_vectors(home)
    store = CatalogStore(Home.resolve(home).catalog_url, create=False)
    try:
        ids = store.ids().tolist()[:2]
        views = store.views(ids)
        lm = SimpleNamespace(embedding_dim=next(iter(stored.values())).shape[0])
        embedded = []

        def spy(_, images):
            embedded.append([str(p) for p in images])
            return l2_normalize(np.ones((len(images), lm.embedding_dim), np.float32))

        monkeypatch.setattr(search, "embed_queries", spy)
        selves = [views[ids[0]], None, views[ids[1]]]
        out = search.query_vectors(store, lm, [views[ids[0]].path, "new.jpg", views[ids[1]].path], selves)
        assert embedded == [["new.jpg"]] and np.allclose(out[1], 1 / np.sqrt(lm.embedding_dim))
        assert np.allclose(out[0], l2_normalize(stored[views[ids[0]].path][None])[0]) and np.allclose(out[2], l2_normalize(stored[views[ids[1]].path][None])[0])
        embedded.clear()
        search.query_vectors(store, lm, [views[ids[0]].path], [views[ids[0]]])
        assert embedded == []  # every query catalogued: nothing to embed
    finally:
        store.close()
