"""Benchmark 4: query latency, p50 and p95, cold and warm, on an index of real paintings.

Cold: a new `engine query IMAGE --json` process, timed until it exits with its answer.
  Reference: the floor any such process pays, a new interpreter that only imports torch.
Warm: `indexer.search.query_images([IMAGE])` in a live process (after one untimed first call,
  which loads the model and the index; that first call is reported on its own).
  Reference: decoding + the model's forward pass on that one image (`embed_image`), same process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_indexing import subset_folder, toy_images
from benchmarks.common import REPO, artdata_images, log, percentile, run_script, save_result, table
from benchmarks.models import current_or_new_model

NAME = "latency"
SIZES = {
    "toy": {"indexed": 4, "queries": 2, "cold": 1, "warm": 2},
    "quick": {"indexed": 256, "queries": 20, "cold": 5, "warm": 20},
    "full": {"indexed": 1024, "queries": 40, "cold": 10, "warm": 40},
}


def engine_command() -> list[str]:
    script = Path(sys.executable).with_name("engine")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cli"]


def timed_process(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    """(seconds from start until the process exits, its stdout)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return seconds, proc.stdout


def cold_latencies(home: Path, queries: list[Path], runs: int, k: int) -> tuple[list[float], list[float], dict]:
    """(engine query seconds, `import torch` interpreter seconds, last answer), alternating runs."""
    env = {**os.environ, "ENGINE_HOME": str(home), "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-c", "import torch"]
    argv = lambda image: engine_command() + ["query", str(image), "-k", str(k), "--json", "--home", str(home)]  # noqa: E731
    query, floor, answer = [], [], ""
    for i in range(runs):
        seconds, answer = timed_process(argv(queries[i % len(queries)]), env)
        query.append(seconds)
        floor.append(timed_process(base, env)[0])
    return query, floor, json.loads(answer)


def warm_latencies(home: Path, model: Path, queries: list[Path], runs: int, k: int) -> tuple[list[float], list[float], float]:
    """(query_images seconds, embed_image seconds, first-call seconds) in this process."""
    from engine.model.checkpoint import load_model
    from engine.inference.embedding import embed_image
    from indexer.search import query_images

    start = time.perf_counter()
    query_images([str(queries[0])], home=home, k=k)
    first = time.perf_counter() - start
    lm = load_model(model, device="cpu")
    embed_image(lm, queries[0])
    warm, forward = [], []
    for i in range(runs):
        image = queries[i % len(queries)]
        start = time.perf_counter()
        query_images([str(image)], home=home, k=k)
        warm.append(time.perf_counter() - start)
        start = time.perf_counter()
        embed_image(lm, image)
        forward.append(time.perf_counter() - start)
    return warm, forward, first


def build_home(work: Path, size: dict) -> tuple[Path, Path, str, list[Path]]:
    """A home with an index of the first `indexed` paintings; queries are paintings not indexed."""
    from indexer.pipeline import index_folder

    home = work / "home"
    model, origin = current_or_new_model(home)
    source = artdata_images(size["indexed"] + size["queries"])
    if len(source) == size["indexed"] + size["queries"]:
        folder = subset_folder(source[: size["indexed"]], work / "images")
        queries = source[size["indexed"]:]
    else:
        folder = work / "images"
        toy_images(folder, size["indexed"])
        queries = toy_images(work / "queries", size["queries"])
    log(f"latency: indexing {size['indexed']} images into {home}")
    index_folder(folder, home=home, model=model)
    return home, model, origin, queries


def summary(name: str, values: list[float], reference: str, ref_values: list[float]) -> dict:
    p50, p95 = percentile(values, 50), percentile(values, 95)
    r50 = percentile(ref_values, 50)
    return {"case": name, "runs": len(values), "p50_ms": 1000 * p50, "p95_ms": 1000 * p95,
            "reference": reference, "reference_p50_ms": 1000 * r50, "p50_over_reference": p50 / r50}


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    size = SIZES[scale]
    work = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    try:
        home, model, origin, queries = build_home(work, size)
        log("latency: warm (library call)")
        k = min(10, size["indexed"])
        warm, forward, first = warm_latencies(home, model, queries, size["warm"], k)
        log("latency: cold (new engine process)")
        cold, floor, answer = cold_latencies(home, queries, size["cold"], k)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [summary("warm: query_images in a live process", warm, "embed_image (decode + forward)", forward),
            summary("cold: new `engine query` process", cold, "python -c 'import torch'", floor)]
    result = {"scale": scale, "config": size, "model": origin, "first_call_in_process_ms": 1000 * first,
              "rows": rows, "answer_keys": sorted(answer), "raw_s": {"warm": warm, "forward": forward,
              "cold": cold, "import_torch": floor}}
    print(table(rows))
    print(f"first query_images call in a process (loads model + index): {1000 * first:.0f} ms")
    save_result(NAME, result, results_dir=results_dir)
    return result


def main(argv=None) -> None:
    run_script(run, __doc__, argv)


if __name__ == "__main__":
    main()
