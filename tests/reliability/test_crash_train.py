"""Crash safety of `engine train`: SIGKILL mid-run, re-run as the messages say, the model must be whole.

The trials run in `crash_train.py` (one subprocess forking a child per run); see its docstring.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crash_train import EPOCHS, KILL_POINTS

HERE = Path(__file__).resolve().parent
TRIALS = 3
TRAP = 0  # the trial killed between model.pt and last.pt (a random kill may land there too)


def _trapped(trial: dict) -> bool:
    """The known dead end: `--resume` finds no last.pt, a fresh run refuses the existing model.pt."""
    return not trial["completed"] and any("already holds a model" in r for r in trial["reruns"])


@pytest.fixture(scope="module")
def train_report(tmp_path_factory):
    work = tmp_path_factory.mktemp("crash-train")
    cmd = [sys.executable, str(HERE / "crash_train.py"), "--work", str(work / "w"), "--trials", str(TRIALS)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=500, cwd=HERE.parents[1], env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    print(json.dumps({k: v for k, v in report.items() if k != "trials"}))
    return report


def _whole(trial: dict) -> None:
    assert trial["completed"], (trial["reruns"], trial["error"])
    assert trial["model_loads"] and trial["calibrated"], trial["error"]
    assert trial["epochs_in_metrics"] == list(range(EPOCHS + 1))
    assert trial["last_epoch"] == EPOCHS


@pytest.mark.slow
def test_killed_training_resumes_to_a_whole_model(train_report):
    trials = [t for i, t in enumerate(train_report["trials"]) if i != TRAP and not _trapped(t)]
    assert trials
    for trial in trials:
        _whole(trial)
    assert sum(t["killed"] for t in train_report["trials"]) >= TRIALS - 1


@pytest.mark.slow
def test_every_train_kill_point_was_hit(train_report):
    for trial in train_report["trials"][: len(KILL_POINTS)]:
        assert trial["killed"], trial["kill_point"]


@pytest.mark.slow
def test_kill_between_model_and_last_checkpoint_recovers(train_report):
    for trial in train_report["trials"]:
        _whole(trial)
