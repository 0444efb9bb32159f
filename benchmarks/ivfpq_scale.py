"""Benchmark: the 100M-painting index recipe (OPQ + IVF-PQ, train once, add shards, merge on disk) at small scale.

docs/SCALE.md plans `OPQ64_256,IVF65536_HNSW32,PQ64` for 100M vectors. This script runs the same
recipe (smaller nlist) on generated embedding-like vectors (benchmarks.vectors) and measures, against
exact search in the same run: recall@10 of the PQ codes alone and after re-ranking the top 100 with
the exact vectors, per nprobe; bytes per vector; search time per query (top 100 from the codes, the
re-ranking not included) and its speed over the exact search's (one thread each, all queries in one
batch). Then it checks the build path: the trained empty index is written once, two shards are filled
independently (as parallel workers would), merged into one on-disk inverted file
(faiss.contrib.ondisk.merge_ondisk), and the merged index must answer exactly as one index filled with everything.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import log, run_script, save_result, table
from benchmarks.vectors import clustered_vectors

NAME = "ivfpq"
SIZES = {"toy": {"n": 20_000, "nlist": 128, "train": 10_000, "queries": 100},
         "quick": {"n": 100_000, "nlist": 512, "train": 12_000, "queries": 500},
         "full": {"n": 400_000, "nlist": 1024, "train": 20_000, "queries": 1000}}
NPROBES = (8, 16, 32, 64)
K, RERANK = 10, 100


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found[:, :K], truth)]))


def rerank(candidates: np.ndarray, base: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Exact inner products over each query's candidates -> the top K ids."""
    out = np.empty((len(queries), K), dtype=np.int64)
    for q, ids in enumerate(candidates):
        ids = ids[ids >= 0]
        out[q] = ids[np.argsort(-(base[ids] @ queries[q]))[:K]]
    return out


def merged_on_disk(trained_path: str, base: np.ndarray, work: Path):
    """Two shards filled from the trained index, merged into one on-disk inverted file."""
    import faiss
    from faiss.contrib.ondisk import merge_ondisk

    half = len(base) // 2
    shards = []
    for s, (lo, hi) in enumerate(((0, half), (half, len(base)))):
        shard = faiss.read_index(trained_path)
        shard.add_with_ids(base[lo:hi], np.arange(lo, hi, dtype=np.int64))
        shards.append(str(work / f"shard{s}.index"))
        faiss.write_index(shard, shards[-1])
    merged = faiss.read_index(trained_path)
    merge_ondisk(merged, shards, str(work / "merged.ivfdata"))
    faiss.write_index(merged, str(work / "merged.index"))
    return faiss.read_index(str(work / "merged.index")), merged  # the caller keeps `merged` alive: it owns the mapping


def opq_ivf_pq(dim: int, nlist: int):
    """= index_factory("OPQ64_256,IVF{nlist},PQ64"), with fewer training iterations (OPQ 4, PQ k-means 10):
    faiss's defaults (50 x PQ training on 4-d sub-vectors) take many minutes on 2 cores."""
    import faiss

    opq = faiss.OPQMatrix(dim, 64, dim)
    opq.niter, opq.niter_pq_0 = 4, 10
    ivf = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, 64, 8, faiss.METRIC_INNER_PRODUCT)
    ivf.pq.cp.niter = 10
    index = faiss.IndexPreTransform(opq, ivf)
    return index


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    import faiss

    size = SIZES[scale]
    faiss.omp_set_num_threads(1)  # per-query times on one core; OpenMP spin-waits on a shared machine
    base = clustered_vectors(size["n"], seed=0)
    queries = clustered_vectors(size["queries"], seed=1)
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    started = time.perf_counter()
    truth = exact.search(queries, K)[1]
    exact_ms = (time.perf_counter() - started) / len(queries) * 1e3  # the speed reference, same thread count
    spec = f"OPQ64_256,IVF{size['nlist']},PQ64"
    index = opq_ivf_pq(base.shape[1], size["nlist"])
    log(f"ivfpq: training {spec} on {size['train']} vectors")
    started = time.perf_counter()
    index.train(base[: size["train"]])
    train_s = time.perf_counter() - started
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ivfpq-") as tmp:
        work = Path(tmp)
        faiss.write_index(index, str(work / "trained.index"))
        started = time.perf_counter()
        index.add_with_ids(base, np.arange(len(base), dtype=np.int64))
        add_us = (time.perf_counter() - started) / len(base) * 1e6
        merged, _writer = merged_on_disk(str(work / "trained.index"), base, work)
        ivf = faiss.extract_index_ivf(index)
        codes = ivf.invlists.compute_ntotal() if hasattr(ivf.invlists, "compute_ntotal") else index.ntotal
        for nprobe in NPROBES:
            for target in (index, merged):
                faiss.extract_index_ivf(target).nprobe = nprobe
            started = time.perf_counter()
            _, found = index.search(queries, RERANK)
            per_query_ms = (time.perf_counter() - started) / len(queries) * 1e3
            same = bool(np.array_equal(found, merged.search(queries, RERANK)[1]))
            rows.append({"nprobe": nprobe, "recall_at_10_codes": round(recall(found, truth), 3),
                         "recall_at_10_reranked": round(recall(rerank(found, base, queries), truth), 3),
                         "search_ms_per_query": round(per_query_ms, 3), "speedup_vs_exact": round(exact_ms / per_query_ms, 2),
                         "merged_on_disk_identical": same})
    result = {"scale": scale, "index": spec, "n": size["n"], "dim": int(base.shape[1]), "train_vectors": size["train"],
              "train_s": round(train_s, 1), "add_us_per_vector": round(add_us, 2), "bytes_per_vector": 64 + 8, "codes": int(codes), "rerank": RERANK,
              "exact_ms_per_query": round(exact_ms, 3), "threads": faiss.omp_get_max_threads(), "rows": rows}
    print(table(rows, list(rows[0])))
    save_result(NAME, result, results_dir=results_dir)
    return result


def main(argv=None) -> None:
    run_script(run, __doc__, argv)


if __name__ == "__main__":
    main()
