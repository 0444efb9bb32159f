"""Result and progress rendering at the CLI edge: results to stdout, everything else to stderr."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any, Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True)


def emit(result: Any, *, as_json: bool, render: Callable[[Console, Any], None]) -> None:
    """Print `result` as one JSON document (`--json`) or with `render` for people."""
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
        sys.stdout.flush()
    else:
        render(stdout, result)


class RichProgress:
    """`engine.base.progress.Progress` drawn with rich on stderr; silent when stderr is not a terminal."""

    def __init__(self, *, enabled: bool | None = None) -> None:
        self.enabled = stderr.is_terminal if enabled is None else enabled

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Any]:
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, console=stderr, disable=not self.enabled, transient=False) as bar:
            task_id = bar.add_task(description, total=total, rate="")
            yield _RichTask(bar, task_id)


class _RichTask:
    def __init__(self, bar: Progress, task_id: Any) -> None:
        self.bar = bar
        self.task_id = task_id

    def advance(self, n: int = 1) -> None:
        self.bar.advance(self.task_id, n)
        speed = self.bar.tasks[self.task_id].speed if self.task_id < len(self.bar.tasks) else None
        if speed:
            self.bar.update(self.task_id, rate=f"{speed:.1f}/s")


def shorten_path(path: str, width: int) -> str:
    """`path` in at most `width` characters, keeping what a person reads: the file name and its folder.

    The middle is dropped: '/work/shared/artdata/train/Rembrandt_12.jpg' at 32 -> '/work/…/train/Rembrandt_12.jpg';
    a file name longer than `width` keeps its end ('…' + the last width-1 characters).
    """
    if len(path) <= width:
        return path
    folder, sep, name = path.replace("\\", "/").rpartition("/")
    if not sep or len(name) + 2 > width:
        return name if len(name) <= width else "…" + name[len(name) - width + 1:]
    parent, _, last = folder.rpartition("/")
    tail = f"{last}/{name}" if parent and len(last) + len(name) + 3 <= width else name
    room = width - len(tail) - 2  # the "…/" between head and tail
    return f"{folder[:room]}…/{tail}" if room > 0 else f"…/{tail}"[-width:]


def path_column_width(console: Console, other_columns: int) -> int:
    """Characters left for a path column in a table whose other columns take `other_columns`
    (borders and padding included), at least 24."""
    return max(24, console.width - other_columns)


def under_common_folder(paths: list[str]) -> tuple[str | None, list[str]]:
    """(the folder all `paths` share, each path relative to it); (None, paths) when they share only
    the root or there are fewer than two."""
    if len(paths) < 2:
        return None, list(paths)
    try:
        common = os.path.commonpath(paths)
    except ValueError:  # relative and absolute mixed, or different drives
        return None, list(paths)
    if common in ("", os.sep) or common in paths:
        return None, list(paths)
    return common, [os.path.relpath(p, common) for p in paths]
