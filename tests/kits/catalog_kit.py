"""The catalog under test, SQLite or PostgreSQL (the `catalog_url` fixture of tests/conftest.py).

PostgreSQL comes from $ENGINE_TEST_PG_URL, the URL of a server's maintenance database (what .ci/run
starts and exports); every test gets a database of its own, created there and dropped afterwards.
Without the variable the PostgreSQL half is skipped, saying how to start a server, except where
$ENGINE_TEST_REQUIRE_SERVICES=1 (CI): there a missing or unreachable server fails the test.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

PG_ENV = "ENGINE_TEST_PG_URL"
REQUIRE_ENV = "ENGINE_TEST_REQUIRE_SERVICES"  # read by require_kit.required
KINDS = ("sqlite", "postgresql")
START_HINT = (
    f"no PostgreSQL server for the tests: set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:PORT/postgres "
    "(`.ci/run` starts one and sets it; the README's PostgreSQL section starts one in one line)"
)


def pg_server_url() -> str:
    """$ENGINE_TEST_PG_URL; skips the test without it (fails it in CI: require_kit.missing)."""
    from require_kit import missing

    url = os.environ.get(PG_ENV)
    if not url:
        missing(START_HINT)
    return url


def _admin(server_url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def create_database(server_url: str) -> str:
    """A new, empty database on the server of `server_url`; returns its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"engine_test_{uuid.uuid4().hex[:12]}"
    try:
        with _admin(server_url).connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a server that is configured but down is a failure, never a skip
        pytest.fail(f"cannot create a test database on {PG_ENV}={server_url}: {type(exc).__name__}: {exc}")
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with _admin(parsed.set(database="postgres").render_as_string(hide_password=False)).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))


@contextlib.contextmanager
def fresh_catalog(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty catalog: a SQLite file in tmp_path, or a new PostgreSQL database (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog-db' / 'catalog.sqlite'}"
        return
    url = create_database(pg_server_url())
    try:
        yield url
    finally:
        drop_database(url)


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def _dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy URL (for the bare psycopg driver)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def read_rows(url: str) -> list[tuple[int, str, bytes]]:
    """(id, path, vector bytes) of every painting, read with the bare driver (sqlite3 / psycopg), not the store."""
    if is_postgres(url):
        import psycopg

        with psycopg.connect(_dsn(url)) as conn:
            exists = conn.execute("SELECT to_regclass('paintings')").fetchone()[0]
            return [(i, p, bytes(v)) for i, p, v in conn.execute("SELECT id, path, vector FROM paintings")] if exists else []
    import sqlite3

    path = url.removeprefix("sqlite:///")
    if not Path(path).is_file():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return list(conn.execute("SELECT id, path, vector FROM paintings")) if "paintings" in tables else []


def highest_id(url: str) -> int:
    """The highest committed painting id (grows with every committed insert); 0 before the first."""
    try:
        if is_postgres(url):
            import psycopg

            with psycopg.connect(_dsn(url), connect_timeout=2) as conn:  # committed rows only (a sequence is not transactional)
                return int(conn.execute("SELECT coalesce(max(id), 0) FROM paintings").fetchone()[0])
        import sqlite3

        path = url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)) as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'paintings'").fetchone()
            return int(row[0]) if row else 0
    except Exception:  # not created yet (or busy): nothing committed that we can see
        return 0


def postgres_summary(stats: dict) -> str:
    """One line counting the tests marked `postgres` by outcome (a failure in any phase counts as failed)."""
    outcome_of: dict[str, str] = {}
    for outcome in ("failed", "error", "skipped", "passed"):
        for report in stats.get(outcome, []):
            if "postgres" in getattr(report, "keywords", {}):
                outcome_of.setdefault(report.nodeid, "failed" if outcome == "error" else outcome)
    counts = {o: sum(1 for v in outcome_of.values() if v == o) for o in ("passed", "failed", "skipped")}
    where = os.environ.get(PG_ENV) or "no server"
    return f"PostgreSQL tests ({where}): {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
