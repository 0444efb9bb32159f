"""A full disk or a read-only home: a clear error, and never a damaged catalog.

Two kinds of tests: simulated failures (monkeypatched writes raising ENOSPC/EROFS; they run
everywhere) and real ones on a small tmpfs mounted for the test (the kernel's own ENOSPC/EROFS,
as SQLite and FAISS meet them; skipped where mounting is not permitted). chmod 555 cannot make a
home read-only for root, so no test relies on it.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from catalog_audit import audit_home
from cli.app import main
from engine.base.errors import EngineError
from hostile import _save, noise_image
from indexer.config import IndexConfig
from indexer.pipeline import index_folder
from require_kit import missing

CONFIG = IndexConfig(num_workers=0, batch_size=2, commit_every=2, save_every_s=0.0)


@pytest.fixture(autouse=True)
def _fast(fast_models):
    """CheapNet instead of the trunk: only the catalog and index writes matter here."""


def _one_line(info, *words: str) -> str:
    """The EngineError's message: one line that says what happened."""
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words), message
    return message


def _images(folder: Path, start: int, stop: int) -> None:
    for i in range(start, stop):
        _save(folder / f"img{i}.jpg", noise_image((40, 36), seed=i), "JPEG")


def _index(folder, home, model, **kwargs):
    return index_folder(folder, home=home, model=model, config=CONFIG, **kwargs)


def _snapshot(home: Path):
    audit = audit_home(home)
    return audit.integrity, audit.paths, audit.row_ids, audit.index_ids


@pytest.fixture
def indexed_home(tmp_path, tiny_model):
    """A home with 4 paintings indexed, and 6 more waiting in the folder."""
    folder, home = tmp_path / "folder", tmp_path / "home"
    _images(folder, 0, 4)
    _index(folder, home, tiny_model)
    _images(folder, 4, 10)
    return folder, home


def _enospc_on_index_save(monkeypatch):
    import engine.base.atomic as atomic

    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "_fsync_file", full)


def _enospc_on_second_commit(monkeypatch):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from db.store import CatalogStore

    real, calls = CatalogStore.add_paintings, [0]

    def add(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:  # what SQLite raises when a commit hits ENOSPC
            raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CatalogStore, "add_paintings", add)


@pytest.mark.parametrize("failure", [_enospc_on_index_save, _enospc_on_second_commit], ids=["index_save", "catalog_commit"])
def test_disk_full_mid_index_damages_nothing(indexed_home, tiny_model, monkeypatch, failure):
    folder, home = indexed_home
    index_before = (home / "index.faiss").read_bytes()
    failure(monkeypatch)
    with pytest.raises(EngineError) as info:
        _index(folder, home, tiny_model)
    _one_line(info, "no space left", "nothing stored was lost")
    monkeypatch.undo()
    audit = audit_home(home)
    assert audit.integrity == "ok" and audit.index_file == "ok" and not audit.temp_files
    assert {str((folder / f"img{i}.jpg").resolve()) for i in range(4)} <= audit.paths  # nothing stored is lost
    if failure is _enospc_on_index_save:
        assert (home / "index.faiss").read_bytes() == index_before  # the old index file is untouched
    _index(folder, home, tiny_model)  # space is back: the re-run completes
    audit = audit_home(home)
    assert audit.consistent and audit.rows == 10


@pytest.mark.parametrize("failure", [_enospc_on_index_save, _enospc_on_second_commit], ids=["index_save", "catalog_commit"])
def test_disk_full_is_a_clear_error(indexed_home, tiny_model, monkeypatch, capsys, failure):
    folder, home = indexed_home
    failure(monkeypatch)
    code = main(["index", str(folder), "--home", str(home), "--model", str(tiny_model), "--commit-every", "2"])
    err = capsys.readouterr().err
    assert code == 1 and "internal error" not in err and "space" in err.lower(), err


def test_read_only_home_is_a_clear_error_simulated(indexed_home, tiny_model, monkeypatch):
    import engine.base.lock as lock  # IndexLock is an engine.base.lock.ExclusiveLock

    folder, home = indexed_home
    before = _snapshot(home)
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(lock.os, "open", read_only)
    try:
        with pytest.raises(EngineError):
            _index(folder, home, tiny_model)
    finally:
        monkeypatch.undo()
        assert _snapshot(home) == before


# -- real file systems (tmpfs) ------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path):
    """A 3 MB tmpfs mounted for this test (root with CAP_SYS_ADMIN only)."""
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                       check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        missing(f"cannot mount a tmpfs here ({exc}); the simulated tests above cover this case (run as root, as CI does)")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=10)


def _fill(mount_point: Path, leave: int) -> Path:
    st = os.statvfs(mount_point)
    filler = mount_point / "filler"
    filler.write_bytes(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return filler


def test_real_disk_full_mid_index(small_fs, tmp_path, tiny_model):
    folder, home = tmp_path / "folder", small_fs / "home"
    _images(folder, 0, 4)
    _index(folder, home, tiny_model)
    _images(folder, 4, 10)
    filler = _fill(small_fs, leave=24 * 1024)
    with pytest.raises(EngineError) as info:
        _index(folder, home, tiny_model)
    _one_line(info, str(home))  # SQLite may meet the full disk first as "disk I/O error" while opening the catalog
    audit = audit_home(home)
    assert audit.integrity == "ok" and audit.index_file == "ok"
    assert {str((folder / f"img{i}.jpg").resolve()) for i in range(4)} <= audit.paths
    filler.unlink()
    _index(folder, home, tiny_model)
    audit = audit_home(home)
    assert audit.consistent and audit.rows == 10


def test_real_read_only_home(small_fs, tmp_path, tiny_model):
    """Remounted read-only (root cannot write either): index and query fail cleanly, nothing changes."""
    from indexer.search import query_images

    folder, home = tmp_path / "folder", small_fs / "home"
    _images(folder, 0, 4)
    _index(folder, home, tiny_model)
    before = _snapshot(home)
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True, capture_output=True, timeout=10)
    _images(folder, 4, 6)
    with pytest.raises(EngineError) as info:
        _index(folder, home, tiny_model)
    _one_line(info, "cannot write to", "writable --home")
    # a reader opens a catalog on a read-only file system as immutable (db.readonly): the query is answered
    result = query_images([folder / "img0.jpg"], home=home, model=tiny_model, k=2)
    assert result["results"][0]["in_collection"]["path"] == str((folder / "img0.jpg").resolve())
    assert len(result["results"][0]["matches"]) == 2
    assert _snapshot(home) == before
