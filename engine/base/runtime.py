"""What this process may use: CPU cores (affinity-aware) and torch's intra-op thread count.

torch is imported inside the functions so that importing engine.base stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Callable, Iterator, TypeVar

F = TypeVar("F", bound=Callable)


def cpu_cores() -> int:
    """Cores this process may run on: the affinity mask, not `os.cpu_count()`, which counts the host's
    cores and oversubscribes threads in containers and under taskset."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with `n` torch intra-op threads (None: unchanged), restored afterwards."""
    import torch

    if n is None or n == torch.get_num_threads():
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def restores_torch_threads(fn: F) -> F:
    """Decorator: whatever thread count `fn` sets, the caller's is back when it returns or raises."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import torch

        previous = torch.get_num_threads()
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(previous)

    return wrapper  # type: ignore[return-value]
