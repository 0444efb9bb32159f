"""Independent checks of a home's catalog and index, for tests (reads only; never repairs).

`audit_home` opens the SQLite file directly (integrity_check), or a PostgreSQL catalog with the bare
driver (catalog_kit.read_rows), reads the FAISS file directly and compares both, so a bug in the
indexer's own consistency check cannot hide a damaged home.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Audit:
    integrity: str = "missing"  # SQLite PRAGMA integrity_check ("ok") or "missing"
    rows: int = 0
    paths: set[str] = field(default_factory=set)
    row_ids: set[int] = field(default_factory=set)
    index_file: str = "missing"  # "ok", "missing" or "unreadable: ..."
    index_ids: set[int] = field(default_factory=set)
    index_dim: int | None = None
    bad_vectors: int = 0  # rows whose stored vector is not finite or not unit length
    temp_files: list[str] = field(default_factory=list)  # leftovers of interrupted atomic writes

    @property
    def consistent(self) -> bool:
        """Catalog readable, index readable, same id sets, every stored vector sane."""
        return (
            self.integrity == "ok" and self.index_file == "ok" and self.row_ids == self.index_ids
            and self.bad_vectors == 0
        )


def audit_home(home: Path, *, catalog: str = "catalog.sqlite", index: str = "index.faiss", db_url: str | None = None) -> Audit:
    """`db_url`: a catalog outside the home (e.g. PostgreSQL), read with its bare driver; the home's index is then
    its `index-<catalog uid>.faiss`."""
    audit = Audit()
    db = home / catalog
    if db_url is not None:
        _audit_url(db_url, audit)
        index = next((p.name for p in sorted(home.glob("index-*.faiss"))), index)
    elif db.is_file():
        _audit_catalog(db, audit)
    _audit_index(home / index, audit)
    audit.temp_files = sorted(p.name for p in home.glob(".*.tmp"))
    return audit


def _audit_url(url: str, audit: Audit) -> None:
    from catalog_kit import read_rows

    rows = read_rows(url)  # raises if the database cannot be read
    audit.integrity = "ok"
    for pid, path, blob in rows:
        _add_row(audit, pid, path, blob)
    audit.rows = len(audit.row_ids)


def _audit_catalog(db: Path, audit: Audit) -> None:
    try:
        _read_catalog(db, audit, "mode=ro")
    except sqlite3.OperationalError:
        # A WAL database on a read-only (or full) file system cannot create its -shm file:
        # read the file as immutable instead (no locking, nothing written).
        audit.row_ids.clear()
        audit.paths.clear()
        audit.bad_vectors = 0
        _read_catalog(db, audit, "immutable=1")


def _read_catalog(db: Path, audit: Audit, options: str) -> None:
    con = sqlite3.connect(f"file:{db}?{options}", uri=True, timeout=30)
    try:
        audit.integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "paintings" not in tables:
            return
        for pid, path, blob in con.execute("SELECT id, path, vector FROM paintings"):
            _add_row(audit, pid, path, blob)
        audit.rows = len(audit.row_ids)
    finally:
        con.close()


def _add_row(audit: Audit, pid: int, path: str, blob: bytes | None) -> None:
    audit.row_ids.add(int(pid))
    audit.paths.add(path)
    vec = np.frombuffer(blob, dtype=np.float32) if blob else np.empty(0, np.float32)
    if not vec.size or not np.isfinite(vec).all() or abs(float(np.linalg.norm(vec)) - 1.0) > 1e-3:
        audit.bad_vectors += 1


def _audit_index(path: Path, audit: Audit) -> None:
    if not path.is_file():
        return
    import faiss

    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        audit.index_file = f"unreadable: {str(exc)[:60]}"
        return
    audit.index_file = "ok"
    audit.index_dim = int(index.d)
    if hasattr(index, "id_map"):
        audit.index_ids = set(faiss.vector_to_array(index.id_map).astype(np.int64).tolist())
    else:  # IVF: ids live in the inverted lists
        lists = index.invlists
        for i in range(index.nlist):
            n = lists.list_size(i)
            if n:
                audit.index_ids.update(faiss.rev_swig_ptr(lists.get_ids(i), n).astype(np.int64).tolist())
