"""`engine verify --pairs`: pairs/s after embedding, and peak memory, on a generated Kaggle-size pairs file.

The file has the real test set's shape (full: 22M rows over 23,817 image names; 1% of the images
unreadable, so their pairs take the prior path). The scoring step (`write_pair_scores`: stream the CSV,
look up both images, cosine, calibration, write index,sameArtist) runs in a fresh process on given
unit embeddings: embedding the images is the model's cost, measured by benchmark 1.
References in the same run: (a) streaming the same CSV without scoring (the reading floor);
(b) the loop a user would write (csv module, dict lookups, one numpy dot per pair) on the first
`naive` rows. Memory: the process's peak (VmHWM) during scoring above its peak before, against the
CSV's size and against holding every pair in memory (index + two positions + probability = 24 B/pair).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import cli_args, log, run_python, save_result, table

NAME = "pairs"
SIZES = {
    "toy": {"pairs": 20_000, "images": 500, "naive": 5_000},
    "quick": {"pairs": 2_000_000, "images": 23_817, "naive": 200_000},
    "full": {"pairs": 22_000_000, "images": 23_817, "naive": 200_000},
}
DIM = 256
CALIBRATION = {"method": "platt", "a": 10.0, "b": -6.0}

_SCORE = """
import json, time, numpy as np, pyarrow as pa
from pathlib import Path
from benchmarks.common import proc_status_kib
from engine.calibrate.platt import PairCalibration
from engine.inference.pairs_file import PairEmbeddings, write_pair_scores
rng = np.random.default_rng(0)
n = {images}
v = rng.normal(size=(n, {dim})).astype(np.float32)
v /= np.linalg.norm(v, axis=1, keepdims=True)
readable = rng.random(n) >= 0.01
v[~readable] = 0
emb = PairEmbeddings(names=pa.array(sorted(f"{{i}}.jpg" for i in range(n))), vectors=v, readable=readable, unreadable=[])
before = proc_status_kib("VmHWM")
start = time.perf_counter()
calibration = PairCalibration.from_stored({threshold!r}, {calibration!r})
counts = write_pair_scores(Path({csv!r}), Path({out!r}), emb, calibration, 0.1)
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak_before_kib": before, "peak_kib": proc_status_kib("VmHWM"), **counts}}))
"""

_READ = """
import json, time
from engine.inference.pairs_csv import BadRows, read_pair_chunks
start, rows = time.perf_counter(), 0
for chunk in read_pair_chunks({csv!r}, BadRows()):
    rows += len(chunk.index)
print(json.dumps({{"seconds": time.perf_counter() - start, "rows": rows}}))
"""


def generate(path: Path, n_pairs: int, n_images: int, *, block: int = 2_000_000) -> None:
    """index,image1,image2 with uniformly random distinct image pairs, written block by block."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(1)
    names = pa.array([f"{i}.jpg" for i in range(n_images)])
    with open(path, "wb") as sink:
        sink.write(b"index,image1,image2\n")
        for start in range(0, n_pairs, block):
            n = min(block, n_pairs - start)
            a = rng.integers(0, n_images, n)
            b = (a + rng.integers(1, n_images, n)) % n_images
            part = pa.table({"index": np.arange(start, start + n), "image1": pc.take(names, a), "image2": pc.take(names, b)})
            pcsv.write_csv(part, sink, write_options=pcsv.WriteOptions(include_header=False, quoting_style="none"))


def naive_rate(path: Path, n_rows: int, n_images: int) -> float:
    """Pairs/s of csv.reader + dict lookups + one dot and sigmoid per pair, on the first `n_rows`."""
    import csv
    import math

    import numpy as np

    rng = np.random.default_rng(0)
    v = rng.normal(size=(n_images, DIM)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    lookup = {f"{i}.jpg": i for i in range(n_images)}
    start = time.perf_counter()
    with open(path, newline="") as fh, open(path.with_suffix(".naive.csv"), "w") as out:
        reader = csv.reader(fh)
        next(reader)
        out.write("index,sameArtist\n")
        for i, (index, a, b) in enumerate(reader):
            if i == n_rows:
                break
            s = float(v[lookup[a]] @ v[lookup[b]])
            out.write(f"{index},{1 / (1 + math.exp(-(CALIBRATION['a'] * s + CALIBRATION['b']))):.6f}\n")
    return n_rows / (time.perf_counter() - start)


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    size = SIZES[scale]
    work = Path(tempfile.mkdtemp(prefix="bench-pairs-"))
    try:
        csv_path = work / "submission_info.csv"
        log(f"pairs: generating {size['pairs']:,} pairs over {size['images']:,} images")
        generate(csv_path, size["pairs"], size["images"])
        read = run_python(_READ.format(csv=str(csv_path)))
        scored = run_python(_SCORE.format(images=size["images"], dim=DIM, csv=str(csv_path), out=str(work / "out.csv"),
                                          calibration=CALIBRATION, threshold=0.5))
        naive = naive_rate(csv_path, size["naive"], size["images"])
        rows = _rows(size, scored, read, naive, csv_path.stat().st_size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"scale": scale, "dim": DIM, "rows": rows}
    path = save_result(NAME, result, results_dir=results_dir)
    log(table(rows))
    log(f"saved {path}")
    return result


def _rows(size: dict, scored: dict, read: dict, naive: float, csv_bytes: int) -> list[dict]:
    rate = scored["pairs"] / scored["seconds"]
    peak_mib = max(0, scored["peak_kib"] - scored["peak_before_kib"]) / 1024
    all_pairs_mib = size["pairs"] * 24 / 2**20
    return [
        {"measure": "scoring pairs/s (write_pair_scores)", "value": round(rate), "reference": "reading the CSV alone, rows/s",
         "reference_value": round(read["rows"] / read["seconds"]), "ratio": round(rate / (read["rows"] / read["seconds"]), 3)},
        {"measure": "scoring pairs/s", "value": round(rate), "reference": f"naive csv + dict + dot loop (first {size['naive']:,} rows)",
         "reference_value": round(naive), "ratio": round(rate / naive, 2)},
        {"measure": "peak memory above start, MiB", "value": round(peak_mib, 1), "reference": "CSV file size, MiB",
         "reference_value": round(csv_bytes / 2**20, 1), "ratio": round(peak_mib / (csv_bytes / 2**20), 4)},
        {"measure": "peak memory above start, MiB", "value": round(peak_mib, 1), "reference": "all pairs held in memory (24 B/pair), MiB",
         "reference_value": round(all_pairs_mib, 1), "ratio": round(peak_mib / all_pairs_mib, 4)},
        {"measure": "pairs written / scored / prior", "value": scored["pairs"], "reference": "scored", "reference_value": scored["scored"],
         "ratio": round(scored["prior"] / scored["pairs"], 4)},
    ]


if __name__ == "__main__":
    args = cli_args(__doc__.splitlines()[0])
    run(scale=args.scale, results_dir=args.results)
