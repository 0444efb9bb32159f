"""The processes of a local Ray cluster this process started, and making sure none outlives it.

`ray.shutdown()` stops the local GCS and raylet, which signal their workers; on a loaded machine a worker
(an actor that just finished, or a pre-started idle worker still importing torch) can take longer than
the caller waits to go, or miss the signal while it registers, and is left running after `engine index`
returned. So the session notes its own Ray processes (descendants of this process whose command line is
Ray's) before shutting down, then waits for them and kills the ones still there. Linux (/proc) only;
elsewhere nothing is noted and Ray's own shutdown is all there is.
"""

from __future__ import annotations

import os
import signal
import time

RAY_MARKERS = ("raylet", "gcs_server", "ray::", "default_worker.py", "log_monitor.py", "dashboard", "runtime_env", "monitor.py")


def _cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().replace(b"\0", b" ").decode(errors="replace")


def _stat(pid: int) -> tuple[int, int, str]:
    """(parent pid, start time in clock ticks, state letter) from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[19]), fields[0]


def local_ray_processes() -> dict[int, int]:
    """{pid: start time} of the Ray processes descended from this one ({} without /proc)."""
    if not os.path.isdir("/proc"):
        return {}
    me, parents, starts = os.getpid(), {}, {}
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            parents[pid], starts[pid], _ = _stat(pid)
        except (OSError, ValueError, IndexError):
            continue
    found = {}
    for pid in parents:
        ancestor, hops = parents.get(pid, 0), 0
        while ancestor not in (0, 1, me) and hops < 64:
            ancestor, hops = parents.get(ancestor, 0), hops + 1
        if ancestor == me:
            try:
                if any(marker in _cmdline(pid) for marker in RAY_MARKERS):
                    found[pid] = starts[pid]
            except OSError:
                continue
    return found


def _same_process(pid: int, start: int) -> bool:
    """`pid` is still the process noted, running (not exited, a zombie, or a new one that reused its number)."""
    try:
        _, started, state = _stat(pid)
    except (OSError, ValueError, IndexError):
        return False
    return started == start and state not in ("Z", "X")


def reap(noted: dict[int, int], *, grace_s: float = 30.0) -> list[int]:
    """Wait up to `grace_s` for the noted processes to exit, then SIGKILL the ones left -> their pids."""
    deadline = time.monotonic() + grace_s
    left = [pid for pid, start in noted.items() if _same_process(pid, start)]
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [pid for pid in left if _same_process(pid, noted[pid])]
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left
