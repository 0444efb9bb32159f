"""CatalogStore: transactions, id policy, filters, model binding, batched writes (on SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest

from db.records import Labels, ModelInfo, NewPainting
from db.store import CatalogStore, NothingIndexed
from engine.base.errors import EngineError

MODEL = ModelInfo("a" * 64, "efficientnet_lite0", 4, "/models/a/model.pt")
OTHER = ModelInfo("b" * 64, "resnet34", 4, "/models/b/model.pt")


def _painting(path: str, *, sha: str | None = None, artist: str | None = None, style=None, date=None, seed=0) -> NewPainting:
    vec = np.random.default_rng(seed).normal(size=4).astype(np.float32)
    return NewPainting(path, sha or path.ljust(64, "0")[:64], 10, 1, 8, 8, Labels(artist, None, style, None, date), vec / np.linalg.norm(vec))


@pytest.fixture
def store(catalog_url):
    """A catalog bound to MODEL, on SQLite and on PostgreSQL."""
    s = CatalogStore(catalog_url)
    s.bind_model(MODEL, versions={})
    yield s
    s.close()


def test_rows_carry_their_vectors(store):
    items = [_painting(f"/p/{i}.jpg", seed=i) for i in range(3)]
    ids = store.add_paintings(items)
    assert len(set(ids)) == 3
    got = store.vectors(ids)
    for pid, item in zip(ids, items):
        np.testing.assert_array_equal(got[pid], item.vector)
    all_ids, all_vecs = zip(*store.iter_vectors(batch=2))
    assert np.concatenate(all_ids).tolist() == sorted(ids)
    assert np.concatenate(all_vecs).shape == (3, 4)


def test_ids_are_never_reused(store):
    ids = store.add_paintings([_painting("/p/a.jpg"), _painting("/p/b.jpg")])
    store.delete([max(ids)])
    (new,) = store.add_paintings([_painting("/p/c.jpg")])
    assert new > max(ids)  # a stale vector with the old id can never pass for this painting


def test_replace_is_one_transaction(store):
    (old,) = store.add_paintings([_painting("/p/a.jpg", sha="1" * 64)])
    (new,) = store.add_paintings([_painting("/p/a.jpg", sha="2" * 64, seed=5)], replaces=[old])
    assert store.ids().tolist() == [new]
    assert store.file_states()[0].sha256 == "2" * 64


@pytest.mark.parametrize("batch", [2, 40])  # PostgreSQL: a multi-row INSERT below db.bulk.COPY_MIN_ROWS, COPY above
def test_failed_transaction_leaves_nothing(store, batch):
    from sqlalchemy.exc import IntegrityError

    store.add_paintings([_painting("/p/a.jpg")])
    with pytest.raises(IntegrityError):
        store.add_paintings([_painting(f"/p/b{i}.jpg") for i in range(batch - 1)] + [_painting("/p/a.jpg")])  # duplicate path
    assert [s.path for s in store.file_states()] == ["/p/a.jpg"]


@pytest.mark.parametrize("batch", [3, 300])
def test_batched_writes_keep_rows_labels_and_ids_in_order(store, batch):
    from db.bulk import COPY_MIN_ROWS

    assert 3 < COPY_MIN_ROWS < 300
    items = [_painting(f"/p/{i}.jpg", artist=f"A{i % 7}" if i % 5 else None, style="S", date=str(1800 + i), seed=i)
             for i in range(batch)]
    ids = store.add_paintings(items)
    assert ids == sorted(ids) and len(set(ids)) == batch
    views, vectors = store.views(ids), store.vectors(ids)
    for pid, item in zip(ids, items):
        assert (views[pid].path, views[pid].artist, views[pid].date) == (item.path, item.labels.artist, item.labels.date)
        np.testing.assert_array_equal(vectors[pid], item.vector)
    assert store.artist_names() == sorted({i.labels.artist for i in items if i.labels.artist})
    store.move([(ids[0], "/q/moved.jpg", 11, 2)])
    store.relabel([(pid, Labels("New", "T")) for pid in ids[1:3]])
    states = {s.id: s for s in store.file_states()}
    assert (states[ids[0]].path, states[ids[0]].size, states[ids[0]].mtime_ns) == ("/q/moved.jpg", 11, 2)
    assert [store.labels_of()[pid] for pid in ids[1:3]] == [Labels("New", "T")] * 2


def test_filters_are_case_insensitive_and_date_is_a_prefix(store):
    ids = store.add_paintings([
        _painting("/p/1.jpg", artist="Vincent van Gogh", style="Post-Impressionism", date="1889"),
        _painting("/p/2.jpg", artist="Vincent van Gogh", style="Realism", date="1885-1886"),
        _painting("/p/3.jpg", artist="Claude Monet", style="Impressionism", date="1889"),
        _painting("/p/4.jpg"),
    ])
    assert store.filter_ids(artist="vincent VAN gogh").tolist() == ids[:2]
    assert store.filter_ids(date="1889").tolist() == [ids[0], ids[2]]
    assert store.filter_ids(artist="Vincent van Gogh", style="realism").tolist() == [ids[1]]
    assert store.filter_ids(date="188").tolist() == ids[:3]
    assert store.filter_ids(artist="Nobody").tolist() == []
    assert store.filter_ids(date="%").tolist() == []  # LIKE wildcards are escaped


def test_delete_drops_artists_without_paintings(store):
    ids = store.add_paintings([_painting("/p/1.jpg", artist="A"), _painting("/p/2.jpg", artist="B")])
    store.delete([ids[0]])
    assert store.artist_names() == ["B"]


def test_views_and_labels(store):
    (pid,) = store.add_paintings([_painting("/p/1.jpg", artist="A", style="S")])
    view = store.views([pid])[pid]
    assert (view.path, view.artist, view.style, view.title) == ("/p/1.jpg", "A", "S", None)
    store.relabel([(pid, Labels("B", "T"))])
    assert store.labels_of()[pid] == Labels("B", "T")


def test_another_model_is_refused(store):
    store.add_paintings([_painting("/p/1.jpg")])
    with pytest.raises(EngineError, match="--reindex"):
        store.bind_model(OTHER, versions={})
    assert store.model_info() == MODEL


def test_reindex_forgets_the_old_vectors(store):
    store.add_paintings([_painting("/p/1.jpg", artist="A")])
    uid = store.catalog_uid()
    assert store.bind_model(OTHER, versions={}, reindex=True) == uid
    assert store.count() == 0 and store.model_info() == OTHER and store.artist_names() == []


def test_reader_does_not_create_a_catalog(tmp_path):
    with pytest.raises(NothingIndexed, match="engine index"):
        CatalogStore(f"sqlite:///{tmp_path / 'none.sqlite'}", create=False)
    assert not (tmp_path / "none.sqlite").exists()


def test_bad_url_is_a_one_line_error():
    with pytest.raises(EngineError, match="invalid database URL"):
        CatalogStore("not a url")


def test_an_empty_catalog_takes_any_model(store):
    (pid,) = store.add_paintings([_painting("/p/1.jpg")])
    store.delete([pid])
    store.bind_model(OTHER, versions={})
    assert store.model_info() == OTHER


def test_a_read_only_catalog_is_named_as_such(tmp_path, monkeypatch):
    """Where SQLite only says "unable to open database file", a catalog that cannot be written is named read-only
    (simulated: root ignores chmod; tests/reliability/test_read_only_catalog.py has the real read-only mounts)."""
    import db.session

    catalog = tmp_path / "c.sqlite"
    catalog.mkdir()  # SQLite cannot open a folder: "unable to open database file"
    with pytest.raises(EngineError, match="unable to open database file"):
        CatalogStore(f"sqlite:///{catalog}")
    monkeypatch.setattr(db.session, "read_only_reason", lambda path: "read-only file system" if path == catalog else None)
    with pytest.raises(EngineError) as err:
        CatalogStore(f"sqlite:///{catalog}")
    assert str(err.value) == (f"the catalog {catalog} is read-only (read-only file system); pass --home DIR to a "
                              "writable folder (or --db URL), or fix its permissions")


def test_readers_use_immutable_only_on_a_read_only_file_system_without_pending_wal(tmp_path, monkeypatch):
    import db.readonly as readonly

    s = CatalogStore(f"sqlite:///{tmp_path / 'c.sqlite'}")
    s.bind_model(MODEL, versions={})
    s.add_paintings([_painting("/p/0.jpg")])
    s.close()
    catalog = tmp_path / "c.sqlite"
    assert not readonly.readable_as_immutable(catalog)  # a writable disk: the normal (locking) reader
    monkeypatch.setattr(readonly, "on_read_only_fs", lambda path: True)
    assert readonly.readable_as_immutable(catalog)
    reader = CatalogStore(f"sqlite:///{catalog}", create=False)
    assert reader.count() == 1 and reader.engine.url.database is None  # opened through the immutable creator
    reader.close()
    (tmp_path / "c.sqlite-wal").write_bytes(b"x")  # pending WAL content: an immutable reader would miss it
    assert not readonly.readable_as_immutable(catalog)
