"""Progress reporting seam: library code reports, the CLI edge renders (rich, on stderr).

Library functions take `progress: Progress | None`; `None` means silent.
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Iterator, Protocol, TypeVar

T = TypeVar("T")


class Task(Protocol):
    def advance(self, n: int = 1) -> None: ...


class Progress(Protocol):
    def task(self, description: str, total: int | None) -> contextlib.AbstractContextManager[Task]: ...


class _NullTask:
    def advance(self, n: int = 1) -> None:
        pass


class NullProgress:
    """Reports nothing; the default for library calls."""

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        yield _NullTask()


def track(items: Iterable[T], progress: Progress | None, description: str, total: int | None = None) -> Iterator[T]:
    """Iterate `items`, advancing one step per item."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with (progress or NullProgress()).task(description, total) as task:
        for item in items:
            yield item
            task.advance(1)
