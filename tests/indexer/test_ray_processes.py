"""indexer.ray_processes: a local Ray cluster's processes are noted by ancestry and command line, and none outlives it."""

from __future__ import annotations

import subprocess
import sys
import time

from indexer.ray_processes import local_ray_processes, reap

SLEEP = "import sys, time; time.sleep(float(sys.argv[1]))"


def _spawn(seconds: float, *marker: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SLEEP, str(seconds), *marker])


def test_only_our_ray_processes_are_noted_and_the_lingering_one_is_killed():
    lingering = _spawn(60, "ray::MapWorker")  # a worker that would outlive shutdown
    quick = _spawn(0.3, "raylet")  # exits by itself within the grace period
    other = _spawn(60)  # ours, but not Ray's: never touched
    try:
        time.sleep(0.2)
        noted = local_ray_processes()
        assert lingering.pid in noted and quick.pid in noted and other.pid not in noted
        started = time.monotonic()
        killed = reap({pid: noted[pid] for pid in (lingering.pid, quick.pid)}, grace_s=1.5)
        assert killed == [lingering.pid] and time.monotonic() - started >= 1.5
        assert lingering.wait(timeout=10) == -9 and quick.wait(timeout=10) == 0
        assert other.poll() is None  # still running
    finally:
        for proc in (lingering, quick, other):
            proc.kill()
            proc.wait()


def test_a_reused_pid_is_not_killed():
    proc = _spawn(60, "ray::IDLE")
    try:
        time.sleep(0.2)
        start = local_ray_processes()[proc.pid]
        assert reap({proc.pid: start + 1}, grace_s=0.1) == []  # another start time: not the process noted
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
