"""The catalog's indexer lock (db.lock), on SQLite and PostgreSQL: one writer, freed at once by kill -9, checked per write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from db.records import Labels, ModelInfo, NewPainting
from db.store import CatalogStore
from engine.base.errors import EngineError

ROOT = Path(__file__).resolve().parents[2]
BUSY = "another `engine index` is running on the catalog"
MODEL = ModelInfo("a" * 64, "efficientnet_lite0", 4, None)

# Holds the lock, forks a lingering "DataLoader worker" (it inherits the lock's connection), reports both pids.
HOLDER = """
import os, sys, time
from db.store import CatalogStore
store = CatalogStore(sys.argv[1], exclusive=True)
worker = os.fork()
if worker == 0:
    time.sleep(60)
    os._exit(0)
print(worker, flush=True)
time.sleep(60)
"""


def _painting(path: str) -> NewPainting:
    return NewPainting(path, "0" * 64, 1, 1, None, None, Labels(), np.full(4, 0.5, np.float32))


def test_a_second_writer_is_refused_and_readers_are_not(catalog_url):
    first = CatalogStore(catalog_url, exclusive=True)
    try:
        with pytest.raises(EngineError, match=BUSY):
            CatalogStore(catalog_url, exclusive=True)
        reader = CatalogStore(catalog_url)  # not exclusive: queries never wait for the indexer
        assert reader.count() == 0
        reader.close()
    finally:
        first.close()
    CatalogStore(catalog_url, exclusive=True).close()  # released by close


def test_a_killed_holder_frees_the_catalog_at_once_even_with_lingering_workers(catalog_url):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, catalog_url], stdout=subprocess.PIPE, text=True, env=env)
    worker = int(holder.stdout.readline())
    try:
        with pytest.raises(EngineError, match=rf"{BUSY} .*pid {holder.pid}"):
            CatalogStore(catalog_url, exclusive=True)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        store = CatalogStore(catalog_url, exclusive=True)  # while the forked worker still lives
        store.bind_model(MODEL, versions={})
        store.close()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        os.kill(worker, signal.SIGKILL)


@pytest.mark.postgres
def test_a_writer_whose_lock_connection_was_cut_stops_before_writing():
    from catalog_kit import create_database, drop_database, pg_server_url
    from sqlalchemy import create_engine, text

    url = create_database(pg_server_url())
    store = CatalogStore(url, exclusive=True)
    try:
        store.bind_model(MODEL, versions={})
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as admin:
            cut = admin.execute(text("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                                     "WHERE application_name LIKE 'engine index pid%' AND datname = current_database()"))
            assert cut.scalars().all() == [True]
        with pytest.raises(EngineError, match="lost the indexer lock on the catalog .*re-run"):
            store.add_paintings([_painting("/p/a.jpg")])
        assert store.count() == 0
    finally:
        store.close()
        drop_database(url)
