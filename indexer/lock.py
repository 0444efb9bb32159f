"""One indexer per home: an exclusive, non-blocking lock on `HOME/index.lock`.

The lock is a POSIX record lock (`fcntl.lockf`), not `flock`: a `flock` is shared with every
process forked while it is held (DataLoader decoding workers), so after a `kill -9` of the indexer
its orphaned workers would keep the home locked for a while. A POSIX lock belongs to the process
alone and the kernel drops it the moment that process dies, however it dies. Since POSIX locks do
not conflict within one process, a second `IndexLock` on the same file in the same process is
refused by a per-process registry. The pid written inside is only for the error message.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType

from engine.errors import EngineError

_held: set[str] = set()
_held_guard = threading.Lock()


class IndexLock:
    """Context manager holding the home's index lock; EngineError when another holder has it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def __enter__(self) -> "IndexLock":
        key = str(self.path.resolve())
        with _held_guard:
            if key in _held:
                raise _busy(os.getpid())
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise EngineError(f"cannot write to {self.path.parent} ({exc.strerror}); pass a writable --home") from None
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    os.close(fd)
                    raise EngineError(f"cannot lock {self.path}: {exc.strerror}; check the home folder") from None
                holder = _read_pid(fd)
                os.close(fd)
                raise _busy(holder) from None
            _held.add(key)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is None:
            return
        with _held_guard:
            _held.discard(str(self.path.resolve()))
            os.close(self._fd)  # closing releases the POSIX lock
            self._fd = None


def _busy(holder: int | str) -> EngineError:
    return EngineError(f"another `engine index` is running on this home (pid {holder}); wait for it to finish")


def _read_pid(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return text if text.isdigit() else "unknown"
