"""`ServerState`: the model, catalog and index, loaded once and reloaded when the catalog changes.

Generation = (catalog row count, identity of the index file: inode, mtime, size). `engine index`
commits rows to the catalog batch by batch and atomically replaces the index file at checkpoints
and at the end, so any added or removed painting changes the generation; the next request then
reloads (`open_search` reconciles the index file with the catalog in memory, so rows committed
since the last checkpoint are searchable at once). Labels and moves are read from the catalog on
every request and need no reload. Requests in flight keep the snapshot they started with: a
reload swaps one reference, it never changes a snapshot in place.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from db.store import CatalogStore
from engine.base.home import Home
from engine.calibrate.attribution import AttributionCalibration, resolve_calibration
from engine.model.checkpoint import LoadedModel
from indexer.artefacts import index_file
from indexer.search import open_search
from indexer.vector_index import VectorIndex

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """One consistent view: the model (and its attribution calibration), the index reconciled with the catalog."""

    lm: LoadedModel
    index: VectorIndex
    generation: tuple
    catalog_uid: str
    attribution: AttributionCalibration | None = None


class ServerState:
    """Holds the open catalog and the current `Snapshot`; thread-safe."""

    def __init__(self, *, home: str | os.PathLike[str] | None = None, db: str | None = None,
                 model: str | os.PathLike[str] | None = None) -> None:
        self.home = Home.resolve(home, db=db)
        self.db = db
        self.model = model
        self.store = CatalogStore(self.home.catalog_url, create=False)
        self._lock = threading.Lock()
        self._folder: tuple[tuple, Path | None] | None = None  # (generation, indexed folder), made on first use
        try:
            self._snapshot = self._load()
        except BaseException:
            self.store.close()
            raise

    def current(self) -> Snapshot:
        """The snapshot for the catalog as it is now (reloaded first when its generation changed)."""
        snapshot = self._snapshot
        if self._generation(snapshot.catalog_uid) == snapshot.generation:
            return snapshot
        with self._lock:  # one reload at a time; the others then find it done
            if self._generation(self._snapshot.catalog_uid) != self._snapshot.generation:
                self._snapshot = self._load()
            return self._snapshot

    def indexed_folder(self) -> Path | None:
        """The deepest folder holding every indexed file (paths are shown relative to it), per generation."""
        generation = self.current().generation
        cached = self._folder
        if cached is None or cached[0] != generation:
            parents = {os.path.dirname(state.path) for state in self.store.file_states()}
            cached = self._folder = (generation, Path(os.path.commonpath(sorted(parents))) if parents else None)
        return cached[1]

    def close(self) -> None:
        self.store.close()

    def _load(self) -> Snapshot:
        uid = self.store.catalog_uid() or ""
        generation = self._generation(uid)  # taken before loading: a change during the load reloads again
        # A reload happens inside a request, and a request writes nothing to the home but thumbnails: the
        # reconciled index stays in memory (`engine index` or `engine query` keep the file up to date).
        lm, index = open_search(self.store, self.home, self.model, keep_copy=False)
        logger.info("serving %d paintings (%s index, model %s)", index.ntotal, index.kind, lm.fingerprint[:12])
        return Snapshot(lm=lm, index=index, generation=generation, catalog_uid=uid,
                        attribution=resolve_calibration(lm.attribution))

    def _generation(self, uid: str) -> tuple:
        path = index_file(self.home, uid)
        try:
            st = path.stat()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        return (uid, self.store.count(), stamp)
