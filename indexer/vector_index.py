"""`VectorIndex`: the FAISS index of painting vectors, keyed by catalog row id.

Similarity is the inner product of L2-normalised float32 vectors (= cosine).
- `flat`: `IndexIDMap2(IndexFlatIP)`, exact; the default.
- `ivf`: `IndexIVFFlat` (inner product) for large catalogs, approximate. IVF stores ids natively;
  `IndexIDMap2` over IVF would corrupt its id map on `remove_ids` (IVF does not compact), so it is not
  wrapped. Its recall@10 against exact search is measured when it is built (`measure_recall`).
Filtered searches pass the allowed ids to FAISS as an `IDSelectorBatch` (SearchParameters(sel=...)),
and on IVF probe every list so a filter never starves the top-k.
With faiss-gpu and a CUDA device, unfiltered searches run on a GPU copy (`index_cpu_to_all_gpus`);
the index is always kept and saved on the CPU.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.base.atomic import atomic_save
from indexer.faiss_backend import faiss_module, gpu_count

logger = logging.getLogger(__name__)

FLAT, IVF = "flat", "ivf"
MIN_POINTS_PER_LIST = 39  # below this faiss k-means warns and centroids are poor
KMEANS_POINTS_PER_LIST = 64  # k-means training sample per list; more adds build time, not recall
KMEANS_ITERATIONS = 10


@dataclass
class VectorIndex:
    """A CPU FAISS index plus (lazily) a GPU copy for search."""

    index: Any
    dim: int
    kind: str = FLAT
    nprobe: int = 32
    _gpu: Any = field(default=None, repr=False)

    @classmethod
    def empty(cls, dim: int) -> "VectorIndex":
        faiss = faiss_module()
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), dim, FLAT)

    @classmethod
    def load(cls, path: Path, *, nprobe: int = 32) -> "VectorIndex | None":
        """Read an index file; None when it is absent or unreadable (the caller rebuilds it from the catalog)."""
        faiss = faiss_module()
        if not path.is_file():
            return None
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            logger.warning("ignoring unreadable index file %s (%s); rebuilding it from the catalog", path, str(exc)[:80])
            return None
        kind = IVF if isinstance(index, faiss.IndexIVF) else FLAT
        if kind == FLAT and not isinstance(index, faiss.IndexIDMap2):
            logger.warning("ignoring index file %s of unexpected type %s", path, type(index).__name__)
            return None
        if kind == IVF:
            index.nprobe = min(nprobe, index.nlist)
        return cls(index, index.d, kind, nprobe)

    def save(self, path: Path) -> None:
        """Write atomically (temp file + os.replace), always from the CPU index."""
        faiss = faiss_module()
        atomic_save(path, lambda tmp: faiss.write_index(self.index, str(tmp)))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """All vector ids, int64, ascending."""
        faiss = faiss_module()
        if self.kind == FLAT:
            ids = faiss.vector_to_array(self.index.id_map)
        else:
            lists = self.index.invlists
            parts = [
                faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                for i in range(self.index.nlist)
                if lists.list_size(i)
            ]
            ids = np.concatenate(parts) if parts else np.empty(0, np.int64)
        return np.sort(ids.astype(np.int64))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(_as_vectors(vectors, self.dim), np.ascontiguousarray(ids, dtype=np.int64))
            self._gpu = None

    def remove(self, ids: np.ndarray) -> int:
        if not len(ids):
            return 0
        self._gpu = None
        return int(self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """Stored vectors of `ids` (all must be present), float32 (n, D)."""
        if not len(ids):
            return np.empty((0, self.dim), np.float32)
        return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product: (similarities (Q, k) float32, ids (Q, k) int64; -1 where fewer exist).

        `allowed`: only these ids may be returned (a FAISS id selector, not post-filtering).
        """
        queries = _as_vectors(queries, self.dim)
        if allowed is None:
            return self._search_device().search(queries, k)
        faiss = faiss_module()
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        if self.kind == IVF:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self.index.nlist)
        else:
            params = faiss.SearchParameters(sel=selector)
        # GPU indexes do not honour every selector, so filtered searches stay on the CPU.
        return _numpy_search(self.index)(queries, k, params=params)

    def _search_device(self) -> Any:
        if self._gpu is None and gpu_count() > 0:
            faiss = faiss_module()
            logger.info("searching on %d GPU(s)", gpu_count())
            self._gpu = faiss.index_cpu_to_all_gpus(self.index)
        return self._gpu if self._gpu is not None else self.index


def build_index(ids: np.ndarray, vectors: np.ndarray, *, kind: str = FLAT, nprobe: int = 32, seed: int = 0) -> VectorIndex:
    """A new index over (ids int64 (n,), vectors float32 (n, D)); `ivf` is trained on the vectors themselves."""
    vectors = _as_vectors(vectors, vectors.shape[1])
    dim = vectors.shape[1]
    if kind == FLAT:
        index = VectorIndex.empty(dim)
    else:
        index = VectorIndex(_trained_ivf(vectors, nprobe=nprobe, seed=seed), dim, IVF, nprobe)
    index.add(ids, vectors)
    return index


def ivf_lists(n: int) -> int:
    """Number of IVF lists: ~4 sqrt(n), with at least 39 training points per list."""
    return max(1, min(int(4 * math.sqrt(max(n, 1))), n // MIN_POINTS_PER_LIST))


def _trained_ivf(vectors: np.ndarray, *, nprobe: int, seed: int) -> Any:
    faiss = faiss_module()
    dim, nlist = vectors.shape[1], ivf_lists(len(vectors))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.seed = seed
    # k-means costs n x nlist x D x niter: 64 points per list and 10 iterations keep a 1M build in
    # minutes on 2 cores (benchmarks/bench_search.py: recall@10 >= 0.95 at the default nprobe).
    ivf.cp.niter = KMEANS_ITERATIONS
    ivf.train(training_sample(vectors, nlist, seed=seed))
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct + remove_ids by id
    ivf.nprobe = min(nprobe, nlist)
    return ivf


def training_sample(vectors: np.ndarray, nlist: int, *, seed: int = 0) -> np.ndarray:
    """At most KMEANS_POINTS_PER_LIST x nlist rows of `vectors`, drawn without replacement."""
    cap = KMEANS_POINTS_PER_LIST * nlist
    if len(vectors) <= cap:
        return vectors
    return vectors[np.sort(np.random.default_rng(seed).choice(len(vectors), cap, replace=False))]


def measure_recall(index: VectorIndex, ids: np.ndarray, vectors: np.ndarray, *, k: int = 10, queries: int = 200, seed: int = 0) -> float:
    """recall@k of `index` against exact search over the same vectors, on a sample of them as queries.

    recall@k = mean over queries of |approx top-k ∩ exact top-k| / k.
    """
    faiss = faiss_module()
    n = len(ids)
    k = min(k, n)
    if k == 0:
        return 1.0
    pick = np.random.default_rng(seed).choice(n, min(queries, n), replace=False)
    q = _as_vectors(vectors[pick], vectors.shape[1])
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(_as_vectors(vectors, vectors.shape[1]))
    _, exact_rows = exact.search(q, k)
    truth = ids[exact_rows]
    _, found = index.search(q, k)
    hits = [len(set(t.tolist()) & set(f.tolist())) for t, f in zip(truth, found)]
    return float(np.mean(hits) / k)


def _as_vectors(x: np.ndarray, dim: int) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"expected vectors of shape (n, {dim}), got {x.shape}")
    return x


def _numpy_search(index: Any) -> Any:
    """The numpy `search` of `index`, which takes `params=`.

    pytorch-metric-learning imports faiss.contrib.torch_utils, which replaces every Index.search
    with a torch-aware version that drops `params`; it keeps the original as `search_numpy`.
    """
    return getattr(index, "search_numpy", index.search)
