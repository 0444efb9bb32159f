"""Where a catalog's FAISS index lives, and the record saved next to it (what made it, with which config)."""

from __future__ import annotations

import json
import logging
import platform
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from db.records import ModelInfo
from engine.base.atomic import atomic_write_json
from engine.model.checkpoint import LoadedModel
from engine.base.home import Home
from engine.base.versions import library_versions
from indexer.faiss_backend import faiss_version

logger = logging.getLogger(__name__)


def index_file(home: Home, catalog_uid: str) -> Path:
    """`HOME/index.faiss` for the home's own catalog; another catalog (`--db`) gets its own file."""
    if home.owns_catalog:
        return home.index_path
    return home.root / f"index-{catalog_uid[:16]}.faiss"


def record_file(index_path: Path) -> Path:
    return index_path.with_suffix(".json")


def remove_stale_temp_files(index_path: Path) -> int:
    """Delete temp files a killed save left next to the index and its record (call with the lock held)."""
    removed = 0
    for target in (index_path, record_file(index_path)):
        for tmp in target.parent.glob(f".{target.name}.*.tmp"):  # engine.base.atomic.atomic_path's naming
            tmp.unlink(missing_ok=True)
            removed += 1
    if removed:
        logger.info("removed %d temp file(s) left by an interrupted save", removed)
    return removed


def previous_recall(index_path: Path) -> float | None:
    """recall@10 measured when the (approximate) index at `index_path` was built, from its record."""
    try:
        value = json.loads(record_file(index_path).read_text(encoding="utf-8")).get("recall_at_10")
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def model_info(lm: LoadedModel) -> ModelInfo:
    return ModelInfo(lm.fingerprint, lm.backbone, int(lm.embedding_dim), str(lm.path) if lm.path else None)


def versions() -> dict[str, str]:
    """What an index was built with: the model's libraries, the faiss build and the catalog's driver."""
    return library_versions(("torch", "sqlalchemy"), faiss=faiss_version(), platform=platform.platform())


def write_record(index_path: Path, *, kind: str, count: int, model: ModelInfo, db_url: str, config: dict, extra: dict) -> None:
    """Atomically write `index.json` next to the index: informational, never trusted for consistency."""
    record = {
        "kind": kind,
        "count": count,
        "model": {"fingerprint": model.fingerprint, "backbone": model.backbone, "embedding_dim": model.embedding_dim, "path": model.path},
        "catalog": make_url(db_url).render_as_string(hide_password=True),
        "config": config,
        "versions": versions(),
        "saved_at": datetime.now(timezone.utc).isoformat(),
        **extra,
    }
    atomic_write_json(record_file(index_path), record)
