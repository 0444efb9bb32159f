"""A home's own FAISS file of a catalog that several homes share (one PostgreSQL catalog, many machines).

Only the home that indexes keeps its file current as it writes. Any other home finds its file missing
(first use) or stale (the catalog changed since), and `consistency.open_index` rebuilds or reconciles
it in memory from the vectors the catalog holds; `keep_home_copy` then saves that result as the
home's file, so the next reader starts from it. It never waits: when an indexer holds the home, or
the home cannot be written (a read-only mount), the repaired index is only used in memory.
"""

from __future__ import annotations

import logging
from pathlib import Path

from db.records import ModelInfo
from db.store import CatalogStore
from engine.base.errors import EngineError
from engine.base.home import Home
from indexer.config import IndexConfig
from indexer.consistency import Repair
from indexer.lock import IndexLock
from indexer.vector_index import VectorIndex
from indexer.writer import IndexWriter

logger = logging.getLogger(__name__)


def keep_home_copy(store: CatalogStore, index: VectorIndex, repair: Repair, path: Path, *, home: Home,
                   model: ModelInfo, config: IndexConfig) -> bool:
    """Save `index` (just reconciled with the catalog) at `path` when the file was missing or stale; True if saved."""
    if not repair.changed and path.is_file():
        return False
    try:
        with IndexLock(home.ensure().lock_path):
            IndexWriter(store, index, path, model=model, config=config).save()
    except (EngineError, OSError) as exc:  # an indexer holds the home, or it is read-only: keep it in memory
        logger.info("index %s repaired in memory only: %s", path, exc)
        return False
    logger.info("index %s saved: %d vectors from the catalog (%s)", path, index.ntotal, repair.to_dict())
    return True
