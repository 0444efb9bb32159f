"""Database engine creation for the catalog.

SQLite (the default, `HOME/catalog.sqlite`) is opened in WAL mode so readers (`engine query`) never
block the writer, with a busy timeout instead of instant "database is locked" errors, foreign keys
enforced, and `synchronous=FULL` so a committed batch survives a power cut before the FAISS index
that refers to it is written ("the catalog is committed before the index is swapped").
Any other SQLAlchemy URL (`--db`) is used as given.
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
from engine.errors import EngineError

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str) -> Engine:
    """Create the SQLAlchemy engine for `url`; EngineError on a malformed URL or unreachable database."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise EngineError(f"invalid database URL {url!r}; pass --db with a SQLAlchemy URL like sqlite:///path.sqlite") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    try:
        return create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise EngineError(f"no database driver for {parsed.drivername!r} ({exc}); install it or use a sqlite:/// URL") from None


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
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise EngineError(f"cannot open the catalog {engine.url!r}: {reason}; check --db / --home") from None


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
