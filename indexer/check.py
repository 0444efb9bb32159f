"""`engine index FOLDER --check`: compare catalog, FAISS index and folder; repair the index; report.

The catalog is the source of truth (rows carry their vectors), so every index disagreement is
repairable without the model: orphan vectors are removed, missing ones re-added, and an index with
any wrong vector is rebuilt. Differences between the folder and the catalog are only reported
(a normal `engine index FOLDER [--prune]` run resolves them).
"""

from __future__ import annotations

import logging
from pathlib import Path

from db.store import CatalogStore, NothingIndexed
from engine.base.home import Home
from indexer.artefacts import index_file, remove_stale_temp_files
from indexer.config import IndexConfig
from indexer.consistency import check_index, open_index, rebuild
from indexer.scan import scan_folder
from indexer.vector_index import VectorIndex
from indexer.writer import IndexWriter

logger = logging.getLogger(__name__)


def check_catalog(store: CatalogStore, folder, *, home: Home, config: IndexConfig) -> dict:
    """JSON of `engine index --check`: the usual keys (nothing added) plus `check`."""
    info, uid = store.model_info(), store.catalog_uid()
    if info is None or uid is None:
        raise NothingIndexed(store.url)
    path = index_file(home, uid)
    remove_stale_temp_files(path)
    found = _inspect_file(path, store, info.embedding_dim, config)
    index, repair = open_index(store, path, dim=info.embedding_dim, nprobe=config.nprobe, verify_sample=0)
    if found.get("mismatched_vectors"):
        index = rebuild(store, dim=info.embedding_dim, kind=index.kind, nprobe=config.nprobe)
        repair.rebuilt = True
    if repair.changed or found.get("index_file") != "ok":
        IndexWriter(store, index, path, model=info, config=config).save()
    after = check_index(index, store)
    scan = scan_folder(folder)
    folder_report = _folder_report(scan, store)
    return {
        "added": 0, "updated": 0, "removed": 0,
        "skipped": [{"path": p, "reason": r} for p, r in scan.skipped],
        "total": after["catalog_rows"], "images_per_second": 0.0, "index_type": index.kind,
        "check": {
            "found": found, "repaired": repair.to_dict(), "after": after,
            "consistent": _consistent(after), **folder_report,
        },
    }


def _inspect_file(path: Path, store: CatalogStore, dim: int, config: IndexConfig) -> dict:
    index = VectorIndex.load(path, nprobe=config.nprobe)
    if index is None:
        return {"index_file": "missing" if not path.is_file() else "unreadable"}
    if index.dim != dim:
        return {"index_file": f"wrong dimension {index.dim} (catalog {dim})"}
    return {"index_file": "ok", **check_index(index, store)}


def _folder_report(scan, store: CatalogStore) -> dict:
    scanned = {f.path for f in scan.files}
    under = [s.path for s in store.file_states() if Path(s.path).is_relative_to(scan.root)]
    return {
        "files_not_indexed": len(scanned.difference(under)),
        "rows_without_file": len(set(under).difference(scanned)),
    }


def _consistent(report: dict) -> bool:
    keys = ("duplicate_vector_ids", "rows_without_vector", "vectors_without_row", "mismatched_vectors")
    return report["catalog_rows"] == report["index_vectors"] and not any(report[k] for k in keys)
