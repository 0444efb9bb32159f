"""An exclusive, non-blocking lock on a file: one `engine index` per home, one `engine prepare` per output folder.

The lock is a POSIX record lock (`fcntl.lockf`), not `flock`: a `flock` is shared with every
process forked while it is held (DataLoader decoding workers), so after a `kill -9` of the holder
its orphaned workers would keep the lock for a while. A POSIX lock belongs to the process alone
and the kernel drops it the moment that process dies, however it dies (so a stale lock file never
blocks anything). Since POSIX locks do not conflict within one process, a second lock on the same
file in the same process is refused by a per-process registry. The pid written inside is only for
the error message. The file is never deleted: unlinking it while another process waits on it would
let two holders lock two different files.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType

from engine.base.errors import EngineError

_held: set[str] = set()
_held_guard = threading.Lock()


class ExclusiveLock:
    """Context manager holding the lock on `path`; EngineError when another holder has it.

    `busy`: the one-line message for a held lock, with `{pid}` for the holder's pid;
    `writable_hint`: what to do when the lock file cannot be created (e.g. "pass a writable --home").
    """

    def __init__(self, path: Path, *, busy: str, writable_hint: str) -> None:
        self.path = Path(path)
        self.busy = busy
        self.writable_hint = writable_hint
        self._fd: int | None = None

    def __enter__(self) -> "ExclusiveLock":
        key = str(self.path.resolve())
        with _held_guard:
            if key in _held:
                raise EngineError(self.busy.format(pid=os.getpid()))
            fd = self._open()
            self._lock(fd)
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

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise EngineError(f"cannot write to {self.path.parent} ({exc.strerror}); {self.writable_hint}") from None

    def _lock(self, fd: int) -> None:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise EngineError(f"cannot lock {self.path}: {exc.strerror}; check the folder {self.path.parent}") from None
            raise EngineError(self.busy.format(pid=holder)) from None


def _read_pid(fd: int) -> str:
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return text if text.isdigit() else "unknown"
