"""`IndexWriter`: applies changes to the catalog and the FAISS index in a crash-safe order.

Protocol: every change is committed to the catalog first (rows carry their vectors), then applied
to the in-memory index; the index file is replaced atomically (temp file + os.replace) every
`save_every_s` seconds and at the end. A crash between the two leaves an index file that is only
behind the catalog, which `consistency.open_index` repairs on the next run.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from db.records import Labels, ModelInfo, NewPainting
from db.store import CatalogStore
from indexer.artefacts import previous_recall, write_record
from indexer.config import IndexConfig
from indexer.consistency import convert
from indexer.vector_index import FLAT, IVF, VectorIndex, ivf_lists

logger = logging.getLogger(__name__)


class IndexWriter:
    def __init__(self, store: CatalogStore, index: VectorIndex, path: Path, *, model: ModelInfo, config: IndexConfig) -> None:
        self.store = store
        self.index = index
        self.path = path
        self.model = model
        self.config = config
        self.recall_at_10: float | None = previous_recall(path) if index.kind == IVF else None
        self._dirty = False
        self._last_save = time.monotonic()

    def insert(self, items: Sequence[NewPainting], *, replaces: Sequence[int] = ()) -> list[int]:
        """Commit rows (replacing `replaces`) with their vectors, then mirror them in the index."""
        if not items and not replaces:
            return []
        new_ids = self.store.add_paintings(items, replaces=replaces)
        self.index.remove(np.asarray(replaces, dtype=np.int64))
        if items:
            self.index.add(np.asarray(new_ids, dtype=np.int64), np.stack([item.vector for item in items]))
        self._changed()
        return new_ids

    def move(self, moves: Sequence[tuple[int, str, int, int]]) -> None:
        if moves:
            self.store.move(moves)  # same ids, same vectors: the index is unaffected

    def relabel(self, changes: Sequence[tuple[int, Labels]]) -> None:
        if changes:
            self.store.relabel(changes)

    def delete(self, ids: Sequence[int]) -> None:
        if ids:
            self.store.delete(ids)
            self.index.remove(np.asarray(ids, dtype=np.int64))
            self._changed()

    def mark_dirty(self) -> None:
        self._dirty = True

    def finish(self) -> None:
        """Switch exact/approximate when the size calls for it, then save."""
        wanted = IVF if self.index.ntotal >= self.config.approx_threshold else FLAT
        if wanted != self.index.kind or self._ivf_outgrown():
            self.index, self.recall_at_10 = convert(
                self.store, dim=self.index.dim, kind=wanted, nprobe=self.config.nprobe, recall_queries=self.config.recall_queries
            )
            self._dirty = True
        if self._dirty or not self.path.is_file():
            self.save()

    def save(self) -> None:
        """Atomically replace the index file, then its record."""
        self.index.save(self.path)
        extra = {"recall_at_10": self.recall_at_10 if self.index.kind == IVF else None}
        if self.index.kind == IVF:
            extra.update(nlist=int(self.index.index.nlist), nprobe=int(self.index.index.nprobe))
        write_record(
            self.path, kind=self.index.kind, count=self.index.ntotal, model=self.model,
            db_url=self.store.url, config=self.config.to_dict(), extra=extra,
        )
        self._dirty = False
        self._last_save = time.monotonic()
        logger.debug("index saved: %d vectors (%s)", self.index.ntotal, self.index.kind)

    def _changed(self) -> None:
        self._dirty = True
        if time.monotonic() - self._last_save >= self.config.save_every_s:
            self.save()

    def _ivf_outgrown(self) -> bool:
        # Centroids trained on n/4 points (or fewer lists than the size now warrants) are retrained.
        return self.index.kind == IVF and ivf_lists(self.index.ntotal) >= 2 * int(self.index.index.nlist)
