"""The indexes compared by the search benchmark, behind one small handle.

All use inner product on unit vectors (= cosine). `Handle.search(q, k)` returns (Q, k) ids.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import faiss
import numpy as np


@dataclass
class Handle:
    name: str
    description: str
    index: Any
    build_s: float
    param: str | None = None
    sweep: Sequence[int] = ()
    searcher: Callable[[np.ndarray, int], np.ndarray] | None = None
    setter: Callable[[int], None] | None = None
    size_bytes: Callable[[], int] | None = None
    extra: dict = field(default_factory=dict)

    def search(self, queries: np.ndarray, k: int) -> np.ndarray:
        if self.searcher is not None:
            return self.searcher(queries, k)
        return self.index.search(queries, k)[1]

    def set_param(self, value: int) -> None:
        if self.setter is not None:
            self.setter(value)
        else:
            faiss.ParameterSpace().set_index_parameter(self.index, self.param, value)

    def bytes_per_vector(self) -> float:
        size = self.size_bytes() if self.size_bytes else len(faiss.serialize_index(self.index))
        return size / self.index.ntotal


def _timed(build: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    index = build()
    return index, time.perf_counter() - start


def build_flat(data: np.ndarray) -> Handle:
    def build():
        index = faiss.IndexFlatIP(data.shape[1])
        index.add(data)
        return index

    index, seconds = _timed(build)
    return Handle("flat", "exact IndexFlatIP (brute force)", index, seconds)


def ivf_nlist(n: int) -> int:
    return max(1, int(round(4 * math.sqrt(n))))


def bounded_ivf(data: np.ndarray, *, nlist: int) -> Handle:
    """IVF-Flat (flat inner-product quantizer) with bounded k-means: <= 40 points per list and
    10 iterations, so that 1M vectors build in minutes on few cores."""
    n, dim = data.shape

    def build():
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        index.cp.max_points_per_centroid = 40
        index.cp.min_points_per_centroid = 5
        index.train(data[np.random.default_rng(0).permutation(n)[: 40 * nlist]])
        index.add(data)
        return index

    index, seconds = _timed(build)
    sweep = [p for p in (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256) if p <= nlist]
    return Handle("ivf", f"IVF{nlist},Flat (nlist=4*sqrt(N), k-means 40 pts/list, 10 iter)", index, seconds,
                  "nprobe", sweep, extra={"nlist": nlist})


def build_ivf(data: np.ndarray) -> Handle:
    return bounded_ivf(data, nlist=ivf_nlist(len(data)))


def build_hnsw(data: np.ndarray, *, m: int = 32, ef_construction: int = 40) -> Handle:
    def build():
        index = faiss.IndexHNSWFlat(data.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(data)
        return index

    index, seconds = _timed(build)
    return Handle("hnsw", f"HNSW{m},Flat efConstruction={ef_construction}", index, seconds, "efSearch",
                  (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512))
