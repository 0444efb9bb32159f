"""Benchmark 3: vector search at 10k / 100k / 1M clustered 256-d unit vectors.

Reference: the exact flat inner-product index (brute force; its answers are the ground truth).
Approximate: IVF-Flat (nlist ~ 4 sqrt(N), nprobe tuned), HNSW (M=32, efSearch tuned), and the
product's own automatic choice (`indexer.vector_index.build_index`). Each approximate index is
tuned to the smallest search parameter whose recall@10 against exact is >= 0.95, then its
queries/s (one query at a time, and in batches of 100) are compared with exact at the same N.
Goal: at 1M, approximate >= 10x exact queries/s at recall@10 >= 0.95.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import search_indexes as si
from benchmarks.common import cli_args, log, save_result, table
from benchmarks.vectors import clustered_vectors, recall_at_k

NAME = "search"
K = 10
TARGET_RECALL = 0.95
SIZES = {
    "toy": {"sizes": [2_000], "queries": 100, "single": 50, "hnsw_budget_s": 60},
    "quick": {"sizes": [10_000, 100_000], "queries": 500, "single": 200, "hnsw_budget_s": 120},
    "full": {"sizes": [10_000, 100_000, 1_000_000], "queries": 1000, "single": 300, "hnsw_budget_s": 240},
}


def qps_single(search, queries: np.ndarray) -> float:
    """Queries/s answering one query per call (the interactive case)."""
    search(queries[:5])  # warm caches
    start = time.perf_counter()
    for i in range(len(queries)):
        search(queries[i : i + 1])
    return len(queries) / (time.perf_counter() - start)


def qps_batched(search, queries: np.ndarray, batch: int = 100) -> float:
    start = time.perf_counter()
    for i in range(0, len(queries), batch):
        search(queries[i : i + batch])
    return len(queries) / (time.perf_counter() - start)


def tune(handle: si.Handle, queries: np.ndarray, truth: np.ndarray) -> tuple[list[dict], object]:
    """Sweep the search parameter upward; stop at the first setting with recall >= target."""
    sweep, chosen = [], None
    for value in handle.sweep:
        handle.set_param(value)
        start = time.perf_counter()
        found = handle.search(queries, K)
        elapsed = time.perf_counter() - start
        recall = recall_at_k(found, truth, K)
        sweep.append({handle.param: value, "recall_at_10": recall, "batch_qps": len(queries) / elapsed})
        if recall >= TARGET_RECALL:
            chosen = value
            break
    if chosen is None:
        chosen = handle.sweep[-1]
    handle.set_param(chosen)
    return sweep, chosen


def measure_index(handle: si.Handle, queries, truth, n_single: int) -> dict:
    sweep, chosen = tune(handle, queries, truth) if handle.sweep else ([], None)
    found = handle.search(queries, K)
    search = lambda q: handle.search(q, K)  # noqa: E731
    return {
        "index": handle.name, "description": handle.description, "param": handle.param, "value": chosen,
        "build_s": handle.build_s, "bytes_per_vector": handle.bytes_per_vector(),
        "recall_at_10": recall_at_k(found, truth, K),
        "qps_single": qps_single(search, queries[:n_single]), "qps_batch100": qps_batched(search, queries),
        "sweep": sweep,
    }


def run_size(n: int, size: dict, hnsw_projection: float | None) -> tuple[list[dict], float | None]:
    log(f"search: generating {n:,} vectors")
    data = clustered_vectors(n, seed=0)
    queries = clustered_vectors(size["queries"], seed=10_000 + n)  # same mixture, not in the data
    flat = si.build_flat(data)
    truth = flat.search(queries, K)
    rows = [measure_index(flat, queries, truth, size["single"])]
    for build in (si.build_ivf, si.build_product):
        log(f"search: {build.__name__} at {n:,}")
        handle = build(data)
        if handle is not None:
            rows.append(measure_index(handle, queries, truth, size["single"]))
        del handle
    rows, hnsw_projection = _maybe_hnsw(rows, n, data, queries, truth, size, hnsw_projection)
    exact = rows[0]
    for row in rows:
        row.update(n=n, speedup_single=row["qps_single"] / exact["qps_single"],
                   speedup_batch=row["qps_batch100"] / exact["qps_batch100"])
    return rows, hnsw_projection


def _maybe_hnsw(rows, n, data, queries, truth, size, projection):
    """HNSW build is O(N log N) and slow on few cores: skip it when the projection is over budget."""
    if projection is not None and projection > size["hnsw_budget_s"]:
        rows.append({"index": "hnsw", "n": n, "skipped": f"projected build {projection:.0f} s > budget "
                     f"{size['hnsw_budget_s']} s (from the previous size x N ratio x 1.2)"})
        return rows, projection
    log(f"search: hnsw at {n:,}")
    handle = si.build_hnsw(data)
    rows.append(measure_index(handle, queries, truth, size["single"]))
    return rows, handle.build_s * 10 * 1.2  # next size is 10x larger; log factor ~1.2


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    size = SIZES[scale]
    rows, projection = [], None
    for n in size["sizes"]:
        size_rows, projection = run_size(n, size, projection)
        rows.extend(size_rows)
        print(table([r for r in size_rows if "skipped" not in r], _COLUMNS))
    goal = goal_at_largest(rows, size["sizes"][-1])
    result = {"scale": scale, "config": {**size, "k": K, "target_recall": TARGET_RECALL,
              "generator": "benchmarks.vectors.clustered_vectors (Gaussian mixture, 1000 clusters, 64-d latent)"},
              "rows": rows, "goal": goal}
    print(goal["summary"])
    save_result(NAME, result, results_dir=results_dir)
    return result


_COLUMNS = ["n", "index", "param", "value", "build_s", "bytes_per_vector", "recall_at_10",
            "qps_single", "qps_batch100", "speedup_single", "speedup_batch"]


def goal_at_largest(rows: list[dict], n: int) -> dict:
    """Goal: an approximate index with >= 10x exact queries/s at recall@10 >= 0.95 (at the largest N)."""
    at_n = [r for r in rows if r.get("n") == n and "skipped" not in r and r["index"] != "flat"]
    ok = lambda r: r["recall_at_10"] >= TARGET_RECALL and r["speedup_single"] >= 10  # noqa: E731
    product = next((r for r in at_n if r["index"] == "product"), None)
    best = max(at_n, key=lambda r: (ok(r), r["speedup_single"]), default=None)
    lines = [f"at N={n:,}:"] + [
        f"  {r['index']}: recall@10 {r['recall_at_10']:.3f}, {r['speedup_single']:.1f}x exact one-at-a-time, "
        f"{r['speedup_batch']:.1f}x in batches of 100 -> goal {'met' if ok(r) else 'NOT met'}" for r in at_n]
    return {"n": n, "met_by": [r["index"] for r in at_n if ok(r)], "product_met": bool(product and ok(product)),
            "best": best and {k: best[k] for k in ("index", "param", "value", "recall_at_10", "speedup_single")},
            "summary": "\n".join(lines)}


def main(argv=None) -> None:
    args = cli_args(__doc__.splitlines()[0], argv)
    run(scale=args.scale, results_dir=args.results)


if __name__ == "__main__":
    main()
