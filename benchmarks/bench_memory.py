"""Benchmark 6: peak memory (resident set) while indexing real paintings and while holding 1M vectors.

Each measurement runs in a fresh interpreter that reports `/proc/self/status` VmHWM (peak RSS) and
VmRSS, plus the largest child's peak (`getrusage(RUSAGE_CHILDREN)`: the DataLoader decoding workers).
References, same run: the floor of each process (the same imports and model, no work); for indexing
the bare forward pass of one batch (its activations), for the index the raw vectors (N x 256 x 4 bytes).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_indexing import subset_folder, toy_images
from benchmarks.common import artdata_images, log, run_python, run_script, save_result, table
from benchmarks.models import make_model
from benchmarks.vectors import clustered_vectors

NAME = "memory"
SIZES = {
    "toy": {"images": 4, "vectors": 5_000},
    "quick": {"images": 128, "vectors": 200_000},
    "full": {"images": 512, "vectors": 1_000_000},
}

_REPORT = """
import json, resource
def _kib(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'):
            return int(line.split()[1])
print(json.dumps({'hwm_mib': _kib('VmHWM') / 1024, 'rss_mib': _kib('VmRSS') / 1024,
                  'children_mib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, **extra}))
"""

INDEXING_FLOOR = """
import torch, indexer.pipeline
from engine.model.checkpoint import load_model
lm = load_model({model!r}); extra = {{}}
"""

FORWARD = """
import torch
from engine.model.checkpoint import load_model
lm = load_model({model!r})
x = torch.randn({batch}, 3, lm.input_size, lm.input_size).contiguous(memory_format=torch.channels_last)
with torch.inference_mode():
    lm.model(x); lm.model(x)
extra = {{}}
"""

INDEXING = """
from indexer.pipeline import index_folder
result = index_folder({folder!r}, home={home!r}, model={model!r})
plan = result.get('inference', {{}})
extra = {{'added': result['added'], 'plan': f"batch {{plan.get('batch_size')}} x {{plan.get('streams')}} streams"}}
"""

HOLDING_FLOOR = """
import faiss, numpy as np
from indexer.vector_index import VectorIndex
extra = {}
"""

HOLDING = """
import numpy as np
from pathlib import Path
from indexer.vector_index import VectorIndex
index = VectorIndex.load(Path({path!r}))
after_load = [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS:')][0] / 1024
q = np.load({queries!r})
index.search(q[:1], 10); index.search(q, 10)
extra = {{'kind': index.kind, 'ntotal': index.ntotal, 'rss_after_load_mib': after_load}}
"""


def measure(code: str) -> dict:
    return run_python(code + _REPORT, env={"OMP_NUM_THREADS": "2"})


def indexing_rows(work: Path, size: dict) -> list[dict]:
    from engine.inference.forward_plan import InferencePlan

    source = artdata_images(size["images"])
    if len(source) == size["images"]:
        folder = subset_folder(source, work / "images")
    else:
        folder = work / "images"
        toy_images(folder, size["images"])
    model = str(make_model("efficientnet_lite0", work / "model"))
    log(f"memory: indexing {size['images']} images in a subprocess")
    floor = measure(INDEXING_FLOOR.format(model=model))
    batch = InferencePlan().batch_size  # the CPU default plan's batch; a measured plan uses this or smaller
    forward = measure(FORWARD.format(model=model, batch=batch))
    peak = measure(INDEXING.format(folder=str(folder), home=str(work / "home"), model=model))
    over_forward = forward["hwm_mib"] - floor["hwm_mib"]
    over = peak["hwm_mib"] - floor["hwm_mib"]
    return [
        {"what": "floor: torch + indexer imported, model loaded", "peak_mib": floor["hwm_mib"],
         "workers_peak_mib": None, "over_floor_mib": 0.0, "reference_mib": None, "over_floor_vs_reference": None},
        {"what": f"reference: bare forward of one batch of {batch} (activations)", "peak_mib": forward["hwm_mib"],
         "workers_peak_mib": None, "over_floor_mib": over_forward, "reference_mib": None, "over_floor_vs_reference": None},
        {"what": f"index_folder, {peak['added']} paintings (efficientnet_lite0, {peak.get('plan')})", "peak_mib": peak["hwm_mib"],
         "workers_peak_mib": peak["children_mib"], "over_floor_mib": over, "reference_mib": over_forward,
         "over_floor_vs_reference": over / over_forward if over_forward > 0 else None},
    ]


def write_indexes(work: Path, n: int) -> dict[str, Path]:
    """The product's index files for n vectors: exact (flat) and its IVF setting.

    Memory does not depend on how good the IVF lists are, so the IVF skips k-means (centroids are
    a random sample of the vectors) and assigns vectors to random lists: seconds instead of minutes.
    """
    import faiss
    from faiss.contrib.ivf_tools import add_preassigned

    from benchmarks.product_index import product_kind, product_nlist
    from indexer.vector_index import IVF, VectorIndex, build_index

    rng = np.random.default_rng(0)
    data = clustered_vectors(n, seed=0)
    np.save(work / "queries.npy", clustered_vectors(100, seed=1))
    ids = np.arange(n, dtype=np.int64)
    paths = {"flat": work / "flat.faiss", "ivf": work / "ivf.faiss"}
    build_index(ids, data, kind="flat").save(paths["flat"])
    dim, nlist, (_, nprobe) = data.shape[1], product_nlist(n), product_kind(n)
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(data[rng.choice(n, nlist, replace=False)])
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.is_trained = True
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # as the product's build_index does
    add_preassigned(ivf, data, rng.integers(0, nlist, n).astype(np.int64), ids)
    ivf.nprobe = min(nprobe, nlist)
    VectorIndex(ivf, dim, IVF, nprobe).save(paths["ivf"])
    return paths


def holding_rows(work: Path, size: dict) -> list[dict]:
    n = size["vectors"]
    log(f"memory: writing {n:,}-vector index files")
    paths = write_indexes(work, n)
    raw = n * 256 * 4 / 2**20
    floor = measure(HOLDING_FLOOR)
    rows = [{"what": "floor: faiss + numpy + indexer imported", "peak_mib": floor["hwm_mib"], "workers_peak_mib": None,
             "over_floor_mib": 0.0, "reference_mib": None, "over_floor_vs_reference": None}]
    for kind, path in paths.items():
        log(f"memory: holding the {kind} index in a subprocess")
        got = measure(HOLDING.format(path=str(path), queries=str(work / "queries.npy")))
        over = got["hwm_mib"] - floor["hwm_mib"]
        rows.append({"what": f"VectorIndex.load + search, {n:,} x 256 ({kind}; file {path.stat().st_size / 2**20:,.0f} MiB)",
                     "peak_mib": got["hwm_mib"], "workers_peak_mib": None, "over_floor_mib": over,
                     "rss_after_load_mib": got["rss_after_load_mib"], "reference_mib": raw,
                     "over_floor_vs_reference": over / raw})
    return rows


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    size = SIZES[scale]
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        rows = indexing_rows(work, size) + holding_rows(work, size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"scale": scale, "config": size, "rows": rows,
              "reference": "raw vectors: N x 256 x 4 bytes; floors: same imports in a fresh process, no work"}
    print(table(rows, ["what", "peak_mib", "workers_peak_mib", "over_floor_mib", "reference_mib", "over_floor_vs_reference"]))
    save_result(NAME, result, results_dir=results_dir)
    return result


def main(argv=None) -> None:
    run_script(run, __doc__, argv)


if __name__ == "__main__":
    main()
