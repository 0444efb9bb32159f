"""Batched catalog writes: one round trip per batch of rows, never one per row, inside the caller's transaction.

- New paintings on PostgreSQL (COPY_MIN_ROWS or more): their ids are drawn from the table's sequence in
  one query, then the rows are streamed with COPY; about 4x a multi-row INSERT for 1 KiB vectors
  (benchmarks/bench_catalog_writes.py measures both).
- Otherwise (SQLite, small batches): one executemany INSERT (on SQLite the driver's own), then the new
  ids looked up by their (unique) paths, CHUNK per query.
- Updates (moves, labels): one executemany UPDATE per batch.
- Artists: the batch's names looked up in one query, the missing ones inserted in one executemany.
"""

from __future__ import annotations

from typing import Iterator, Sequence

from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from db.models import Artist, Painting, utcnow
from db.server_errors import lost_connection

COPY_MIN_ROWS = 8  # below this, COPY's extra round trip (drawing the ids) costs more than it saves
CHUNK = 500  # ids per IN (...) clause; SQLite's variable limit is 32766, other servers differ

PAINTINGS = Painting.__table__
ARTISTS = Artist.__table__
_COPY_COLUMNS = ("id", "path", "sha256", "size", "mtime_ns", "width", "height", "artist_id", "title", "style",
                 "genre", "date", "vector", "added_at", "updated_at")


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_paintings(conn: Connection, rows: Sequence[dict]) -> list[int]:
    """Insert painting rows (column -> value, without id); returns their new ids in row order."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg" and len(rows) >= COPY_MIN_ROWS:
        return _copy_paintings(conn, rows)
    if conn.dialect.name == "sqlite":
        _sqlite_insert(conn, rows)
    else:
        now = utcnow()
        conn.execute(insert(PAINTINGS), [{"added_at": now, "updated_at": now, **row} for row in rows])
    return _ids_by_path(conn, [row["path"] for row in rows])


def _sqlite_insert(conn: Connection, rows: Sequence[dict]) -> None:
    """The driver's own executemany: SQLAlchemy's per-row parameter processing would double the cost.
    Every value is a str/int/bytes/None that sqlite3 stores as is, except the time, formatted once as SQLAlchemy does."""
    to_text = PAINTINGS.c.added_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    stamp = to_text(utcnow()) if to_text else utcnow()
    columns = _COPY_COLUMNS[1:]
    sql = f"INSERT INTO paintings ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    conn.exec_driver_sql(sql, [tuple({**row, "added_at": stamp, "updated_at": stamp}.get(c) for c in columns) for row in rows])


def _ids_by_path(conn: Connection, paths: list[str]) -> list[int]:
    """Ids of just-inserted rows (paths are unique). Where RETURNING cannot keep the rows' order (SQLite),
    SQLAlchemy would send one INSERT per row; one executemany and this lookup are ~2x faster."""
    found: dict[str, int] = {}
    for chunk in chunks(paths):
        found.update((path, pid) for pid, path in conn.execute(select(PAINTINGS.c.id, PAINTINGS.c.path)
                                                                .where(PAINTINGS.c.path.in_(chunk))))
    return [found[path] for path in paths]


def _copy_paintings(conn: Connection, rows: Sequence[dict]) -> list[int]:
    import psycopg

    draw = text("SELECT nextval(pg_get_serial_sequence('paintings', 'id')) FROM generate_series(1, :n)")
    ids = sorted(conn.execute(draw, {"n": len(rows)}).scalars())
    now = utcnow()
    sql = f"COPY paintings ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    dbapi = conn.connection.dbapi_connection
    try:
        with dbapi.cursor() as cursor, cursor.copy(sql) as copy:
            for pid, row in zip(ids, rows):
                values = {**row, "id": pid, "added_at": now, "updated_at": now}
                copy.write_row(tuple(values.get(column) for column in _COPY_COLUMNS))
    except psycopg.Error as exc:
        if dbapi.broken or dbapi.closed:
            raise lost_connection(conn.engine.url, exc) from None
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from None  # e.g. IntegrityError, as an INSERT gives
    return ids


def update_paintings(conn: Connection, changes: Sequence[tuple[int, dict]]) -> None:
    """Set columns of rows by id: [(id, {column: value})], all with the same columns, in one executemany."""
    if not changes:
        return
    columns = list(changes[0][1])
    stmt = (update(PAINTINGS).where(PAINTINGS.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}") for c in columns}))
    conn.execute(stmt, [{"_id": pid, **{f"_{c}": values[c] for c in columns}} for pid, values in changes])


def artist_ids(conn: Connection, names: set[str | None]) -> dict[str, int]:
    """{name: artist id} for the non-empty `names`, inserting the artists not known yet."""
    wanted = sorted(n for n in names if n)
    found = _known_artists(conn, wanted)
    missing = [n for n in wanted if n not in found]
    if missing:
        conn.execute(insert(ARTISTS), [{"name": n} for n in missing])
        found.update(_known_artists(conn, missing))
    return found


def _known_artists(conn: Connection, names: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(names):
        found.update((name, pid) for name, pid in conn.execute(select(ARTISTS.c.name, ARTISTS.c.id).where(ARTISTS.c.name.in_(chunk))))
    return found
