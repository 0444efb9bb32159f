"""The index/catalog consistency rules on a stand-in catalog (a dict of vectors, checked by hand), then crash
safety in-process: whatever stops a run, the next run ends consistent, complete, without re-embedding committed
work (on SQLite and PostgreSQL: `catalog_url`). The fast tests come first (mutation runs stop at the first failure)."""

from __future__ import annotations

import logging

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


# -- the consistency rules on a stand-in catalog (a dict of id -> vector; fast, no model) ----------------


class _Catalog:
    """What indexer.consistency reads from a CatalogStore, over a dict {id: vector}."""

    def __init__(self, rows: dict[int, np.ndarray]):
        self.rows = {int(i): np.asarray(v, np.float32) for i, v in rows.items()}

    def ids(self):
        return np.array(sorted(self.rows), dtype=np.int64)

    def count(self):
        return len(self.rows)

    def vectors(self, ids):
        return {int(i): self.rows[int(i)] for i in ids if int(i) in self.rows}

    def iter_vectors(self, *, batch: int = 3):
        ids = sorted(self.rows)
        for start in range(0, len(ids), batch):
            part = np.array(ids[start : start + batch], dtype=np.int64)
            yield part, np.stack([self.rows[int(i)] for i in part])


def _unit_rows(ids, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(len(ids), dim)).astype(np.float32)
    return {int(i): x / np.linalg.norm(x) for i, x in zip(ids, v)}


def _flat(rows: dict[int, np.ndarray], dim=4):
    index = VectorIndex.empty(dim)
    ids = np.array(sorted(rows), dtype=np.int64)
    index.add(ids, np.stack([rows[int(i)] for i in ids]))
    return index


def test_check_index_counts_each_disagreement_by_hand():
    from indexer.consistency import check_index

    rows = _unit_rows([1, 2, 3, 4, 5, 6])
    catalog = _Catalog(rows)
    index = _flat({i: v for i, v in rows.items() if i not in (5, 6)})  # rows 5, 6 have no vector
    index.add(np.array([9], np.int64), rows[1][None])  # a vector whose row is gone
    index.remove(np.array([2], np.int64))
    index.add(np.array([2], np.int64), rows[3][None])  # row 2 holds row 3's vector
    index.add(np.array([4], np.int64), rows[4][None])  # id 4 twice
    assert check_index(index, catalog) == {"catalog_rows": 6, "index_vectors": 6, "duplicate_vector_ids": 1,
                                           "rows_without_vector": 2, "vectors_without_row": 1, "mismatched_vectors": 1}
    assert check_index(_flat(rows), catalog) == {"catalog_rows": 6, "index_vectors": 6, "duplicate_vector_ids": 0,
                                                 "rows_without_vector": 0, "vectors_without_row": 0, "mismatched_vectors": 0}


def test_check_index_compares_every_vector_past_one_block_and_within_the_tolerance():
    from indexer.consistency import ATOL, check_index

    rows = _unit_rows(range(1, 4200), dim=2, seed=3)
    catalog = _Catalog(rows)
    shifted = dict(rows)
    shifted[4150] = rows[4150] + np.float32(3 * ATOL)  # beyond the first 4096 ids, just outside the tolerance
    shifted[7] = rows[7] + np.float32(ATOL / 4)  # within it
    assert check_index(_flat(shifted, dim=2), catalog)["mismatched_vectors"] == 1


def test_reconcile_drops_orphans_and_adds_missing_rows_from_the_catalog():
    from indexer.consistency import Repair, reconcile

    rows = _unit_rows([1, 2, 3, 4, 5])
    catalog = _Catalog(rows)
    index = _flat({1: rows[1], 2: rows[2], 7: rows[3], 8: rows[4]})
    assert reconcile(index, catalog) == Repair(rebuilt=False, orphan_vectors_removed=2, missing_vectors_added=3)
    assert index.ids().tolist() == [1, 2, 3, 4, 5]
    assert np.array_equal(index.reconstruct(np.array([3, 4, 5])), np.stack([rows[3], rows[4], rows[5]]))
    assert reconcile(index, catalog) == Repair()  # nothing left to do
    assert not Repair().changed and Repair(rebuilt=True).changed and Repair(orphan_vectors_removed=1).changed
    assert Repair(missing_vectors_added=1).changed and Repair(False, 0, 2).to_dict() == {
        "rebuilt": False, "orphan_vectors_removed": 0, "missing_vectors_added": 2}


def test_rebuild_and_convert_hold_exactly_the_catalogs_vectors():
    from indexer.consistency import all_vectors, convert, rebuild

    rows = _unit_rows(range(10, 60), seed=5)
    catalog = _Catalog(rows)
    flat = rebuild(catalog, dim=4)
    assert flat.kind == "flat" and flat.ids().tolist() == list(range(10, 60))
    assert np.array_equal(flat.reconstruct(np.arange(10, 60)), np.stack([rows[i] for i in range(10, 60)]))
    ivf = rebuild(catalog, dim=4, kind="ivf", nprobe=3)
    assert ivf.kind == "ivf" and ivf.ids().tolist() == list(range(10, 60)) and ivf.nprobe == 3
    same, recall = convert(catalog, dim=4, kind="flat", nprobe=3, recall_queries=5)
    assert recall is None and same.kind == "flat" and same.ids().tolist() == list(range(10, 60))
    approx, recall = convert(catalog, dim=4, kind="ivf", nprobe=1000, recall_queries=20)
    assert approx.kind == "ivf" and recall == 1.0  # every list probed: exact
    ids, vectors = all_vectors(_Catalog({}), 4)
    assert ids.dtype == np.int64 and ids.shape == (0,) and vectors.dtype == np.float32 and vectors.shape == (0, 4)
    ids, vectors = all_vectors(catalog, 4)
    assert ids.tolist() == list(range(10, 60)) and np.array_equal(vectors[0], rows[10])


def test_open_index_rebuilds_a_foreign_or_damaged_file_and_reconciles_a_stale_one(tmp_path):
    from indexer.consistency import Repair, open_index

    rows = _unit_rows(range(1, 31), seed=7)
    catalog, path = _Catalog(rows), tmp_path / "index.faiss"
    index, repair = open_index(catalog, path, dim=4)  # no file
    assert repair == Repair(rebuilt=True) and index.ids().tolist() == list(range(1, 31))
    _, repair = open_index(_Catalog({}), path, dim=4)
    assert repair == Repair(rebuilt=False)  # nothing to rebuild from
    _flat({i: v for i, v in rows.items() if i != 30}, dim=4).save(path)  # stale: the last row is missing
    index, repair = open_index(catalog, path, dim=4)
    assert repair == Repair(rebuilt=False, missing_vectors_added=1) and index.ntotal == 30
    _flat(_unit_rows(range(1, 31), dim=4, seed=8)).save(path)  # another catalog's vectors under the same ids
    index, repair = open_index(catalog, path, dim=4)
    assert repair == Repair(rebuilt=True)
    assert np.array_equal(index.reconstruct(np.arange(1, 31)), np.stack([rows[i] for i in range(1, 31)]))
    _flat(_unit_rows(range(1, 31), dim=8), dim=8).save(path)  # another dimension
    index, repair = open_index(catalog, path, dim=4)
    assert repair == Repair(rebuilt=True) and index.dim == 4
    wrong_early = dict(rows)
    wrong_early[1] = rows[2]  # the oldest row only: found by the random part of the spot check
    _flat(wrong_early).save(path)
    assert open_index(catalog, path, dim=4)[1] == Repair(rebuilt=True)
    wrong_last = dict(rows)
    wrong_last[30] = rows[2]
    _flat(wrong_last).save(path)
    assert open_index(catalog, path, dim=4, verify_sample=2)[1] == Repair(rebuilt=True)  # the newest rows are always checked
    assert open_index(catalog, path, dim=4, verify_sample=0)[1] == Repair()  # no spot check asked for


def test_open_index_rebuilds_an_index_with_duplicate_ids_as_its_kind(tmp_path):
    from indexer.consistency import Repair, open_index

    rows = _unit_rows(range(1, 11), seed=9)
    catalog, path = _Catalog(rows), tmp_path / "index.faiss"
    twice = _flat(rows)
    twice.add(np.array([3], np.int64), rows[3][None])
    twice.save(path)
    index, repair = open_index(catalog, path, dim=4)
    assert repair == Repair(rebuilt=True) and index.ids().tolist() == list(range(1, 11)) and index.kind == "flat"


def _consistency_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "indexer.consistency"]


def test_open_index_logs_why_it_rebuilds(tmp_path, caplog):
    from indexer.consistency import Repair, open_index

    caplog.set_level(logging.INFO, logger="indexer.consistency")
    rows = _unit_rows(range(1, 11), seed=12)
    catalog, path = _Catalog(rows), tmp_path / "index.faiss"
    _flat(_unit_rows(range(1, 11), dim=8), dim=8).save(path)
    assert open_index(catalog, path, dim=4)[1] == Repair(rebuilt=True)
    assert _consistency_messages(caplog) == [f"index {path} has dimension 8, the catalog 4: rebuilding it"]
    caplog.clear()
    twice = _flat(rows)
    twice.add(np.array([3], np.int64), rows[3][None])
    twice.save(path)
    assert open_index(catalog, path, dim=4)[1] == Repair(rebuilt=True)
    assert _consistency_messages(caplog) == [f"index {path} holds duplicate ids: rebuilding it"]
    caplog.clear()
    _flat(_unit_rows(range(1, 11), seed=13)).save(path)
    index, repair = open_index(catalog, path, dim=4)
    assert repair == Repair(rebuilt=True) and index.kind == "flat"  # rebuilt as the kind it was
    assert _consistency_messages(caplog) == [f"index {path} disagrees with the catalog's stored vectors: rebuilding it"]
    caplog.clear()
    _, repair = open_index(_Catalog({7: rows[7]}), tmp_path / "absent.faiss", dim=4)
    assert repair == Repair(rebuilt=True) and _consistency_messages(caplog) == []  # one row is enough to rebuild from


def test_reconcile_logs_what_it_changed_even_when_only_one_side_changed(caplog):
    from indexer.consistency import Repair, reconcile

    caplog.set_level(logging.INFO, logger="indexer.consistency")
    rows = _unit_rows([1, 2, 3, 4, 5], seed=14)
    index = _flat({**rows, 8: rows[1], 9: rows[2]})
    assert reconcile(index, _Catalog(rows)) == Repair(orphan_vectors_removed=2)
    assert _consistency_messages(caplog) == ["index reconciled with the catalog: 2 orphan vectors removed, 0 added"]
    caplog.clear()
    index = _flat({1: rows[1], 2: rows[2]})
    assert reconcile(index, _Catalog(rows)) == Repair(missing_vectors_added=3)
    assert _consistency_messages(caplog) == ["index reconciled with the catalog: 0 orphan vectors removed, 3 added"]
    caplog.clear()
    assert reconcile(index, _Catalog(rows)) == Repair() and _consistency_messages(caplog) == []


def test_reconcile_counts_orphan_vectors_not_orphan_ids():
    from indexer.consistency import Repair, reconcile

    rows = _unit_rows([1, 2, 3], seed=19)
    index = _flat({**rows, 9: rows[1]})
    index.add(np.array([9], np.int64), rows[2][None])  # a gone row's id held twice
    assert reconcile(index, _Catalog(rows)) == Repair(orphan_vectors_removed=2)
    assert index.ids().tolist() == [1, 2, 3] and index.ntotal == 3


def _ivf_rows():
    """1,300 unit vectors of dim 4: 33 IVF lists, so an nprobe of 32 or 33 is not capped away by nlist."""
    rows = _unit_rows(range(1, 1301), dim=4, seed=11)
    ids = np.arange(1, 1301, dtype=np.int64)
    return rows, ids, np.stack([rows[int(i)] for i in ids])


def test_open_index_and_rebuild_keep_the_ivf_kind_and_the_asked_nprobe(tmp_path):
    from indexer.consistency import Repair, open_index, rebuild

    rows, ids, vectors = _ivf_rows()
    catalog, path = _Catalog(rows), tmp_path / "index.faiss"
    ivf = build_index(ids, vectors, kind="ivf", nprobe=5)
    assert ivf.index.nlist == 33
    ivf.save(path)
    index, repair = open_index(catalog, path, dim=4, nprobe=7)
    assert repair == Repair() and index.kind == "ivf" and index.nprobe == 7 and index.index.nprobe == 7
    index, repair = open_index(catalog, path, dim=4)  # the default nprobe
    assert repair == Repair() and index.nprobe == 32 and index.index.nprobe == 32
    default = rebuild(catalog, dim=4, kind="ivf")
    assert default.kind == "ivf" and default.nprobe == 32 and default.index.nprobe == 32
    ivf.add(np.array([3], np.int64), rows[3][None])  # id 3 twice
    ivf.save(path)
    index, repair = open_index(catalog, path, dim=4, nprobe=7)
    assert repair == Repair(rebuilt=True) and index.kind == "ivf" and index.nprobe == 7 and index.index.nprobe == 7
    assert index.ids().tolist() == ids.tolist()
    other = _unit_rows(range(1, 1301), dim=4, seed=15)
    build_index(ids, np.stack([other[int(i)] for i in ids]), kind="ivf", nprobe=5).save(path)
    index, repair = open_index(catalog, path, dim=4, nprobe=7)  # another catalog's vectors: rebuilt as IVF
    assert repair == Repair(rebuilt=True) and index.kind == "ivf" and index.nprobe == 7 and index.index.nprobe == 7
    assert np.array_equal(index.reconstruct(ids), vectors)


def test_convert_to_ivf_uses_the_asked_nprobe_and_measures_recall_at_10(caplog):
    from indexer.consistency import convert
    from indexer.vector_index import measure_recall

    caplog.set_level(logging.INFO, logger="indexer.consistency")
    rows, ids, vectors = _ivf_rows()
    index, recall = convert(_Catalog(rows), dim=4, kind="ivf", nprobe=2, recall_queries=30)
    assert index.kind == "ivf" and index.nprobe == 2 and index.index.nprobe == 2 and index.index.nlist == 33
    assert recall == measure_recall(index, ids, vectors, k=10, queries=30)
    # the recall really depends on k and on the number of queries here, so both are checked above
    assert recall < 1 and recall != measure_recall(index, ids, vectors, k=11, queries=30)
    assert recall != measure_recall(index, ids, vectors, k=10, queries=200)
    assert _consistency_messages(caplog) == [f"approximate index (IVF, 33 lists, nprobe 2): recall@10 = {recall:.3f}"]


def test_check_index_counts_a_mismatch_at_each_end_of_a_block():
    from indexer.consistency import ATOL, check_index

    rows = _unit_rows(range(1, 4201), dim=4, seed=16)
    wrong = dict(rows)
    wrong[1] = rows[2]  # the first id of the first block of 4096
    wrong[4097] = rows[2]  # the first id of the second block
    assert check_index(_flat(wrong), _Catalog(rows))["mismatched_vectors"] == 2
    # the tolerance is absolute: a component at 0 may move by less than ATOL, not more
    axis = {1: np.array([1, 0, 0, 0], np.float32)}
    near = {1: np.array([1, ATOL / 4, 0, 0], np.float32)}
    far = {1: np.array([1, 3 * ATOL, 0, 0], np.float32)}
    assert check_index(_flat(near), _Catalog(axis))["mismatched_vectors"] == 0
    assert check_index(_flat(far), _Catalog(axis))["mismatched_vectors"] == 1


def _spot_draw(n: int, sample: int) -> set[int]:
    """The seeded random part of the spot check over ids 1..n."""
    ids = np.arange(1, n + 1, dtype=np.int64)
    return set(np.random.default_rng(n).choice(ids, min(sample, n), replace=False).tolist())


def _open_with_one_wrong(tmp_path, rows, wrong_id, **kwargs):
    from indexer.consistency import open_index

    wrong = dict(rows)
    wrong[wrong_id] = -rows[wrong_id]
    path = tmp_path / "index.faiss"
    _flat(wrong).save(path)
    return open_index(_Catalog(rows), path, dim=4, **kwargs)[1]


def test_spot_check_covers_the_newest_half_sample_plus_a_seeded_draw(tmp_path):
    from indexer.consistency import Repair

    n = 72
    rows = _unit_rows(range(1, n + 1), seed=17)
    draw = _spot_draw(n, 64)
    oldest_of_tail = n - 32 + 1  # ids[-(64 // 2)]
    assert oldest_of_tail not in draw  # so only the tail of 32 newest ids can catch it
    assert _open_with_one_wrong(tmp_path, rows, oldest_of_tail, verify_sample=64) == Repair(rebuilt=True)
    unchecked = max(set(range(33, oldest_of_tail)) - draw)  # neither newest nor drawn: a spot check, not a full one
    assert _open_with_one_wrong(tmp_path, rows, unchecked, verify_sample=64) == Repair()
    drawn = min(draw - _spot_draw(n, 65))  # drawn with the default sample of 64, not with 65
    assert drawn < oldest_of_tail
    assert _open_with_one_wrong(tmp_path, rows, drawn) == Repair(rebuilt=True)
    assert _open_with_one_wrong(tmp_path, rows, n, verify_sample=1) == Repair(rebuilt=True)  # the newest, even at 1


def test_spot_check_covers_every_vector_of_an_index_no_larger_than_the_sample(tmp_path):
    from indexer.consistency import Repair

    rows = _unit_rows(range(1, 41), seed=18)
    for wrong_id in range(1, 41):
        assert _open_with_one_wrong(tmp_path, rows, wrong_id, verify_sample=64) == Repair(rebuilt=True), wrong_id


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
