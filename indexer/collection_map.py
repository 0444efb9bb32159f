"""The map of the collection: every indexed painting placed in 2D so that neighbours stay neighbours.

Method: UMAP (umap-learn) or t-SNE (openTSNE) over the stored, L2-normalised vectors with the cosine
metric. The default is the one benchmarks/bench_map_layout.py measured better on artdata (5,897
paintings): trustworthiness (sklearn.manifold.trustworthiness, 10 neighbours) and compute time, in
benchmarks/results/map_layout.json.

The layout is cached in HOME/cache/map/<catalog>.json (written atomically) with what it was made
from: the catalogue uid, the model fingerprint and a digest of the painting ids. A changed collection
(paintings added or removed, another model) is laid out again from scratch (UMAP and t-SNE move every
point when points are added); the record's `seconds` is that cost. `engine map` and
`engine index --map` compute it; the server computes it on first use when no current one exists.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from db.store import CatalogStore
from engine.base.atomic import atomic_write_json
from engine.base.errors import EngineError
from engine.base.home import Home

logger = logging.getLogger(__name__)

METHODS = ("umap", "tsne")
DEFAULT_METHOD = "tsne"  # benchmarks/results/map_layout.json: on all 5,897 artdata paintings higher trustworthiness than UMAP, and faster
NEIGHBOURS = 15
SMALL = 8  # below this many paintings, neighbourhood methods are meaningless: a PCA projection
EXTRA_HINT = "pip install 'artwork-engine[map]'"


def map_file(home: Home, catalog_uid: str) -> Path:
    return home.root / "cache" / "map" / f"{catalog_uid[:16] or 'catalog'}.json"


def layout_2d(vectors: np.ndarray, *, method: str = DEFAULT_METHOD, seed: int = 0) -> np.ndarray:
    """(n, 2) float64 coordinates in [0, 1] (aspect kept) of (n, D) vectors."""
    if method not in METHODS:
        raise EngineError(f"unknown map method {method!r}; pass one of {', '.join(METHODS)}")
    x = np.asarray(vectors, np.float32)
    n = len(x)
    if n == 0:
        return np.zeros((0, 2))
    if n < SMALL:
        xy = _pca_2d(x)
    elif method == "umap":
        xy = _umap(x, seed)
    else:
        xy = _tsne(x, seed)
    return _unit_square(np.asarray(xy, np.float64))


def _pca_2d(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ vt[:2].T
    return np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))


def _umap(x: np.ndarray, seed: int) -> np.ndarray:
    try:
        import umap
    except ImportError:
        raise EngineError(f"the map needs umap-learn, which is not installed; {EXTRA_HINT}") from None
    reducer = umap.UMAP(n_components=2, n_neighbors=min(NEIGHBOURS, len(x) - 1), min_dist=0.1, metric="cosine",
                        random_state=seed, init="spectral", n_jobs=1)
    return reducer.fit_transform(x)


def _tsne(x: np.ndarray, seed: int) -> np.ndarray:
    try:
        from openTSNE import TSNE
    except ImportError:
        raise EngineError(f"the map with --method tsne needs openTSNE, which is not installed; {EXTRA_HINT}") from None
    perplexity = min(30.0, (len(x) - 1) / 3)
    return np.asarray(TSNE(perplexity=perplexity, metric="cosine", random_state=seed, n_jobs=os.cpu_count() or 1).fit(x))


def _unit_square(xy: np.ndarray) -> np.ndarray:
    low = xy.min(axis=0)
    span = float((xy.max(axis=0) - low).max()) or 1.0
    return (xy - low) / span


def ids_digest(ids: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(ids, dtype="<i8").tobytes()).hexdigest()[:32]


def all_vectors(store: CatalogStore) -> tuple[np.ndarray, np.ndarray]:
    parts = list(store.iter_vectors())
    if not parts:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def make_map(store: CatalogStore, home: Home, *, method: str = DEFAULT_METHOD) -> dict:
    """Lay out every painting of `store` and cache it; returns the cached record."""
    ids, vectors = all_vectors(store)
    info = store.model_info()
    started = time.perf_counter()
    xy = layout_2d(vectors, method=method)
    seconds = time.perf_counter() - started
    uid = store.catalog_uid() or ""
    record = {
        "catalog_uid": uid, "model_fingerprint": info.fingerprint if info else None, "count": int(len(ids)),
        "ids_digest": ids_digest(ids), "method": method if len(ids) >= SMALL else "pca", "seconds": round(seconds, 3),
        "created_at": datetime.now(timezone.utc).isoformat(),
        "points": [[int(i), round(float(x), 5), round(float(y), 5)] for i, (x, y) in zip(ids, xy)],
    }
    atomic_write_json(map_file(home, uid), record)
    logger.info("map of %d paintings laid out by %s in %.1f s", len(ids), record["method"], seconds)
    return record


def cached_map(store: CatalogStore, home: Home) -> dict | None:
    """The cached layout when it was made from this catalogue as it is now (same ids, same model); else None."""
    uid = store.catalog_uid() or ""
    try:
        record = json.loads(map_file(home, uid).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    info = store.model_info()
    current = (uid, info.fingerprint if info else None, ids_digest(store.ids()))
    if (record.get("catalog_uid"), record.get("model_fingerprint"), record.get("ids_digest")) != current:
        return None
    return record


def current_map(store: CatalogStore, home: Home, *, method: str = DEFAULT_METHOD) -> dict:
    """The cached layout, or a new one made and cached now."""
    return cached_map(store, home) or make_map(store, home, method=method)


def build_map(*, home: str | os.PathLike[str] | None = None, db: str | None = None, method: str = DEFAULT_METHOD,
              force: bool = False) -> dict:
    """`engine map`: lay out the home's collection (unless the cached map is current and not `force`).

    Returns {"paintings", "method", "seconds" (the layout's compute time), "reused", "path"}.
    """
    if method not in METHODS:
        raise EngineError(f"unknown map method {method!r}; pass one of {', '.join(METHODS)}")
    the_home = Home.resolve(home, db=db)
    store = CatalogStore(the_home.catalog_url, create=False)
    try:
        cached = None if force else cached_map(store, the_home)
        record = cached if cached is not None and cached.get("method") in (method, "pca") else make_map(store, the_home, method=method)
        return {"paintings": record["count"], "method": record["method"], "seconds": record["seconds"],
                "reused": record is cached, "path": str(map_file(the_home, record["catalog_uid"]))}
    finally:
        store.close()
