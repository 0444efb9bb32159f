"""Planted bugs (issue 29): each plausible bug the issue names, planted alone in a copy of HEAD, must fail a named test.

    .venv/bin/python benchmarks/planted_bugs.py                 # every bug
    .venv/bin/python benchmarks/planted_bugs.py --only platt_targets_raw

Each BUG replaces one exact piece of source (it must occur exactly once, so a refactor that moves the
code makes the script fail loudly rather than plant nothing) and runs the test files written for that
code; the bug is "caught" when at least one test fails, and the failing tests are named. The unchanged
copy must pass the same files first (else a failure would prove nothing). Writes
benchmarks/results/planted_bugs.json. Complements benchmarks/mutation.py: mutants are syntactic, these
are the bugs a person would write.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "planted_bugs.json"


@dataclass(frozen=True)
class Bug:
    name: str
    what: str  # the bug, as the issue describes it
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


BUGS: tuple[Bug, ...] = (
    Bug("cv_threshold_from_test_pairs",
        "the CV fits its threshold and calibration on the test pairs instead of the val pairs (a test-set leak)",
        "benchmarks/crossval/harness.py",
        'cal = calibrate(val_emb, val_pairs, source="inner val", held_out=held_out)',
        'cal = calibrate(test_emb, fold_pairs(test, config, seed), source="inner val", held_out=held_out)',
        ("tests/benchmarks/crossval/test_harness.py",)),
    Bug("cv_ignores_held_out_pairs",
        "the CV ignores the recipe's held-out calibration pairs",
        "benchmarks/crossval/harness.py",
        'source="inner val", held_out=held_out)',
        'source="inner val", held_out=None)',
        ("tests/benchmarks/crossval/test_harness.py",)),
    Bug("cv_ece_inverted_labels",
        "the CV computes ECE against inverted labels",
        "benchmarks/crossval/harness.py",
        '"ece": expected_calibration_error(prob, pairs.same, bins=config.bins)',
        '"ece": expected_calibration_error(prob, ~pairs.same, bins=config.bins)',
        ("tests/benchmarks/crossval/test_harness.py",)),
    Bug("evaluate_ece_inverted_labels",
        "`engine evaluate` computes ECE against inverted labels",
        "engine/evaluate/model_scores.py",
        '"ece": expected_calibration_error(prob, same, bins=bins)',
        '"ece": expected_calibration_error(prob, ~np.asarray(same, dtype=bool), bins=bins)',
        ("tests/engine/evaluate/test_model_scores.py",)),
    Bug("pooled_slope_from_val_alone",
        "the pooled calibration fits its slope on the val pairs alone, dropping the held-out pairs",
        "engine/calibrate/held_out.py",
        "calibration = fit_calibration(scores, same, anchor=threshold, weights=w)",
        "calibration = fit_calibration(val_scores, val_same, anchor=threshold)",
        ("tests/engine/calibrate/test_held_out.py",)),
    Bug("platt_targets_raw",
        "Platt's smoothed targets replaced with raw 0/1",
        "engine/calibrate/platt.py",
        "t = platt_targets(same)",
        "t = same.astype(np.float64)",
        ("tests/engine/calibrate/test_platt.py",)),
    Bug("check_ignores_vector_values",
        "`index --check` never notices a wrong vector under a right id",
        "indexer/consistency.py",
        "if i not in stored or not np.allclose(v, stored[int(i)], atol=ATOL)]",
        "if i not in stored]",
        ("tests/indexer/test_consistency.py",)),
    Bug("probabilities_by_position",
        "artist probabilities attached by position instead of by name",
        "indexer/search.py",
        'rows = [{**r, "probability": round(named.get(r["artist"], 0.0), 6)} for r in ranked]',
        'rows = [{**r, "probability": round(p, 6)} for r, p in zip(ranked, list(named.values()) + [0.0] * len(ranked))]',
        ("tests/indexer/test_query_probability.py",)),
)


def _copy() -> Path:
    work = Path(tempfile.mkdtemp(prefix="planted-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    return work


def _pytest(work: Path, tests: tuple[str, ...]) -> tuple[int, list[str]]:
    """(exit code, the failing tests' node ids) of `tests` run in `work`, in file order."""
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:randomly", "-p", "no:cacheprovider", *tests],
                         cwd=work, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(work)})
    failed = sorted({m.group(1) for m in re.finditer(r"^(?:FAILED|ERROR) (\S+)", run.stdout, re.MULTILINE)})
    return run.returncode, failed


def plant(bug: Bug) -> dict:
    """Run bug.tests on a clean copy (must pass), then with the bug planted (must fail) -> its row."""
    work = _copy()
    try:
        code, failed = _pytest(work, bug.tests)
        if code != 0:
            return {"bug": bug.name, "what": bug.what, "error": f"the unchanged code fails its tests: {failed}"}
        source = work / bug.file
        text = source.read_text()
        if text.count(bug.old) != 1:
            return {"bug": bug.name, "what": bug.what, "error": f"{bug.file} holds the planted line {text.count(bug.old)} times, not once"}
        source.write_text(text.replace(bug.old, bug.new))
        code, failed = _pytest(work, bug.tests)
        return {"bug": bug.name, "what": bug.what, "file": bug.file, "tests": list(bug.tests),
                "caught": code != 0 and bool(failed), "failing_tests": failed}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(*, scale: str = "full", results_dir: Path = RESULTS.parent, only: list[str] | None = None) -> dict:
    """Plant every bug (or `only` these) -> results_dir/planted_bugs.json, earlier rows kept.
    `scale` is accepted for benchmarks/run.py; there is one size."""
    out = Path(results_dir) / "planted_bugs.json"
    previous = json.loads(out.read_text()) if out.is_file() else {"benchmark": "planted_bugs", "bugs": {}}
    for bug in BUGS:
        if only and bug.name not in only:
            continue
        row = plant(bug)
        previous["bugs"][bug.name] = row
        shown = row.get("error") or ("caught by " + ", ".join(row["failing_tests"]) if row["caught"] else "NOT CAUGHT")
        print(f"{bug.name}: {shown}", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(previous, indent=2) + "\n")
    missed = [n for n, r in previous["bugs"].items() if not r.get("caught")]
    if missed:
        print(f"not caught: {missed}", file=sys.stderr)
    return previous


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=[b.name for b in BUGS], help="one bug (repeatable)")
    args = parser.parse_args(argv)
    result = run(only=args.only)
    from benchmarks.report import update_markdown

    update_markdown()
    return result


if __name__ == "__main__":
    main()
