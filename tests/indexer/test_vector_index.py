"""VectorIndex against brute force numpy."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.vector_index import FLAT, IVF, VectorIndex, build_index, ivf_lists, measure_recall


def _data(n=300, d=16, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(1000, 1000 + 3 * n, 3, dtype=np.int64)  # sparse ids, like a catalog after deletions
    return ids, x


def _brute(x, ids, q, k, allowed=None):
    sims = q @ x.T
    if allowed is not None:
        sims[:, ~np.isin(ids, allowed)] = -np.inf
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, 1), ids[order]


def test_flat_search_is_exact():
    ids, x = _data()
    index = build_index(ids, x)
    q = x[:7] + 0.01
    sims, found = index.search(q, 10)
    want_sims, want_ids = _brute(x, ids, q, 10)
    np.testing.assert_allclose(sims, want_sims, atol=1e-5)
    assert (found == want_ids).all()


def test_selector_restricts_and_fills_the_top_k():
    ids, x = _data()
    allowed = ids[::7]
    sims, found = build_index(ids, x).search(x[:5], 10, allowed=allowed)
    assert np.isin(found, allowed).all() and (found >= 0).all()
    want_sims, want_ids = _brute(x, ids, x[:5], 10, allowed)
    assert (found == want_ids).all()


def test_add_remove_ids_reconstruct():
    ids, x = _data(50)
    index = build_index(ids, x)
    assert index.remove(ids[:10]) == 10
    assert index.ids().tolist() == ids[10:].tolist()
    np.testing.assert_array_equal(index.reconstruct(ids[10:13]), x[10:13])
    index.add(ids[:2], x[:2])
    assert index.ntotal == 42


def test_save_load_roundtrip(tmp_path):
    ids, x = _data(40)
    build_index(ids, x).save(tmp_path / "i.faiss")
    loaded = VectorIndex.load(tmp_path / "i.faiss")
    assert loaded.kind == FLAT and loaded.ids().tolist() == ids.tolist()
    assert [p.name for p in tmp_path.iterdir()] == ["i.faiss"]  # no temp file left behind


def test_unreadable_file_loads_as_none(tmp_path):
    (tmp_path / "i.faiss").write_bytes(b"not an index")
    assert VectorIndex.load(tmp_path / "i.faiss") is None
    assert VectorIndex.load(tmp_path / "absent.faiss") is None


def test_ivf_recall_is_measured_against_exact():
    ids, x = _data(2000, 16)
    index = build_index(ids, x, kind=IVF, nprobe=4)
    assert index.kind == IVF and index.index.nlist == ivf_lists(2000)
    recall = measure_recall(index, ids, x, k=10, queries=100)
    # the same number by hand
    q_rows = np.random.default_rng(0).choice(2000, 100, replace=False)
    _, truth = _brute(x, ids, x[q_rows], 10)
    _, got = index.search(x[q_rows], 10)
    by_hand = np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth.tolist(), got.tolist())])
    assert recall == pytest.approx(by_hand)
    assert 0.3 < recall <= 1.0
    assert measure_recall(build_index(ids, x), ids, x) == 1.0


def test_ivf_filtered_search_probes_every_list():
    ids, x = _data(2000, 16)
    index = build_index(ids, x, kind=IVF, nprobe=1)
    allowed = ids[::50]
    sims, found = index.search(x[:3], 10, allowed=allowed)
    _, want = _brute(x, ids, x[:3], 10, allowed)
    assert (found == want).all()


def test_ivf_remove_and_roundtrip(tmp_path):
    ids, x = _data(400)
    index = build_index(ids, x, kind=IVF)
    index.remove(ids[:5])
    index.save(tmp_path / "i.faiss")
    loaded = VectorIndex.load(tmp_path / "i.faiss")
    assert loaded.kind == IVF and loaded.ids().tolist() == ids[5:].tolist()
    np.testing.assert_array_equal(loaded.reconstruct(ids[5:8]), x[5:8])


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError):
        VectorIndex.empty(8).add(np.array([1]), np.zeros((1, 4), np.float32))


def test_kmeans_training_sample_is_capped_and_drawn_from_the_vectors():
    from indexer.vector_index import KMEANS_POINTS_PER_LIST, training_sample

    _, x = _data(3000, 8)
    small = training_sample(x, 100)  # cap 6400 > 3000: every vector
    assert small is x
    sample = training_sample(x, 10, seed=3)
    assert sample.shape == (KMEANS_POINTS_PER_LIST * 10, 8)
    rows = {r.tobytes() for r in x}
    assert all(r.tobytes() in rows for r in sample)
    assert len({r.tobytes() for r in sample}) == len(sample)  # without replacement
    np.testing.assert_array_equal(sample, training_sample(x, 10, seed=3))  # deterministic


def test_ivf_built_on_a_capped_sample_keeps_recall(monkeypatch):
    """Clustered data, k-means trained on a sample of the vectors: full probing is exact and the
    configured nprobe keeps recall high."""
    from indexer import vector_index

    seen = []
    real = vector_index.training_sample
    monkeypatch.setattr(vector_index, "training_sample", lambda v, nlist, **kw: seen.append(real(v, nlist, **kw)) or seen[-1])
    rng = np.random.default_rng(1)
    n = 80_000  # above ~65k vectors the cap (64 per list, ~4 sqrt(n) lists) is below n
    centres = rng.normal(size=(50, 16))
    x = (centres[rng.integers(0, 50, n)] + 0.3 * rng.normal(size=(n, 16))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(n, dtype=np.int64)
    index = build_index(ids, x, kind=IVF, nprobe=32)
    nlist = index.index.nlist
    assert len(seen[0]) == vector_index.KMEANS_POINTS_PER_LIST * nlist < n
    assert index.index.cp.niter == vector_index.KMEANS_ITERATIONS
    assert measure_recall(index, ids, x, k=10, queries=100) >= 0.9
    index.index.nprobe = nlist
    assert measure_recall(index, ids, x, k=10, queries=100) == 1.0
