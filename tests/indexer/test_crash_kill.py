"""kill -9 at random points of `python -m cli index ...`; the next run must end consistent and complete.

Kill points: one during start-up (a random delay), then several right after the child has committed
new rows (plus a random 0-2 commit intervals, measured in the run, so the point in the work does not
depend on the machine's speed), i.e. inside embedding, a catalog transaction, pruning or the index
save; half of the cycles run after the folder changed (adds, changes, moves, deletes + --prune).
Each kill records whether it landed mid-run (the child still working), and most must.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.inference.embedding import embed_paths
from indexer_kit import cached_load_model, catalog_state, gallery, painting, stored_vectors

REPO = Path(__file__).resolve().parents[2]
CYCLE_TIMEOUT_S = 240  # generous: a busy 2-core machine takes tens of seconds just to import torch


def _command(art: Path, home: Path, model: Path) -> list[str]:
    return [sys.executable, "-m", "cli", "index", str(art), "--home", str(home), "--model", str(model),
            "--prune", "--commit-every", "2", "--batch-size", "2", "--workers", "0", "--json"]


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def _sequence(home: Path) -> int:
    """The highest painting id ever handed out (grows with every committed insert)."""
    try:
        with sqlite3.connect(f"file:{home / 'catalog.sqlite'}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'paintings'").fetchone()
            return int(row[0]) if row else 0
    except sqlite3.Error:
        return 0


def _run_and_kill(cmd: list[str], home: Path, rng: random.Random, *, after_progress: bool) -> tuple[str, bool]:
    """Start the indexer and SIGKILL it; returns where it was killed (for the failure message) and whether the
    kill landed mid-run: the child was still running when SIGKILL was sent, died of it (returncode -9), and had
    not printed its final --json report, i.e. its work was not finished."""
    start_seq = _sequence(home)
    report = home.parent / f"report-{time.monotonic_ns()}.json"  # outside the indexed folder
    with report.open("wb") as out:
        child = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=out, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + CYCLE_TIMEOUT_S
        sent = False
        try:
            if not after_progress:
                time.sleep(rng.uniform(0.2, 2.0))
            else:
                target = start_seq + rng.randint(1, 4)
                seen = [(time.monotonic(), start_seq)]  # (when, seq) at each commit seen; two give a commit interval
                while child.poll() is None and (seen[-1][1] < target or len(seen) < 3) and time.monotonic() < deadline:
                    if (seq := _sequence(home)) != seen[-1][1]:
                        seen.append((time.monotonic(), seq))
                    time.sleep(0.01)
                interval = seen[-1][0] - seen[-2][0] if len(seen) >= 3 else 0.0
                time.sleep(rng.uniform(0.0, 2.0) * interval)
            where = f"seq {_sequence(home)} (started at {start_seq})" if child.poll() is None else "after it finished"
            assert time.monotonic() < deadline, "indexer made no progress"
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                sent = True
            child.wait(timeout=30)
    landed = sent and child.returncode == -signal.SIGKILL and report.stat().st_size == 0
    return (where if landed else f"{where}, not mid-run (returncode {child.returncode})"), landed


def _mutate(art: Path) -> None:
    (art / "Ann Red" / "0.jpg").unlink()
    (art / "Ann Red" / "1.jpg").unlink()
    shutil.move(art / "Bob Green" / "0.jpg", art / "Cid Blue" / "from-bob.jpg")
    painting(art / "Cid Blue" / "1.jpg", colour=(5, 5, 5), seed=4242)
    for i in range(4):
        painting(art / "Dee Grey" / f"{i}.png", colour=(120, 120, 120), seed=77 + i, fmt="PNG")


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_is_consistent_and_complete(tmp_path, tiny_model):
    art, home = tmp_path / "art", tmp_path / "home"
    gallery(art, per_artist=10)  # enough work that the kills after progress land before the run ends
    cmd = _command(art, home, tiny_model)
    rng = random.Random(20240601)
    kills = [_run_and_kill(cmd, home, rng, after_progress=False)]
    kills += [_run_and_kill(cmd, home, rng, after_progress=True) for _ in range(2)]
    _mutate(art)
    kills += [_run_and_kill(cmd, home, rng, after_progress=True) for _ in range(2)]
    assert len(kills) == 5
    assert kills[0][1], f"the start-up kill did not land mid-run: {kills}"  # a whole run outlasts its 0.2-2 s
    assert sum(landed for _, landed in kills) >= 3, f"too few kills landed mid-run: {kills}"

    final = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=CYCLE_TIMEOUT_S)
    assert final.returncode == 0, final.stderr

    files = sorted(str(p.resolve()) for p in art.rglob("*") if p.is_file())
    state = catalog_state(home)  # asserts catalog == index: no duplicate, no orphan, no row without vector
    assert sorted(state) == files, f"kills at: {kills}"
    vectors = stored_vectors(home)
    fresh = embed_paths(cached_load_model(tiny_model), files, num_workers=0).vectors
    fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
    np.testing.assert_allclose(np.stack([vectors[p] for p in files]), fresh, atol=1e-4)
    assert len({v[0] for v in state.values()}) == len(files)
