"""From `pip install` to the first answer, with the shipped model and no training: the package's size, the
install time against installing torch + torchvision alone (the reference, in the same run), then `engine index`
of real paintings into a fresh home and the first `engine query`.

    .venv/bin/python benchmarks/bench_first_answer.py              # 500 artdata paintings
    .venv/bin/python benchmarks/bench_first_answer.py --scale quick

Each install goes into a new venv from the same pip cache (as a second install on a machine would); the
engine is installed from its wheel, as `pip install artwork-engine[cpu]` would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_indexing import subset_folder
from benchmarks.common import ARTDATA, REPO, artdata_images, cli_args, log, save_result, table

NAME = "first_answer"
SIZES = {"toy": 16, "quick": 100, "full": 500}
REFERENCE_PACKAGES = ("torch==2.14.1", "torchvision==0.29.1")


def timed(argv: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[:4]))} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return seconds, proc


def build_wheel(out: Path) -> Path:
    timed([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)])
    return next(out.glob("*.whl"))


def venv_install(venv: Path, requirements: list[str]) -> float:
    """Seconds to make `venv` and pip install `requirements` into it."""
    start = time.perf_counter()
    timed([sys.executable, "-m", "venv", str(venv)])
    timed([str(venv / "bin" / "pip"), "install", "-q", *requirements])
    return time.perf_counter() - start


def first_answer(venv: Path, work: Path, n: int) -> dict:
    """Index `n` real paintings into a fresh home with no --model, then query one painting outside them."""
    paintings = artdata_images(n + 1)
    folder = subset_folder(paintings[:n], work / "scans")
    engine, home = str(venv / "bin" / "engine"), work / "home"
    index_s, _ = timed([engine, "--home", str(home), "index", str(folder), "--labels", str(ARTDATA / "train_info.csv"), "--json"])
    query_s, proc = timed([engine, "--home", str(home), "query", str(paintings[n]), "-k", "5", "--json"])
    answer = json.loads(proc.stdout)
    return {"index_s": round(index_s, 1), "query_s": round(query_s, 1), "paintings": n,
            "model_used": answer.get("model_used") if isinstance(answer, dict) else None}


def run(*, scale: str = "full", results_dir: Path | None = None) -> dict:
    n = SIZES[scale]
    work = Path(tempfile.mkdtemp(prefix="bench-first-answer-"))
    try:
        wheel = build_wheel(work / "wheel")
        wheel_bytes = wheel.stat().st_size
        log(f"wheel {wheel.name}: {wheel_bytes / 1e6:.1f} MB")
        reference_s = venv_install(work / "reference", list(REFERENCE_PACKAGES))
        log(f"reference install (torch + torchvision): {reference_s:.0f} s")
        install_s = venv_install(work / "venv", [f"{wheel}[cpu]"])
        log(f"engine install: {install_s:.0f} s")
        answer = first_answer(work / "venv", work, n)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    from engine.model.shipped import SHIPPED_MODEL

    total = install_s + answer["index_s"] + answer["query_s"]
    result = {
        "scale": scale, "wheel_bytes": wheel_bytes,
        "shipped_model_bytes": SHIPPED_MODEL.stat().st_size,
        "reference_install_s": round(reference_s, 1), "install_s": round(install_s, 1),
        "install_ratio_to_reference": round(install_s / reference_s, 2),
        **answer, "install_to_first_answer_s": round(total, 1),
        "install_to_first_answer_ratio_to_reference": round(total / reference_s, 2),
    }
    path = save_result(NAME, result, results_dir=results_dir)
    log(table([{k: v for k, v in result.items() if k != "model_used"}]))
    log(f"saved {path}")
    return result


if __name__ == "__main__":
    args = cli_args(__doc__.splitlines()[0])
    run(scale=args.scale, results_dir=args.results)
