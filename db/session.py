"""Database engine creation for the catalog.

SQLite (the default, `HOME/catalog.sqlite`) is opened in WAL mode so readers (`engine query`) never
block the writer, with a busy timeout instead of instant "database is locked" errors, foreign keys
enforced, and `synchronous=FULL` so a committed batch survives a power cut before the FAISS index
that refers to it is written ("the catalog is committed before the index is swapped").
Any other SQLAlchemy URL (`--db`) is used as given; on a database server (PostgreSQL) the pool pings a
connection before reusing it (a restarted server is reconnected to between transactions), a first
connection gives up after CONNECT_TIMEOUT_S, and every connection failure becomes one line naming the
URL without its password (db.server_errors).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import sessionmaker

from db.readonly import read_only_error, read_only_reason
from db.server_errors import connect_error, display_url, lost_connection
from engine.base.errors import EngineError

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10


def make_engine(url: str) -> Engine:
    """Create the SQLAlchemy engine for `url`; EngineError on a malformed URL or unreachable database."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise EngineError(f"invalid database URL {url!r}; pass --db with a SQLAlchemy URL like sqlite:///path.sqlite") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    try:
        engine = create_engine(url, pool_pre_ping=True, connect_args=_server_connect_args(parsed))
    except (NoSuchModuleError, ImportError) as exc:
        hint = "pip install 'artwork-engine[postgres]'" if parsed.get_backend_name() == "postgresql" else "install it"
        raise EngineError(f"no database driver for {parsed.drivername!r} ({exc}); {hint}, or use a sqlite:/// URL") from None
    _raise_one_line_errors(engine)
    return engine


def _server_connect_args(parsed) -> dict:
    if parsed.get_backend_name() != "postgresql" or "connect_timeout" in parsed.query:
        return {}
    return {"connect_timeout": CONNECT_TIMEOUT_S}


def _raise_one_line_errors(engine: Engine) -> None:
    """Connection failures of a server database become EngineError (a first connect, or a lost server mid-run)."""
    connected = [False]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:
        connected[0] = True

    @event.listens_for(engine, "handle_error")
    def _on_error(context) -> None:
        if context.is_pre_ping:  # a stale pooled connection: the pool reconnects (or fails below)
            return
        if context.is_disconnect or (connected[0] and context.connection is None):
            raise lost_connection(engine.url, context.original_exception)
        if context.connection is None and isinstance(context.sqlalchemy_exception, OperationalError):
            raise connect_error(engine.url, context.original_exception)


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineError(f"cannot create the catalog folder {folder}: {exc.strerror}; pass --db or --home") from None
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = FULL")
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:  # read-only folder or network file system: keep the default journal
            logger.debug("WAL mode unavailable: %s", exc)
    finally:
        cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def check_reachable(engine: Engine) -> None:
    """EngineError with the database's own message when it cannot be opened (naming a read-only catalog as such)."""
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        database = sqlite_file(engine.url.render_as_string(hide_password=False))
        why = read_only_reason(database) if database is not None else None
        if why is not None:
            raise read_only_error(database, why) from None
        if database is None and engine.url.get_backend_name() != "sqlite":
            raise connect_error(engine.url, exc) from None
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise EngineError(f"cannot open the catalog {display_url(engine.url)}: {reason}; check --db / --home") from None


def sqlite_file(url: str) -> Path | None:
    """The file of a `sqlite:///PATH` URL; None for other databases, memory and `file:` URIs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()
