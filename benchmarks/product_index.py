"""The product's index choices, as the search benchmark sees them.

`engine index` keeps an exact flat index below `IndexConfig.approx_threshold` vectors and switches
to `build_index(kind="ivf", nprobe=IndexConfig.nprobe)` at or above it (`indexer.writer.finish`).
The product's own parameters are measured untouched (no tuning here).

Its IVF k-means trains on up to `KMEANS_POINTS_PER_LIST` (64) points per list for
`KMEANS_ITERATIONS` (10) iterations; at 1M that is ~256k x 4000 x 256 x 2 x 10 FLOP (~5 TFLOP) plus
the assignment of all 1M vectors (~2 TFLOP). When the projected build time is still over budget,
the product's *setting* (its nlist and nprobe) is measured instead with the benchmark's bounded
k-means, and the projection is reported.
"""

from __future__ import annotations

import time
from types import ModuleType

import numpy as np

from benchmarks.search_indexes import Handle, bounded_ivf


def product_kind(n: int) -> tuple[str, int]:
    """(kind, nprobe) the product picks for `n` vectors."""
    from indexer import vector_index
    from indexer.config import IndexConfig

    config = IndexConfig()
    kind = vector_index.IVF if n >= config.approx_threshold else vector_index.FLAT
    return kind, config.nprobe


def product_nlist(n: int) -> int:
    from indexer.vector_index import ivf_lists

    return ivf_lists(n)


def build_product(data: np.ndarray, *, kind: str | None = None, name: str = "product") -> Handle:
    """`build_index` exactly as the product calls it (`kind` None: the automatic choice)."""
    from indexer import vector_index

    auto_kind, nprobe = product_kind(len(data))
    kind = kind or auto_kind
    start = time.perf_counter()
    index = vector_index.build_index(np.arange(len(data), dtype=np.int64), data, kind=kind, nprobe=nprobe)
    seconds = time.perf_counter() - start
    return _handle(name, index, seconds, kind, vector_index)


def _handle(name: str, index, seconds: float, kind: str, vector_index: ModuleType) -> Handle:
    inner = index.index
    nlist = getattr(inner, "nlist", None)
    description = f"product build_index(kind={kind!r})" + (f" nlist={nlist} nprobe={inner.nprobe}" if nlist else "")
    return Handle(
        name, description, inner, seconds,
        param="nprobe" if nlist else None, sweep=(),
        searcher=lambda q, k: index.search(q, k)[1],
        extra={"kind": kind, "nlist": nlist, "nprobe": getattr(inner, "nprobe", None)},
    )


def product_setting(ivf: Handle, data: np.ndarray) -> Handle:
    """The product's IVF setting (its nlist and nprobe) on a bounded-k-means IVF: `ivf` itself
    when its nlist is the product's (then only nprobe changes), else a new one."""
    _, nprobe = product_kind(len(data))
    nlist = product_nlist(len(data))
    base = ivf if ivf.extra.get("nlist") == nlist else bounded_ivf(data, nlist=nlist)
    handle = Handle("product_setting", f"product setting IVF{nlist},Flat nprobe={nprobe} (bounded k-means)",
                    base.index, base.build_s, "nprobe", (), extra={"nlist": nlist, "nprobe": nprobe})
    handle.set_param(min(nprobe, nlist))
    return handle


def ivf_build_cost(n: int) -> float:
    """Relative cost of the product's IVF build: k-means points x lists x iterations + assignment."""
    from indexer.vector_index import KMEANS_ITERATIONS, KMEANS_POINTS_PER_LIST

    nlist = product_nlist(n)
    return min(n, KMEANS_POINTS_PER_LIST * nlist) * nlist * KMEANS_ITERATIONS + n * nlist
