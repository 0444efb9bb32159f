"""`export_catalog`: the catalog's vectors and metadata as files other tools read (clip-retrieval's layout).

OUT/img_emb/img_emb_K.npy   (n_K, D) float32, L2-normalised, in catalog id order
OUT/metadata/metadata_K.*   the same n_K rows, aligned: id, image_path, artist, title, style, genre, date
OUT/export.json             what made it (model fingerprint, backbone, dim, counts, catalog, versions)
`format="parquet"`: metadata_K.parquet (embedding-reader's "parquet_npy" layout; needs pyarrow).
`format="npy"`: metadata_K.npy, a NumPy structured array (fixed-width unicode, loads without pickle).
Shards hold `shard_size` rows. OUT is written as a temp folder renamed into place, so a crash leaves
no half export; an existing non-empty OUT is refused.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlalchemy.engine import make_url

from db.records import PaintingView
from db.store import CatalogStore, NothingIndexed
from engine.base.atomic import atomic_write_json
from engine.base.config import require
from engine.base.errors import EngineError
from engine.base.home import Home
from engine.base.versions import library_versions

logger = logging.getLogger(__name__)

FORMATS = ("parquet", "npy")
COLUMNS = ("id", "image_path", "artist", "title", "style", "genre", "date")


@dataclass(frozen=True)
class ExportConfig:
    format: str = "parquet"
    shard_size: int = 100_000  # rows per img_emb_K.npy / metadata_K file (a shard is held in memory: ~100 MB at 256-d)

    def __post_init__(self) -> None:
        require([(self.format in FORMATS, f"unknown export format {self.format!r}; use --format parquet or --format npy"),
                 (self.shard_size >= 1, "shard_size must be >= 1")])


def export_catalog(
    out: str | os.PathLike[str],
    *,
    home: str | os.PathLike[str] | None = None,
    db: str | None = None,
    config: ExportConfig = ExportConfig(),
) -> dict:
    """Write OUT (see the module doc); returns {"out", "format", "count", "shards", "embedding_dim", "model"}."""
    out = Path(out).expanduser().resolve()
    _refuse_existing(out)
    write_metadata = _metadata_writer(config.format)
    store = CatalogStore(Home.resolve(home, db=db).catalog_url, create=False)
    try:
        model = store.model_info()
        if model is None or store.count() == 0:
            raise NothingIndexed(store.url)
        with _staging(out) as tmp:
            count, shards = _write_shards(store, tmp, write_metadata, config.shard_size)
            summary = {"out": str(out), "format": config.format, "count": count, "shards": shards,
                       "embedding_dim": model.embedding_dim, "model": model.fingerprint[:12]}
            atomic_write_json(tmp / "export.json", _record(summary, model, store.url))
        return summary
    finally:
        store.close()


def _refuse_existing(out: Path) -> None:
    if out.is_file() or (out.is_dir() and any(out.iterdir())):
        raise EngineError(f"{out} already exists and is not empty; pass a new folder to export into")


class _staging:
    """A temp folder next to OUT, renamed onto OUT on success and removed on failure."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def __enter__(self) -> Path:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", suffix=".tmp", dir=self.out.parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            if self.out.is_dir():
                self.out.rmdir()  # empty (checked before)
            os.replace(self.tmp, self.out)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _write_shards(store: CatalogStore, folder: Path, write_metadata, shard_size: int) -> tuple[int, int]:
    """Stream the catalog in id order into shards of `shard_size` rows; returns (rows, shards)."""
    (folder / "img_emb").mkdir()
    (folder / "metadata").mkdir()
    ids, vectors, count, shard = [], [], 0, 0
    for batch_ids, batch_vectors in store.iter_vectors(batch=min(shard_size, 4096)):
        ids.append(batch_ids)
        vectors.append(batch_vectors)
        while sum(len(i) for i in ids) >= shard_size:
            head_ids, head_vectors, ids, vectors = _split(ids, vectors, shard_size)
            count += _write_shard(store, folder, shard, head_ids, head_vectors, write_metadata)
            shard += 1
    if ids:
        count += _write_shard(store, folder, shard, np.concatenate(ids), np.concatenate(vectors), write_metadata)
        shard += 1
    return count, shard


def _split(ids: list, vectors: list, n: int) -> tuple[np.ndarray, np.ndarray, list, list]:
    all_ids, all_vectors = np.concatenate(ids), np.concatenate(vectors)
    rest = [all_ids[n:]] if len(all_ids) > n else []
    return all_ids[:n], all_vectors[:n], rest, [all_vectors[n:]] if rest else []


def _write_shard(store: CatalogStore, folder: Path, shard: int, ids: np.ndarray, vectors: np.ndarray, write_metadata) -> int:
    views = store.views(ids.tolist())
    rows = [views[int(i)] for i in ids if int(i) in views]  # a row deleted meanwhile drops from both files
    keep = np.array([int(i) in views for i in ids], bool)
    np.save(folder / "img_emb" / f"img_emb_{shard}.npy", np.ascontiguousarray(vectors[keep], np.float32))
    write_metadata(folder / "metadata" / f"metadata_{shard}", _columns(rows))
    return len(rows)


def _columns(rows: list[PaintingView]) -> dict[str, list]:
    return {
        "id": [r.id for r in rows], "image_path": [r.path for r in rows], "artist": [r.artist for r in rows],
        "title": [r.title for r in rows], "style": [r.style for r in rows], "genre": [r.genre for r in rows],
        "date": [r.date for r in rows],
    }


def _metadata_writer(fmt: str):
    ExportConfig(format=fmt)  # validates
    if fmt == "npy":
        return _write_npy
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise EngineError("--format parquet needs pyarrow (a dependency of artwork-engine): pip install 'pyarrow>=14', or use --format npy") from None
    return _write_parquet


def _write_parquet(stem: Path, columns: dict[str, list]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {name: pa.int64() if name == "id" else pa.string() for name in COLUMNS}
    pq.write_table(pa.table({name: pa.array(columns[name], types[name]) for name in COLUMNS}), stem.with_suffix(".parquet"))


def _write_npy(stem: Path, columns: dict[str, list]) -> None:
    """A structured array; None becomes "" (fixed-width unicode has no null)."""
    texts = {name: ["" if v is None else v for v in columns[name]] for name in COLUMNS if name != "id"}
    dtype = [("id", np.int64)] + [(name, f"<U{max([len(v) for v in values] + [1])}") for name, values in texts.items()]
    table = np.empty(len(columns["id"]), dtype=dtype)
    table["id"] = columns["id"]
    for name, values in texts.items():
        table[name] = values
    np.save(stem.with_suffix(".npy"), table)


def _record(summary: dict, model, url: str) -> dict:
    return {
        **summary,
        "model": {"fingerprint": model.fingerprint, "backbone": model.backbone, "embedding_dim": model.embedding_dim, "path": model.path},
        "catalog": make_url(url).render_as_string(hide_password=True),
        "layout": {"embeddings": "img_emb/img_emb_K.npy", "metadata": f"metadata/metadata_K.{summary['format']}",
                   "columns": list(COLUMNS), "aligned": "row i of img_emb_K is row i of metadata_K"},
        "versions": library_versions(("numpy", "pyarrow", "sqlalchemy")),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
