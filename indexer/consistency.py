"""Keep the FAISS index in agreement with the catalog, which is the source of truth.

Every catalog row carries its vector, and ids are never reused, so after any crash the index file
is a stale but valid cache: vectors whose row is gone are removed, rows missing from the index are
added back from their stored vectors, and a spot check of stored vectors catches an index that
belongs to another catalog (then it is rebuilt). `check_index` compares every vector.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from db.store import CatalogStore
from indexer.vector_index import FLAT, IVF, VectorIndex, build_index, measure_recall

logger = logging.getLogger(__name__)

ATOL = 1e-5


@dataclass
class Repair:
    """What loading the index had to fix."""

    rebuilt: bool = False
    orphan_vectors_removed: int = 0
    missing_vectors_added: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def changed(self) -> bool:
        return self.rebuilt or self.orphan_vectors_removed > 0 or self.missing_vectors_added > 0


def open_index(store: CatalogStore, path: Path, *, dim: int, nprobe: int = 32, verify_sample: int = 64) -> tuple[VectorIndex, Repair]:
    """Load the index at `path` and reconcile it with the catalog (in memory; the caller saves)."""
    index = VectorIndex.load(path, nprobe=nprobe)
    if index is None or index.dim != dim:
        if index is not None:
            logger.warning("index %s has dimension %d, the catalog %d: rebuilding it", path, index.dim, dim)
        return rebuild(store, dim=dim, kind=FLAT, nprobe=nprobe), Repair(rebuilt=store.count() > 0)
    ids = index.ids()
    if len(np.unique(ids)) != len(ids):
        logger.warning("index %s holds duplicate ids: rebuilding it", path)
        return rebuild(store, dim=dim, kind=index.kind, nprobe=nprobe), Repair(rebuilt=True)
    repair = reconcile(index, store)
    if not _spot_check(index, store, verify_sample):
        logger.warning("index %s disagrees with the catalog's stored vectors: rebuilding it", path)
        return rebuild(store, dim=dim, kind=index.kind, nprobe=nprobe), Repair(rebuilt=True)
    return index, repair


def reconcile(index: VectorIndex, store: CatalogStore) -> Repair:
    """Make the index's id set equal the catalog's: drop orphans, add missing vectors from the catalog."""
    catalog_ids, index_ids = store.ids(), index.ids()
    orphans = np.setdiff1d(index_ids, catalog_ids, assume_unique=True)
    missing = np.setdiff1d(catalog_ids, index_ids, assume_unique=True)
    index.remove(orphans)
    if len(missing):
        stored = store.vectors(missing.tolist())
        ids = np.array(sorted(stored), dtype=np.int64)
        index.add(ids, np.stack([stored[i] for i in ids]))
    if len(orphans) or len(missing):
        logger.info("index reconciled with the catalog: %d orphan vectors removed, %d added", len(orphans), len(missing))
    return Repair(False, int(len(orphans)), int(len(missing)))


def rebuild(store: CatalogStore, *, dim: int, kind: str = FLAT, nprobe: int = 32) -> VectorIndex:
    """A fresh index from the catalog's stored vectors."""
    if kind == FLAT:
        index = VectorIndex.empty(dim)
        for ids, vectors in store.iter_vectors():
            index.add(ids, vectors)
        return index
    ids, vectors = all_vectors(store, dim)
    return build_index(ids, vectors, kind=IVF, nprobe=nprobe)


def convert(store: CatalogStore, *, dim: int, kind: str, nprobe: int, recall_queries: int) -> tuple[VectorIndex, float | None]:
    """Rebuild as `kind`; for the approximate kind also measure recall@10 against exact search."""
    if kind == FLAT:
        return rebuild(store, dim=dim, kind=FLAT), None
    ids, vectors = all_vectors(store, dim)
    index = build_index(ids, vectors, kind=IVF, nprobe=nprobe)
    recall = measure_recall(index, ids, vectors, k=10, queries=recall_queries)
    logger.info("approximate index (IVF, %d lists, nprobe %d): recall@10 = %.3f", index.index.nlist, index.index.nprobe, recall)
    return index, recall


def all_vectors(store: CatalogStore, dim: int) -> tuple[np.ndarray, np.ndarray]:
    parts = list(store.iter_vectors())
    if not parts:
        return np.empty(0, np.int64), np.empty((0, dim), np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def check_index(index: VectorIndex, store: CatalogStore) -> dict:
    """Compare the index with the catalog id by id and vector by vector (nothing is changed)."""
    catalog_ids, all_index_ids = store.ids(), index.ids()
    index_ids = np.unique(all_index_ids)
    common = np.intersect1d(catalog_ids, index_ids, assume_unique=True)
    mismatched = 0
    for start in range(0, len(common), 4096):
        mismatched += len(_mismatches(index, store, common[start : start + 4096]))
    return {
        "catalog_rows": int(len(catalog_ids)),
        "index_vectors": int(index.ntotal),
        "duplicate_vector_ids": int(len(all_index_ids) - len(index_ids)),
        "rows_without_vector": int(len(np.setdiff1d(catalog_ids, index_ids, assume_unique=True))),
        "vectors_without_row": int(len(np.setdiff1d(index_ids, catalog_ids, assume_unique=True))),
        "mismatched_vectors": int(mismatched),
    }


def _spot_check(index: VectorIndex, store: CatalogStore, sample: int) -> bool:
    ids = index.ids()
    if not len(ids) or sample <= 0:
        return True
    rng = np.random.default_rng(len(ids))
    pick = np.unique(np.concatenate([ids[-(sample // 2) :], rng.choice(ids, min(sample, len(ids)), replace=False)]))
    return not _mismatches(index, store, pick)


def _mismatches(index: VectorIndex, store: CatalogStore, ids: np.ndarray) -> list[int]:
    stored = store.vectors(ids.tolist())
    got = index.reconstruct(ids)
    return [int(i) for i, v in zip(ids, got) if i not in stored or not np.allclose(v, stored[int(i)], atol=ATOL)]
