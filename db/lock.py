"""One indexer per catalog: a lock that lives with the database, so homes on several machines sharing one
catalog keep their indexers apart (a home's own `index.lock` only guards that home's folder).

- PostgreSQL: a session-level advisory lock held by a dedicated connection for the whole run. The
  server drops it the moment that connection ends, however the client dies (kill -9, a lost network),
  so a crashed indexer never blocks the next one. A forked child (a DataLoader worker) gets /dev/null
  in place of the inherited socket, so a killed indexer's lingering workers keep neither the
  connection nor the lock alive (why engine.base.lock uses POSIX locks, not flock). Every write
  transaction first checks that this connection still holds the lock (`guard`): after a server
  restart or a cut connection the run stops with one line instead of writing unlocked.
- SQLite: an exclusive POSIX lock on `<catalog file>.lock`, the file every home using that catalog sees.
- Other databases, and SQLite in memory: only the home's lock.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from db.server_errors import display_url
from engine.base.errors import EngineError
from engine.base.lock import ExclusiveLock

_KEY = {"a": 0x41525445, "b": 1}  # ("ARTE", 1): the indexer of this database (advisory keys are per database)
_WAIT_S = 1.0  # a killed holder's backend notices its closed socket within milliseconds: retry this long
_LOCKED_BY = """
    SELECT a.pid, a.backend_start, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.classid::bigint = :a AND l.objid::bigint = :b AND l.objsubid = 2
      AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
_held_sockets: set[int] = set()


def busy_message(where: str, holder: str) -> str:
    return f"another `engine index` is running on the catalog {where} ({holder}); wait for it to finish"


class CatalogLock:
    """The indexer lock of the catalog behind `engine`; EngineError (`busy_message`) when another holder has it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.where = display_url(engine.url)
        self._file: ExclusiveLock | None = None
        self._conn: Connection | None = None
        self._holder: tuple | None = None  # (backend pid, backend start) of the connection holding the lock
        self._fd: int | None = None  # its socket

    def acquire(self) -> "CatalogLock":
        backend = self.engine.url.get_backend_name()
        if backend == "postgresql":
            self._acquire_advisory()
        elif backend == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            busy = busy_message(self.where.replace("{", "{{").replace("}", "}}"), "pid {pid}")  # a str.format template
            lock_file = Path(f"{Path(self.engine.url.database).expanduser()}.lock")
            self._file = ExclusiveLock(lock_file, busy=busy, writable_hint="pass --db to a catalog in a writable folder")
            self._file.__enter__()
        return self

    def guard(self, connection: Connection) -> None:
        """Inside a write transaction on `connection`: EngineError unless this lock is still held."""
        if self._holder is None:
            return
        rows = connection.execute(text(_LOCKED_BY), _KEY).all()
        if not any((pid, start) == self._holder for pid, start, _ in rows):
            raise EngineError(
                f"lost the indexer lock on the catalog {self.where} (its connection to the server ended: a server "
                "restart or a network failure); nothing committed is lost: re-run the same command"
            )

    def release(self) -> None:
        if self._file is not None:
            self._file.__exit__(None, None, None)
            self._file = None
        if self._conn is not None:
            _held_sockets.discard(self._fd)
            self._conn.close()  # detached from the pool: really closed, so the server drops the lock
            self._conn, self._holder, self._fd = None, None, None

    def _acquire_advisory(self) -> None:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        conn.detach()
        try:
            conn.execute(text("SELECT set_config('application_name', :name, false)"),
                         {"name": f"engine index pid {os.getpid()} on {socket.gethostname()}"[:63]})
            deadline = time.monotonic() + _WAIT_S
            while not conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), _KEY).scalar():
                if time.monotonic() >= deadline:
                    raise EngineError(busy_message(self.where, _holder_name(conn)))
                time.sleep(0.05)
            self._holder = tuple(conn.execute(text(
                "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")).one())
        except BaseException:
            conn.close()
            raise
        self._conn, self._fd = conn, conn.connection.dbapi_connection.pgconn.socket
        _held_sockets.add(self._fd)


def _holder_name(conn: Connection) -> str:
    rows = conn.execute(text(_LOCKED_BY), _KEY).all()
    if not rows:
        return "a holder that just left; retry"
    pid, _, name = rows[0]
    return name or f"server pid {pid}"


def _drop_inherited_sockets() -> None:
    """In a forked child: the lock's socket becomes /dev/null, so only the parent keeps the connection open."""
    if not _held_sockets:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in _held_sockets:
        os.dup2(devnull, fd)
    os.close(devnull)
    _held_sockets.clear()


os.register_at_fork(after_in_child=_drop_inherited_sockets)
