"""Result and progress rendering at the CLI edge: results to stdout, everything else to stderr."""

from __future__ import annotations

import contextlib
import json
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
