"""A SQLite catalog that cannot be written: say so clearly, and let readers use it anyway when that is safe.

A catalog in WAL mode cannot even be *read* where its `-shm` file cannot be created (a read-only
mount, a folder without write permission): SQLite only says "unable to open database file".
`read_only_reason` tells that case apart, so the error names the read-only catalog and what to do.
On a read-only *file system* nothing can change the file while it stays mounted that way, so a
reader (`engine query`) opens it with SQLite's `immutable=1` (no locks, no -shm, nothing written),
but only when no `-wal` file holds transactions not yet copied into the main file (an immutable
reader ignores the WAL, and would silently see an older catalog). Under mere permissions another
user could still write the file, so immutable is never used there.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from engine.base.errors import EngineError


def on_read_only_fs(path: Path) -> bool:
    """True when `path` (or its nearest existing folder) is on a file system mounted read-only."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return bool(os.statvfs(probe).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def readable_as_immutable(database: Path) -> bool:
    """True when `database` is on a read-only file system and its whole content is in the main file."""
    if not on_read_only_fs(database):
        return False
    wal = database.with_name(database.name + "-wal")
    try:
        return wal.stat().st_size == 0
    except FileNotFoundError:
        return True
    except OSError:
        return False


def read_only_reason(database: Path) -> str | None:
    """Why the SQLite file `database` cannot be written ("read-only file system", ...), else None."""
    if on_read_only_fs(database):
        return "read-only file system"
    folder = database.parent
    if database.exists() and not os.access(database, os.W_OK):
        return "the file is not writable"
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return "its folder is not writable"
    return None


def read_only_error(database: Path, reason: str) -> EngineError:
    return EngineError(
        f"the catalog {database} is read-only ({reason}); pass --home DIR to a writable folder (or --db URL), "
        "or fix its permissions"
    )


def immutable_engine(database: Path) -> Engine:
    """A read-only engine on a catalog that nothing can change (only for a read-only file system)."""
    uri = Path(database).absolute().as_uri() + "?mode=ro&immutable=1"
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=NullPool)
