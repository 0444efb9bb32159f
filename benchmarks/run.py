"""Run the benchmarks and regenerate BENCHMARKS.md from benchmarks/results/*.json.

    python benchmarks/run.py                 # all of them, full size (~15 min on 2 cores)
    python benchmarks/run.py --quick         # smaller sizes
    python benchmarks/run.py --only search   # one (repeatable); --report-only: just rewrite BENCHMARKS.md
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


def run_all(names: list[str], *, scale: str, results_dir: Path) -> dict[str, str]:
    """Run each benchmark; a failing one is reported and the others still run."""
    status = {}
    for name in names:
        start = time.perf_counter()
        log(f"== {name} ({scale}) ==")
        try:
            importlib.import_module(MODULES[name]).run(scale=scale, results_dir=results_dir)
            status[name] = f"ok in {time.perf_counter() - start:.0f} s"
        except Exception as exc:  # keep going: one broken benchmark must not hide the others
            status[name] = f"FAILED: {type(exc).__name__}: {exc}"
        log(f"{name}: {status[name]}")
    return status


def main(argv=None) -> int:
    args = parse(argv)
    names = [n for n in ORDER if not args.only or n in args.only]
    status = {} if args.report_only else run_all(names, scale=args.scale, results_dir=args.results)
    kwargs = {"results_dir": args.results} | ({"path": args.markdown} if args.markdown else {})
    log(f"wrote {update_markdown(**kwargs)}")
    return 1 if any(s.startswith("FAILED") for s in status.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
