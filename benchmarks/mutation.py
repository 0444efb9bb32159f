"""Mutation testing of the modules whose numbers users and the README rely on (issue 29), with mutmut.

    .venv/bin/pip install mutmut && .venv/bin/python benchmarks/mutation.py            # every module
    .venv/bin/python benchmarks/mutation.py --only engine/calibrate/platt.py            # one (repeatable)
    .venv/bin/python benchmarks/run.py --only mutation                                  # the same, as a benchmark

Each module is mutated alone and run against its own test files only (MODULES), in a throw-away copy
of the committed tree (`git archive HEAD`), so a mutant is "killed" only by the tests written for it.
Writes benchmarks/results/mutation.json: per module killed / total, the survivors (name and changed
lines; `mutmut show NAME` in a copy kept with --keep prints one in full), those of them that are
equivalent mutants (benchmarks/mutation_equivalent.py: a reason each; they change no observable
behaviour, so no test can kill them) and the score killed / (total - equivalent). A listed mutant that
the tests kill, or that no longer exists, is reported as a stale entry. Too slow for CI (1-3 minutes a
module on 2 cores); run it before changing these modules. BENCHMARKS.md "Mutation testing" is made from the file.
"""

from __future__ import annotations

import argparse
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

from benchmarks.mutation_equivalent import EQUIVALENT  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "mutation.json"

# module -> the test files written for it (the only ones that may kill its mutants)
MODULES: dict[str, tuple[str, ...]] = {
    "engine/calibrate/platt.py": ("tests/engine/calibrate/test_platt.py",),
    "engine/calibrate/held_out.py": ("tests/engine/calibrate/test_held_out.py",),
    "engine/calibrate/attribution.py": ("tests/engine/calibrate/test_attribution_calibration.py",),
    "engine/calibrate/fit.py": ("tests/engine/calibrate", "tests/engine/evaluate/test_model_scores.py"),
    "engine/metrics/verification.py": ("tests/engine/metrics/test_verification.py",),
    "engine/metrics/pair_sampling.py": ("tests/engine/metrics/test_verification.py",),
    "engine/metrics/calibration_error.py": ("tests/engine/metrics/test_calibration_error.py",),
    "engine/metrics/retrieval.py": ("tests/engine/metrics/test_retrieval.py",),
    "engine/metrics/attribution.py": ("tests/engine/metrics/test_attribution.py",),
    "engine/metrics/triplets.py": ("tests/engine/metrics/test_triplets.py",),
    "engine/metrics/bootstrap.py": ("tests/engine/metrics/test_bootstrap.py",),
    "benchmarks/crossval/harness.py": ("tests/benchmarks/crossval/test_harness.py",),
    "indexer/consistency.py": ("tests/indexer/test_consistency.py",),
    "indexer/search.py": ("tests/indexer/test_query_probability.py", "tests/indexer/test_query_search.py"),
    "engine/inference/verify.py": ("tests/engine/inference/test_verify.py",),
}


def mutate(module: str, tests: tuple[str, ...], *, keep: Path | None, python: str) -> dict:
    """Run mutmut on `module` against `tests` in a fresh copy of HEAD -> its result row."""
    work = Path(tempfile.mkdtemp(prefix="mutation-"))
    try:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
        package = module.split("/")[0]
        (work / "setup.cfg").write_text(
            "[mutmut]\n"
            f"source_paths={package}\n"
            f"only_mutate={module}\n"
            "tests_dir=" + "\n    ".join(tests) + "\n"
            "also_copy=tests\n    pyproject.toml\n    engine\n    indexer\n    db\n    cli\n    benchmarks\n"
            "pytest_add_cli_args=-p no:randomly -q -x\n"
        )
        mutmut = str(Path(python).with_name("mutmut"))
        started = time.perf_counter()
        run = subprocess.run([mutmut, "run", "--max-children", "2"], cwd=work, capture_output=True, text=True, env=single_threaded_env())
        seconds = time.perf_counter() - started
        subprocess.run([mutmut, "export-cicd-stats"], cwd=work, capture_output=True, text=True)
        stats_file = work / "mutants" / "mutmut-cicd-stats.json"
        if run.returncode != 0 or not stats_file.is_file():
            return {"module": module, "tests": list(tests), "error": (run.stderr or run.stdout)[-2000:]}
        stats = json.loads(stats_file.read_text())
        listing = subprocess.run([mutmut, "results", "--all", "true"], cwd=work, capture_output=True, text=True).stdout
        status = dict(line.strip().rsplit(": ", 1) for line in listing.splitlines() if ": " in line)
        survivors = sorted(name for name, state in status.items() if state == "survived")
        changes = {name: changed_lines(subprocess.run([mutmut, "show", name], cwd=work, capture_output=True, text=True).stdout)
                   for name in survivors}
        return {"module": module, "tests": list(tests), **score_row(module, stats, status, changes), "seconds": round(seconds, 1)}
    finally:
        if keep is not None:
            shutil.copytree(work, keep / module.replace("/", "__"), dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)


def single_threaded_env() -> dict[str, str]:
    """The environment for mutmut: one OpenMP / MKL thread. mutmut forks a child per mutant from a process that
    has run the tests; once torch has started GNU OpenMP's thread pool there, a forked child that calls torch
    waits forever on the pool's lock and is killed by mutmut's timeout, which counts it as killed: the survivors
    of test files that touch torch (tests/engine/metrics/test_retrieval.py checks against pytorch-metric-learning)
    were reported as timeouts. With one thread there is no pool to inherit."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def changed_lines(diff: str) -> list[str]:
    """The removed and added source lines of a `mutmut show` diff, stripped."""
    return [line[0] + " " + line[1:].strip() for line in diff.splitlines()
            if line[:1] in "+-" and line[:3] not in ("+++", "---") and line[1:].strip()]


def score_row(module: str, stats: dict, status: dict[str, str], changes: dict[str, list[str]],
              equivalent: dict[str, str] = EQUIVALENT) -> dict:
    """One module's counts from mutmut's stats and per-mutant status: killed / total, the survivors that are
    listed as equivalent (with their reasons), the others, and score = killed / (total - equivalent).
    A listed mutant of this module that was killed or no longer exists is returned as `stale_equivalent`."""
    scored = stats["killed"] + stats["survived"] + stats.get("timeout", 0) + stats.get("suspicious", 0)
    killed = stats["killed"] + stats.get("timeout", 0)  # a mutant that hangs the tests is caught by their timeout
    survivors = sorted(name for name, state in status.items() if state == "survived")
    prefix = module.removesuffix(".py").replace("/", ".") + "."
    listed = {name: reason for name, reason in equivalent.items() if name.startswith(prefix)}
    equal = {name: {"reason": listed[name], "change": changes.get(name, [])} for name in survivors if name in listed}
    live = [{"name": name, "change": changes.get(name, [])} for name in survivors if name not in listed]
    stale = sorted(name for name in listed if status.get(name) != "survived")
    denominator = scored - len(equal)
    return {
        "killed": killed, "total": scored, "equivalent": equal, "survivors": live, "stale_equivalent": stale,
        "score": round(killed / denominator, 4) if denominator else None, "no_tests": stats.get("no_tests", 0),
        "timeout": stats.get("timeout", 0),
    }


def rescore(module: str, row: dict, equivalent: dict[str, str] = EQUIVALENT) -> dict:
    """`row` scored again against today's equivalent list, without mutating anything (its survivors and equivalent
    mutants, with their changed lines, are all it needs): for an entry added or removed after the run."""
    if "error" in row or not isinstance(row.get("equivalent"), dict):
        return row
    status = {s["name"]: "survived" for s in row["survivors"]} | {name: "survived" for name in row["equivalent"]}
    changes = {s["name"]: s["change"] for s in row["survivors"]} | {n: e["change"] for n, e in row["equivalent"].items()}
    survived = len(status)
    timeout = row.get("timeout", 0)  # counted in row["killed"]
    stats = {"killed": row["killed"] - timeout, "timeout": timeout, "survived": survived,
             "suspicious": row["total"] - row["killed"] - survived}
    return {**row, **score_row(module, stats, status, changes, equivalent), "no_tests": row.get("no_tests", 0)}


def run(*, scale: str = "full", results_dir: Path = RESULTS.parent, only: list[str] | None = None,
        keep: Path | None = None) -> dict:
    """Mutate every module (or `only` these) -> results_dir/mutation.json, earlier modules' rows kept.
    `scale` is accepted for benchmarks/run.py; mutation testing has one size."""
    if shutil.which("mutmut", path=str(Path(sys.executable).parent)) is None:
        raise SystemExit("mutmut is not installed in this environment: .venv/bin/pip install mutmut")
    out = Path(results_dir) / "mutation.json"
    previous = json.loads(out.read_text()) if out.is_file() else {"benchmark": "mutation", "modules": {}}
    for module in only or sorted(MODULES):
        row = mutate(module, MODULES[module], keep=keep, python=sys.executable)
        previous["modules"][module] = row
        shown = "error" if "error" in row else (
            f"{row['killed']}/{row['total']} killed, {len(row['equivalent'])} equivalent, score {row['score']:.0%}"
            + (f"; stale equivalent entries: {row['stale_equivalent']}" if row["stale_equivalent"] else ""))
        print(f"{module}: {shown}", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(previous, indent=2) + "\n")
    return previous


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(MODULES), help="one module (repeatable)")
    parser.add_argument("--keep", type=Path, help="keep each module's mutated copy under this folder (to `mutmut show`)")
    parser.add_argument("--results", type=Path, default=RESULTS.parent, help="folder for mutation.json")
    parser.add_argument("--rescore", action="store_true",
                        help="only score the saved rows again against benchmarks/mutation_equivalent.py (no mutation)")
    args = parser.parse_args(argv)
    if args.rescore:
        out = args.results / "mutation.json"
        result = json.loads(out.read_text())
        result["modules"] = {m: rescore(m, row) for m, row in result["modules"].items()}
        out.write_text(json.dumps(result, indent=2) + "\n")
    else:
        result = run(results_dir=args.results, only=args.only, keep=args.keep)
    if args.results == RESULTS.parent:
        from benchmarks.report import update_markdown

        update_markdown()
    return result


if __name__ == "__main__":
    main()
