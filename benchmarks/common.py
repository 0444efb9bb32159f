"""Shared helpers for the benchmarks: timing, machine facts, tables, JSON results, peak memory.

Every benchmark reports a figure *beside a reference measured in the same run*, because the
machine is shared and noisy: the ratio is the result, the absolute numbers are context.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
ARTDATA = REPO.parent / "shared" / "artdata"
SCALES = ("toy", "quick", "full")

if str(REPO) not in sys.path:  # so `python benchmarks/x.py` imports engine/ and indexer/
    sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class Timing:
    """Seconds per call over `repeats` timed calls (after warm-up): median, best and all."""

    median: float
    best: float
    runs: tuple[float, ...]

    def rate(self, items: int) -> float:
        """Items per second from the median run."""
        return items / self.median if self.median > 0 else float("inf")


def measure(fn: Callable[[], Any], *, repeats: int = 3, warmup: int = 1) -> Timing:
    """Time `fn()` `repeats` times after `warmup` untimed calls (perf_counter, wall clock)."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return Timing(statistics.median(runs), min(runs), tuple(runs))


def interleaved(fns: dict[str, Callable[[], Any]], *, repeats: int = 3, warmup: int = 1) -> dict[str, Timing]:
    """Time several variants round-robin (A B A B ...) so background load hits them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            runs[name].append(time.perf_counter() - start)
    return {n: Timing(statistics.median(r), min(r), tuple(r)) for n, r in runs.items()}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on; load average shows how busy the shared machine was."""
    import torch

    from engine.base.runtime import cpu_cores

    usable = cpu_cores()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),  # the host's, for the record; the runs use usable_cores
        "usable_cores": usable,
        "torch_threads": torch.get_num_threads(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "memory_gib": round(_mem_total_kib() / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {d: _version(d) for d in ("torch", "torchvision", "timm", "faiss-cpu", "numpy", "pillow")},
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _mem_total_kib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_status_kib(field: str = "VmHWM") -> int:
    """A `/proc/self/status` field in KiB (VmHWM = peak resident set, VmRSS = current)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def run_python(code: str, *, env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run `code` in a fresh interpreter (repo on sys.path); it must print one JSON object last."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO
    )
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return "-" if value is None else str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A GitHub-markdown table (also readable in a terminal)."""
    if not rows:
        return "(no rows)\n"
    columns = list(columns or rows[0].keys())
    cells = [[fmt(row.get(c)) for c in columns] for row in rows]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(lines) + "\n"


def save_result(name: str, result: dict[str, Any], *, results_dir: Path | None = None) -> Path:
    """Write `results_dir/<name>.json` (atomically) with the machine facts added."""
    from engine.base.atomic import atomic_write_json

    results_dir = Path(results_dir or RESULTS_DIR)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    atomic_write_json(path, {"benchmark": name, "machine": machine_info(), **result})
    return path


def cli_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """`--scale toy|quick|full` (or `--quick`) and `--results DIR`, shared by every script."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--quick", action="store_true", help="same as --scale quick")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder for <name>.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.scale = "quick"
    return args


def run_script(run: Callable[..., Any], doc: str, argv: Sequence[str] | None = None) -> Any:
    """A benchmark script's `main`: parse `cli_args` (described by the docstring's first line) and call its `run`."""
    args = cli_args(doc.splitlines()[0], argv)
    return run(scale=args.scale, results_dir=args.results)


def artdata_images(limit: int | None = None) -> list[Path]:
    """The first `limit` real paintings (sorted by name, so every run uses the same subset)."""
    folder = ARTDATA / "train"
    if not folder.is_dir():
        return []
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    return paths[:limit] if limit else paths


def log(message: str) -> None:
    """Progress to stderr (results go to stdout as the table)."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()
