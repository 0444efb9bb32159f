"""A read-only home or catalog: `engine query` still answers when that is safe, and every refusal is
one line saying the catalog is read-only and what to do (never SQLite's "unable to open database file").

The real cases run on a small tmpfs remounted read-only (root cannot write there either; skipped where
mounting is not permitted); the simulated ones run everywhere.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from cli.app import main
from test_out_of_space import _images, _index, _snapshot, small_fs  # noqa: F401  (small_fs: a fixture)

READ_ONLY_HINT = "is read-only (read-only file system); pass --home DIR to a writable folder (or --db URL), or fix its permissions"


def _remount_read_only(mount_point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True, capture_output=True, timeout=10)


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_query_answers_from_a_read_only_home_and_index_says_why_it_cannot(small_fs, tmp_path, tiny_model, capsys):
    folder, home = tmp_path / "folder", small_fs / "home"
    _images(folder, 0, 4)
    _index(folder, home, tiny_model)
    assert not (home / "catalog.sqlite-shm").exists()  # a clean indexer leaves no -shm behind to read with
    _remount_read_only(small_fs)
    before = _snapshot(home)
    code, out, err = _cli(capsys, "query", folder / "img0.jpg", "-k", "2", "--home", home, "--model", tiny_model, "--json")
    assert code == 0, err
    assert '"matches"' in out and "img0.jpg" in out
    _images(folder, 4, 6)
    code, out, err = _cli(capsys, "index", folder, "--home", home, "--model", tiny_model)
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert "Read-only file system" in err and "--home" in err
    assert _snapshot(home) == before


def test_index_into_a_read_only_catalog_names_it(small_fs, tmp_path, tiny_model, capsys):
    """--db on a read-only mount, home writable: SQLite's "unable to open database file" is replaced."""
    folder, home, catalog = tmp_path / "folder", tmp_path / "home", small_fs / "catalog.sqlite"
    _images(folder, 0, 4)
    _index(folder, home, tiny_model, db=f"sqlite:///{catalog}")
    _remount_read_only(small_fs)
    code, _, err = _cli(capsys, "index", folder, "--home", home, "--db", f"sqlite:///{catalog}", "--model", tiny_model)
    assert code == 1 and err.count("\n") == 1, err
    assert f"the catalog {catalog} {READ_ONLY_HINT}" in err
    assert "unable to open" not in err


@pytest.mark.parametrize("drop_shm", [False, True], ids=["with_shm", "without_shm"])
def test_read_only_catalog_with_pending_wal_is_never_read_stale(small_fs, tmp_path, tiny_model, capsys, drop_shm):
    """Changes still in catalog.sqlite-wal (an indexer killed, then the disk made read-only): an immutable
    reader would ignore them, so the query must either see them or refuse with the read-only message."""
    folder, source = tmp_path / "folder", tmp_path / "home"
    _images(folder, 0, 4)
    _index(folder, source, tiny_model)
    con = sqlite3.connect(source / "catalog.sqlite")
    con.execute("PRAGMA wal_autocheckpoint = 0")
    con.execute("UPDATE paintings SET path = 'changed-' || id")
    con.commit()
    shutil.copytree(source, small_fs / "home")  # copied while the WAL is still uncheckpointed
    con.close()
    home = small_fs / "home"
    assert (home / "catalog.sqlite-wal").stat().st_size > 0
    if drop_shm:
        (home / "catalog.sqlite-shm").unlink()
    _remount_read_only(small_fs)
    code, out, err = _cli(capsys, "query", folder / "img0.jpg", "-k", "2", "--home", home, "--model", tiny_model, "--json")
    if code == 0:  # SQLite read the WAL through the -shm file copied along: the changes must be seen
        paths = [m["path"] for m in json.loads(out)["results"][0]["matches"]]
        assert paths and all(p.startswith("changed-") for p in paths), paths
    else:
        assert code == 1 and err.count("\n") == 1 and READ_ONLY_HINT in err, err
