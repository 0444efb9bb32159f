"""Catalog writes: rows/s inserting 100k paintings (256-d vectors, labels) on SQLite and on PostgreSQL, same run.

    python benchmarks/bench_catalog_writes.py [--scale toy|quick|full] [--pg-url postgresql+psycopg://USER@HOST:PORT/postgres]

Each database is measured three ways, in transactions of BATCH rows (the indexer's default commit_every):
- `store`: CatalogStore.add_paintings, what `engine index` runs (db.bulk: COPY on PostgreSQL, a multi-row
  INSERT ... RETURNING on SQLite);
- `driver` (the reference): the bare driver's bulk path for the same rows (sqlite3 executemany; psycopg COPY),
  no SQLAlchemy, no artists, no ids returned: what the store costs over it is `ratio_to_driver`;
- `orm_rows`: one ORM object per row, flushed per batch (how add_paintings wrote before batching).
PostgreSQL comes from --pg-url or $ENGINE_TEST_PG_URL (a server's maintenance database); each method writes
into a fresh database created there and dropped after. Without a server only SQLite is measured.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import cli_args, log, save_result, table

NAME = "catalog_writes"
BATCH = 1024
DIM = 256
ROWS = {"toy": 2_000, "quick": 20_000, "full": 100_000}


def paintings(n: int) -> list:
    from db.records import Labels, NewPainting

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [NewPainting(f"/collection/artist {i % 35}/painting {i}.jpg", f"{i:064x}", 100_000 + i, 1_700_000_000 + i,
                        256, 256, Labels(f"Artist {i % 35}", f"Title {i}", "Impressionism", None, str(1850 + i % 60)),
                        vectors[i]) for i in range(n)]


def _store(url: str):
    from db.records import ModelInfo
    from db.store import CatalogStore

    store = CatalogStore(url, exclusive=True)
    store.bind_model(ModelInfo("0" * 64, "bench", DIM), versions={})
    return store


def write_store(url: str, items: list) -> None:
    store = _store(url)
    try:
        for start in range(0, len(items), BATCH):
            store.add_paintings(items[start : start + BATCH])
    finally:
        store.close()


def write_orm_rows(url: str, items: list) -> None:
    from db.models import Painting
    from db.records import vector_to_bytes

    store = _store(url)
    try:
        for start in range(0, len(items), BATCH):
            with store.session() as s, s.begin():
                s.add_all([Painting(path=i.path, sha256=i.sha256, size=i.size, mtime_ns=i.mtime_ns, width=i.width,
                                    height=i.height, title=i.labels.title, style=i.labels.style, date=i.labels.date,
                                    vector=vector_to_bytes(i.vector)) for i in items[start : start + BATCH]])
                s.flush()
    finally:
        store.close()


def _tuples(items: list) -> list[tuple]:
    from db.records import vector_to_bytes

    return [(i.path, i.sha256, i.size, i.mtime_ns, i.width, i.height, i.labels.title, i.labels.style, i.labels.date,
             vector_to_bytes(i.vector)) for i in items]


_COLUMNS = "path, sha256, size, mtime_ns, width, height, title, style, date, vector, added_at, updated_at"


def write_driver(url: str, items: list) -> None:
    """The bare driver, into the tables the store created (so both write the same schema and indexes)."""
    rows = _tuples(items)
    if url.startswith("sqlite"):
        return _sqlite_driver(url.removeprefix("sqlite:///"), rows)
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
        for start in range(0, len(rows), BATCH):
            with conn.transaction(), conn.cursor().copy(f"COPY paintings ({_COLUMNS}) FROM STDIN") as copy:
                for row in rows[start : start + BATCH]:
                    copy.write_row((*row, "now", "now"))


def _sqlite_driver(path: str, rows: list[tuple]) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")  # as db.session sets it
    sql = f"INSERT INTO paintings ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, datetime('now'), datetime('now'))"
    try:
        for start in range(0, len(rows), BATCH):
            with conn:
                conn.executemany(sql, rows[start : start + BATCH])
    finally:
        conn.close()


METHODS = {"driver": write_driver, "store": write_store, "orm_rows": write_orm_rows}


def measure(kind: str, method: str, items: list, workdir: Path, server: str | None) -> dict:
    url = _fresh(kind, workdir, server)
    try:
        _store(url).close()  # tables and model row first, outside the timing
        start = time.perf_counter()
        METHODS[method](url, items)
        seconds = time.perf_counter() - start
        _check_count(url, len(items))
    finally:
        _drop(kind, url)
    return {"database": kind, "method": method, "rows": len(items), "seconds": round(seconds, 2),
            "rows_per_second": round(len(items) / seconds)}


def _fresh(kind: str, workdir: Path, server: str | None) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'{uuid.uuid4().hex}.sqlite'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with create_engine(server, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _drop(kind: str, url: str) -> None:
    if kind == "sqlite":
        for path in Path(url.removeprefix("sqlite:///")).parent.glob("*"):
            path.unlink()
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    with create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))


def _check_count(url: str, expected: int) -> None:
    from db.store import CatalogStore

    store = CatalogStore(url, create=False)
    try:
        assert store.count() == expected, (store.count(), expected)
    finally:
        store.close()


def ratios(rows: list[dict]) -> None:
    """ratio_to_driver per row; and PostgreSQL's store rate over SQLite's (same run)."""
    driver = {r["database"]: r["rows_per_second"] for r in rows if r["method"] == "driver"}
    for r in rows:
        r["ratio_to_driver"] = round(r["rows_per_second"] / driver[r["database"]], 3)


def run(*, scale: str = "full", results_dir: Path | None = None, pg_url: str | None = None) -> dict:
    server = pg_url or os.environ.get("ENGINE_TEST_PG_URL")
    kinds = ["sqlite"] + (["postgresql"] if server else [])
    items = paintings(ROWS[scale])
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        for kind in kinds:
            for method in METHODS:
                log(f"{kind} {method}: {len(items)} rows")
                rows.append(measure(kind, method, items, Path(tmp), server))
    ratios(rows)
    store = {r["database"]: r["rows_per_second"] for r in rows if r["method"] == "store"}
    summary = {"store_rows_per_second": store,
               "postgresql_over_sqlite": round(store["postgresql"] / store["sqlite"], 3) if server else None,
               "postgresql": "measured" if server else "not measured: no server (pass --pg-url or set ENGINE_TEST_PG_URL)"}
    print(table(rows, ["database", "method", "rows", "seconds", "rows_per_second", "ratio_to_driver"]))
    print(summary)
    result = {"scale": scale, "config": {"rows": len(items), "batch": BATCH, "dim": DIM, "artists": 35}, "rows": rows,
              "summary": summary}
    save_result(NAME, result, results_dir=results_dir)
    return result


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--pg-url", default=None)
    known, rest = parser.parse_known_args(argv)
    args = cli_args(__doc__.splitlines()[0], rest)
    run(scale=args.scale, results_dir=args.results, pg_url=known.pg_url)


if __name__ == "__main__":
    main()
