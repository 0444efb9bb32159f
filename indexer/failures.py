"""Storage failures (full disk, read-only home) as one-line actionable errors.

Every write is a transaction or an atomic replace, so such a failure never damages what is
stored; the message says so, and that a re-run resumes.
"""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path
from typing import Iterator

from sqlalchemy.exc import OperationalError

from engine.base.errors import EngineError

_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


@contextlib.contextmanager
def storage_errors(where: Path) -> Iterator[None]:
    """Turn ENOSPC / EROFS / EACCES (from files or SQLite) met while writing under `where` into EngineError."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL:
            raise no_space(where) from None
        if exc.errno in _READ_ONLY:
            raise read_only(where, exc.strerror or "permission denied") from None
        raise
    except OperationalError as exc:
        text = str(exc.orig or exc).lower()
        if "disk is full" in text:
            raise no_space(where) from None
        if "readonly" in text or "read-only" in text:
            raise read_only(where, "read-only database") from None
        raise


def no_space(where: Path) -> EngineError:
    return EngineError(f"no space left on the device of {where}; free some space and re-run: nothing stored was lost and indexing resumes")


def read_only(where: Path, reason: str) -> EngineError:
    return EngineError(f"cannot write to {where} ({reason}); pass a writable --home (or --db)")
