"""Run a function in a forked child; SIGKILL it after a delay (or at a chosen call), or wait for its JSON result.

Forking from a process that has already imported torch/faiss/sqlalchemy (but run no torch op)
skips the 3-4 s interpreter + torch start-up of a fresh `python -m cli`, so a crash test can afford
dozens of kills. The child leaves with os._exit, so it never runs the parent's atexit/pytest code.
"""

from __future__ import annotations

import json
import os
import signal
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass
class ChildOutcome:
    status: str  # "ok", "error" (raised), "killed" (by us), "timeout", "crashed" (died otherwise)
    result: Any = None
    error: str = ""
    seconds: float = 0.0
    pid: int = 0  # also the child's process group id


def start(fn: Callable[[], Any], result_file: Path) -> int:
    """Fork; the child runs fn() in its own process group and writes {"ok"|"error": ...} to result_file."""
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        os.setpgid(0, 0)
        payload = {"ok": fn()}
    except BaseException as exc:  # the child must report, never unwind into the parent's code
        payload = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        code = 1
    try:
        tmp = result_file.with_suffix(".part")
        tmp.write_text(json.dumps(payload, default=str))
        os.replace(tmp, result_file)
    finally:
        os._exit(code)


def run_to_end(fn: Callable[[], Any], result_file: Path, *, timeout_s: float) -> ChildOutcome:
    started = time.monotonic()
    pid = start(fn, result_file)
    status = _wait(pid, timeout_s)
    seconds = time.monotonic() - started
    reap_group(pid)
    if status == "timeout":
        return ChildOutcome("timeout", seconds=seconds)
    return _read(result_file, status, seconds)


def run_and_kill(fn: Callable[[], Any], result_file: Path, *, delay_s: float) -> ChildOutcome:
    """SIGKILL the child (its main process only, like `kill -9 PID`) after delay_s unless it ended."""
    started = time.monotonic()
    pid = start(fn, result_file)
    status = _wait(pid, delay_s)
    if status == "timeout":
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return ChildOutcome("killed", seconds=time.monotonic() - started, pid=pid)
    outcome = _read(result_file, status, time.monotonic() - started)
    outcome.pid = pid
    return outcome


def reap_group(pgid: int) -> None:
    """Kill what is left of a child's process group (e.g. orphaned DataLoader workers)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(pid: int, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "exited" if os.WIFEXITED(status) else "crashed"
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(0.005)


def _read(result_file: Path, status: str, seconds: float) -> ChildOutcome:
    if not result_file.is_file():
        return ChildOutcome("crashed", error=f"child {status} without a result", seconds=seconds)
    payload = json.loads(result_file.read_text())
    result_file.unlink()
    if "ok" in payload:
        return ChildOutcome("ok", payload["ok"], seconds=seconds)
    return ChildOutcome("error", error=payload["error"] + "\n" + payload.get("traceback", ""), seconds=seconds)


def arm_kill_point(target: str, attribute: str, nth: int, when: str) -> None:
    """Wrap `module[:object].attribute` so its nth call SIGKILLs this process (before or after it runs)."""
    import importlib

    module_name, _, object_name = target.partition(":")
    owner = importlib.import_module(module_name)
    if object_name:
        owner = getattr(owner, object_name)
    original, calls = getattr(owner, attribute), [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == nth and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if calls[0] == nth and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, attribute, wrapper)
