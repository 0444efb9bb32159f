"""What each endpoint does, as plain functions over a `ServerState` (run in the inference pool).

Query and verify answers carry the same JSON keys as `engine query --json` / `engine verify --json`
(they are made by the same library functions); a query's matches also carry the catalog `id` and
a `thumbnail` URL.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from cli.server.errors import ApiError, image_error
from cli.server.state import ServerState
from cli.server.thumbnails import cached_thumbnail
from db.records import PaintingView
from engine.base.errors import ImageLoadError
from engine.base.vectors import l2_normalize
from engine.data.imageio import probe_size
from engine.inference.embedding import embed_image_bytes
from engine.inference.verify import require_calibrated, verdict
from indexer.search import search_embedded


def health(state: ServerState) -> dict:
    snapshot = state.current()
    return {"status": "ok", "paintings": snapshot.index.ntotal, "model": snapshot.lm.fingerprint[:12],
            "index": snapshot.index.kind}


def query_upload(state: ServerState, data: bytes, name: str, *, max_pixels: int, k: int | None = None,
                 artist: str | None = None, style: str | None = None, date: str | None = None) -> dict:
    """The nearest paintings to an uploaded image and its likely artists."""
    snapshot = state.current()
    vector = _embed_upload(snapshot.lm, data, "image", max_pixels)
    return _search(state, snapshot, vector, name, k=k, artist=artist, style=style, date=date)


def query_painting(state: ServerState, painting_id: int, *, k: int | None = None, artist: str | None = None,
                   style: str | None = None, date: str | None = None) -> dict:
    """The nearest paintings to an indexed one, searched with its stored vector (no decoding)."""
    snapshot = state.current()
    view = painting_view(state, painting_id)
    vector = state.store.vectors([painting_id]).get(painting_id)
    if vector is None:
        raise _unknown(painting_id)
    return _search(state, snapshot, vector, view.path, k=k, artist=artist, style=style, date=date)


def verify_uploads(state: ServerState, a: bytes, b: bytes, *, max_pixels: int) -> dict:
    """Same hand or not, for two uploads (the JSON of `engine verify --json`)."""
    lm = state.current().lm
    require_calibrated(lm)
    return verdict(lm, _embed_upload(lm, a, "a", max_pixels), _embed_upload(lm, b, "b", max_pixels))


def painting_row(state: ServerState, painting_id: int) -> dict:
    """The catalog row; `path` relative to the indexed folder, pixel size read from the file's header."""
    view = painting_view(state, painting_id)
    folder = state.indexed_folder()
    relative = os.path.relpath(view.path, folder) if folder else Path(view.path).name
    return {"id": view.id, "artist": view.artist, "title": view.title, "style": view.style, "genre": view.genre,
            "date": view.date, **_file_size(view.path), "path": relative,
            "thumbnail": thumbnail_url(view.id)}


def artists(state: ServerState) -> dict:
    """{"artists": [{"artist", "paintings"}]}, most paintings first."""
    counts = Counter(labels.artist for labels in state.store.labels_of().values() if labels.artist)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {"artists": [{"artist": name, "paintings": n} for name, n in ranked]}


def thumbnail(state: ServerState, painting_id: int, size: int) -> Path:
    view = painting_view(state, painting_id)
    try:
        return cached_thumbnail(state.home, state.current().catalog_uid, view.id, view.path, size)
    except ImageLoadError as exc:
        if exc.reason == "missing":
            raise ApiError(404, f"the file of painting {painting_id} is gone from disk; re-run `engine index` on its folder") from None
        raise ApiError(422, f"the file of painting {painting_id} cannot be read ({exc.reason}); re-run `engine index` on its folder") from None


def painting_view(state: ServerState, painting_id: int) -> PaintingView:
    view = state.store.views([painting_id]).get(painting_id)
    if view is None:
        raise _unknown(painting_id)
    return view


def thumbnail_url(painting_id: int) -> str:
    return f"/api/paintings/{painting_id}/thumbnail"


def _search(state: ServerState, snapshot, vector: np.ndarray, name: str, **filters) -> dict:
    queries = l2_normalize(np.asarray(vector, np.float32)[None, :])
    filters["k"] = min(filters["k"], snapshot.index.ntotal) if filters.get("k") else None  # ?k=10000: the whole collection
    result = search_embedded(state.store, snapshot.index, queries, [name], with_ids=True, attribution=snapshot.attribution, **filters)
    for item in result["results"]:
        for match in item["matches"]:
            match["thumbnail"] = thumbnail_url(match["id"])
    return result


def _embed_upload(lm, data: bytes, field: str, max_pixels: int) -> np.ndarray:
    try:
        vector = embed_image_bytes(lm, data, max_pixels=max_pixels)
    except ImageLoadError as exc:
        raise image_error(field, exc) from None
    if not np.isfinite(vector).all():
        raise ApiError(422, f"the model gave a NaN/inf embedding for {field!r}; the model file is probably damaged")
    return vector


def _file_size(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            width, height = probe_size(f.read(1 << 20))  # the header: a megabyte holds any JPEG/PNG preamble
        return {"width": width, "height": height, "bytes": os.path.getsize(path)}
    except (OSError, ImageLoadError):
        return {"width": None, "height": None, "bytes": None}


def _unknown(painting_id: int) -> ApiError:
    return ApiError(404, f"no painting with id {painting_id} in the catalog; ids come from the matches of /api/query")
