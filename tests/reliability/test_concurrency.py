"""Concurrent use of one catalog (SQLite or PostgreSQL: `catalog_url`): readers during an index run, two indexers at
once from two homes; and of one home: a second indexer, the lock after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog_audit import audit_home
from engine.base.errors import EngineError
from engine.base.home import Home
from hostile import _save, noise_image
from indexer.config import IndexConfig
from indexer.lock import IndexLock
from indexer.pipeline import index_folder

ROOT = Path(__file__).resolve().parents[2]
LOCK_MESSAGE = "another `engine index` is running"

# An index run that commits every 2 images and rewrites the index file after every commit:
# the most interleaving a reader can meet.
WRITER = """
import sys
from indexer.config import IndexConfig
from indexer.pipeline import index_folder
index_folder(sys.argv[1], home=sys.argv[2], model=sys.argv[3], db=sys.argv[4],
             config=IndexConfig(batch_size=2, commit_every=2, save_every_s=0.0, num_workers=0))
"""


def _folder(root: Path, n: int, seed: int) -> list[Path]:
    return [_save(root / f"img {seed + i}.jpg", noise_image((40, 36), seed=seed + i), "JPEG") for i in range(n)]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def cached_query(fast_models):
    """Readers embed with CheapNet (the writer subprocess runs the real network)."""
    import indexer.search

    return indexer.search.query_images


@pytest.mark.slow
def test_queries_during_an_index_run_all_succeed(tmp_path, tiny_model, cached_query, catalog_url):
    home, first, more = tmp_path / "home", tmp_path / "first", tmp_path / "more"
    queries = _folder(first, 4, seed=0)[:1]
    index_folder(first, home=home, db=catalog_url, model=tiny_model, config=IndexConfig(num_workers=0))
    _folder(more, 10, seed=100)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(more), str(home), str(tiny_model), catalog_url],
                              cwd=ROOT, env=_env(), stderr=subprocess.PIPE, text=True)
    seen_totals, failures = [], []
    try:
        while writer.poll() is None:
            try:
                result = cached_query(queries, home=home, db=catalog_url, model=tiny_model, k=3)
            except Exception as exc:  # any failure of a reader is the bug we look for
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            seen_totals.append(audit_home(home, db_url=catalog_url).rows)
            time.sleep(0.05)  # leave the cores to the writer
            for r in result["results"]:
                assert len(r["matches"]) == 3
                assert all(Path(m["path"]).is_file() for m in r["matches"])
    finally:
        _, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err[-2000:]
    assert not failures, failures[:3]
    assert any(4 < total < 14 for total in seen_totals), f"no reader saw the catalog mid-run: {seen_totals}"
    audit = audit_home(home, db_url=catalog_url)
    assert audit.consistent and audit.rows == 14


def test_second_indexer_is_refused_with_a_clear_message(tmp_path, tiny_model, capsys):
    from cli.app import main

    home = tmp_path / "home"
    _folder(tmp_path / "folder", 2, seed=0)
    with IndexLock(Home.resolve(home).ensure().lock_path):
        code = main(["index", str(tmp_path / "folder"), "--home", str(home), "--model", str(tiny_model)])
        err = capsys.readouterr().err
    assert code == 1
    assert LOCK_MESSAGE in err and str(os.getpid()) in err
    assert audit_home(home).rows == 0


@pytest.mark.slow
def test_two_indexers_at_once_never_interleave(tmp_path, tiny_model, catalog_url):
    """Two `engine index` processes, from two homes, on one catalog: each either finishes or is refused (the lock
    lives with the catalog); the catalog ends consistent with the home that wrote last."""
    homes = [tmp_path / "home-a", tmp_path / "home-b"]
    folders = [tmp_path / "a", tmp_path / "b"]
    for i, folder in enumerate(folders):
        _folder(folder, 6, seed=100 * i)
    procs = [
        subprocess.Popen([sys.executable, "-m", "cli", "index", str(f), "--home", str(home), "--db", catalog_url,
                          "--model", str(tiny_model), "--commit-every", "2", "--batch-size", "2", "--json"],
                         cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for f, home in zip(folders, homes)
    ]
    outcomes = [p.communicate(timeout=300) for p in procs]
    indexed, finished = set(), []
    for proc, folder, home, (out, err) in zip(procs, folders, homes, outcomes):
        assert "Traceback" not in err
        if proc.returncode == 0:
            assert json.loads(out)["added"] == 6
            indexed |= {str(p.resolve()) for p in folder.glob("*.jpg")}
            finished.append((json.loads(out)["total"], home))
        else:
            assert proc.returncode == 1 and LOCK_MESSAGE in err, err
    assert indexed, "neither indexer finished"
    last_home = max(finished)[1]  # the run that saw the larger catalog wrote last
    audit = audit_home(last_home, db_url=catalog_url)
    assert audit.consistent and audit.paths == indexed


def test_lock_is_free_once_the_indexer_is_killed_even_if_its_workers_linger(tmp_path):
    lock_path = tmp_path / "index.lock"
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the indexer: takes the lock, forks a "DataLoader worker", works
        try:
            with IndexLock(lock_path):
                if os.fork() == 0:
                    time.sleep(5)  # a worker notices its dead parent only after a while
                    os._exit(0)
                os.write(ready_w, b"x")
                time.sleep(60)
        finally:
            os._exit(0)
    os.read(ready_r, 1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    try:
        with IndexLock(lock_path):
            pass
    except EngineError as exc:
        pytest.fail(f"killed indexer still blocks the home: {exc}")
