"""Run the benchmarks and regenerate BENCHMARKS.md from benchmarks/results/*.json.

    python benchmarks/run.py                 # all but OPT_IN, full size (~35-50 min on 2 quiet cores)
    python benchmarks/run.py --quick         # smaller sizes
    python benchmarks/run.py --only search   # one (repeatable); --report-only: just rewrite BENCHMARKS.md

The first six took 22 min together on 2 idle cores; the six after them (serve .. ivfpq) are estimated
at 2-5 min each from their sizes (not yet timed together). OPT_IN ones run only when named with --only.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import RESULTS_DIR, SCALES, log
from benchmarks.report import ORDER, update_markdown

MODULES = {
    "indexing": "benchmarks.bench_indexing",
    "decode": "benchmarks.bench_decode",
    "search": "benchmarks.bench_search",
    "latency": "benchmarks.bench_latency",
    "training": "benchmarks.bench_training",
    "memory": "benchmarks.bench_memory",
    "serve": "benchmarks.bench_serve",
    "cold_start": "benchmarks.bench_cold_start",
    "pairs": "benchmarks.bench_pairs",
    "cpu_runtime": "benchmarks.bench_cpu_runtime",
    "catalog_writes": "benchmarks.bench_catalog_writes",
    "ray": "benchmarks.bench_ray",
    "ivfpq": "benchmarks.ivfpq_scale",
    "openset": "benchmarks.openset",
    "mutation": "benchmarks.mutation",
    "planted_bugs": "benchmarks.planted_bugs",
    "serve_soak": "benchmarks.bench_serve_soak",
    "map_layout": "benchmarks.bench_map_layout",
}
# Skipped unless named with --only, and why: each needs something this runner cannot provide.
OPT_IN = {
    "catalog_writes": "needs a PostgreSQL server for half of its rows: set ENGINE_TEST_PG_URL=postgresql+psycopg://USER@HOST:PORT/"
                      "postgres (a maintenance database) and pass --only catalog_writes (without the URL it measures SQLite alone)",
    "openset": "needs a prepared set and is accuracy, not speed: ENGINE_BENCH_PREPARED=DIR (engine prepare ... --out DIR) "
               "with --only openset",
    "map_layout": "needs the shipped model (or bench_map_layout.py --model PATH), the map extra (pip install -e '.[map]') and "
                  "indexes all of artdata first (~15 min): --only map_layout",
    "mutation": "needs mutmut (.venv/bin/pip install mutmut) and is test strength, not speed (~30 min): --only mutation",
    "planted_bugs": "needs the test suite run once per planted bug and is test strength, not speed (~10 min): --only planted_bugs",
}


def parse(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (same as --scale quick)")
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--only", action="append", choices=list(MODULES), help="run only this benchmark (repeatable)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder for <name>.json")
    parser.add_argument("--markdown", type=Path, default=None, help="BENCHMARKS.md to update (default: the repo's)")
    parser.add_argument("--report-only", action="store_true", help="only regenerate BENCHMARKS.md from the JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.scale = "quick"
    return args


def run_all(names: list[str], *, scale: str, results_dir: Path, only: list[str] | None = None) -> dict[str, str]:
    """Run each benchmark (OPT_IN ones only when in `only`); a failing one is reported and the others still run."""
    status = {}
    for name in names:
        if name in OPT_IN and name not in (only or ()):
            status[name] = f"skipped: {OPT_IN[name]}"
            log(f"{name}: {status[name]}")
            continue
        start = time.perf_counter()
        log(f"== {name} ({scale}) ==")
        try:
            importlib.import_module(MODULES[name]).run(scale=scale, results_dir=results_dir)
            status[name] = f"ok in {time.perf_counter() - start:.0f} s"
        except (Exception, SystemExit) as exc:  # keep going: one broken (or unprovided) benchmark must not hide the others
            status[name] = f"FAILED: {type(exc).__name__}: {exc}"
        log(f"{name}: {status[name]}")
    return status


def main(argv=None) -> int:
    args = parse(argv)
    names = [n for n in ORDER if not args.only or n in args.only]
    status = {} if args.report_only else run_all(names, scale=args.scale, results_dir=args.results, only=args.only)
    kwargs = {"results_dir": args.results} | ({"path": args.markdown} if args.markdown else {})
    log(f"wrote {update_markdown(**kwargs)}")
    return 1 if any(s.startswith("FAILED") for s in status.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
