"""Cold start: a new `engine` process per command, against a bare `python -c "import torch"`.

Each command runs in a fresh interpreter, timed until it exits with its answer; the runs alternate
with the reference (A R B R ...) so background load hits them alike. Reported: the median over the
runs of each, and its ratio to the reference median (goal: query and verify <= 1.5x; --help and
--version < 1 s and without importing torch). `-X importtime` of each command says which heavy
modules it imports (timm, torchvision, torch._dynamo, scipy, sklearn, pandas, matplotlib).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_indexing import subset_folder, toy_images
from benchmarks.bench_latency import engine_command, timed_process
from benchmarks.common import REPO, artdata_images, cli_args, log, save_result, table
from benchmarks.models import make_model

NAME = "cold_start"
SIZES = {"toy": {"indexed": 4, "runs": 1}, "quick": {"indexed": 64, "runs": 3}, "full": {"indexed": 256, "runs": 3}}
HEAVY = ("timm", "torchvision", "torch._dynamo", "scipy", "sklearn", "pandas", "matplotlib", "torch")
GOAL = {"query": 1.5, "verify": 1.5}


def build_home(work: Path, indexed: int) -> tuple[Path, Path, list[Path]]:
    """A home indexed with a calibrated efficientnet_lite0 model given by --model (not the home's own)."""
    from engine.model.checkpoint import update_calibration
    from indexer.pipeline import index_folder

    model = make_model("efficientnet_lite0", work / "model")
    update_calibration(model, threshold=0.6, calibration={"method": "platt", "a": 10.0, "b": -6.0})
    source = artdata_images(indexed + 2)
    if len(source) == indexed + 2:
        folder, queries = subset_folder(source[:indexed], work / "images"), source[indexed:]
    else:
        folder, queries = work / "images", toy_images(work / "queries", 2)
        toy_images(folder, indexed)
    home = work / "home"
    index_folder(folder, home=home, model=model)
    return home, model, queries


def commands(home: Path, model: Path, queries: list[Path]) -> dict[str, list[str]]:
    engine = engine_command()
    return {
        "import torch (reference)": [sys.executable, "-c", "import torch"],
        "--help": engine + ["--help"],
        "--version": engine + ["--version"],
        "query": engine + ["--home", str(home), "query", str(queries[0]), "-k", "4", "--json"],
        "verify": engine + ["verify", str(queries[0]), str(queries[1]), "--model", str(model), "--json"],
    }


def heavy_imports(argv: list[str], env: dict[str, str]) -> list[str]:
    """Which of HEAVY the command imports (python -X importtime)."""
    python = [sys.executable, "-X", "importtime"] + ([] if argv[0] == sys.executable else ["-m", "cli"])
    proc = subprocess.run(python + argv[1:], capture_output=True, text=True, env=env, cwd=REPO)
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return [m for m in HEAVY if m in names]


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    size = SIZES[scale]
    work = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    try:
        home, model, queries = build_home(work, size["indexed"])
        env = {**os.environ, "PYTHONPATH": str(REPO), "ENGINE_HOME": str(home)}
        argvs = commands(home, model, queries)
        times: dict[str, list[float]] = {name: [] for name in argvs}
        for _ in range(size["runs"]):
            for name, argv in argvs.items():
                times[name].append(timed_process(argv, env)[0])
        reference = statistics.median(times["import torch (reference)"])
        rows = [_row(name, times[name], reference, heavy_imports(argv, env)) for name, argv in argvs.items()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"scale": scale, "runs": size["runs"], "indexed": size["indexed"], "reference_s": reference, "rows": rows}
    path = save_result(NAME, result, results_dir=results_dir)
    log(table(rows))
    log(f"saved {path}")
    return result


def _row(name: str, seconds: list[float], reference: float, heavy: list[str]) -> dict:
    median = statistics.median(seconds)
    goal = GOAL.get(name)
    return {
        "command": name, "median_s": round(median, 3), "runs_s": [round(s, 3) for s in seconds],
        "ratio_to_import_torch": round(median / reference, 3), "goal": goal,
        "met": None if goal is None else median / reference <= goal,
        "imports": ", ".join(heavy) or "-",
    }


if __name__ == "__main__":
    args = cli_args(__doc__.splitlines()[0])
    run(scale=args.scale, results_dir=args.results)
