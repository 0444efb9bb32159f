"""What each endpoint does, as plain functions over a `ServerState` (run in the inference pool).

Query and verify answers carry the same JSON keys as `engine query --json` / `engine verify --json`
(they are made by the same library functions); a query's matches also carry the catalog `id` and
a `thumbnail` URL. Every path the API shows is relative to the indexed folder (the server's own
folders are nobody's business), and an uploaded query is named by its file name alone.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import numpy as np

from cli.server.errors import ApiError, image_error
from cli.server.explained import explain_query_matches, explain_uploads
from cli.server.state import ServerState
from cli.server.thumbnails import cached_thumbnail
from db.records import PaintingView
from engine.base.errors import ImageLoadError
from engine.base.vectors import l2_normalize
from engine.data.imageio import probe_size
from engine.inference.embedding import embed_image_bytes
from engine.inference.model_choice import ModelChoice
from engine.inference.verify import require_calibrated, verdict
from indexer.search import catalogued_shas, search_embedded

MAX_ID = 2**63 - 1  # catalog ids are SQL BIGINTs: a larger one names no painting (and overflows the driver)


def health(state: ServerState) -> dict:
    snapshot = state.current()
    return {"status": "ok", "paintings": snapshot.index.ntotal, "model": snapshot.lm.fingerprint[:12],
            "index": snapshot.index.kind}


def query_upload(state: ServerState, data: bytes, name: str, *, max_pixels: int, k: int | None = None,
                 artist: str | None = None, style: str | None = None, date: str | None = None, explain: bool = False) -> dict:
    """The nearest paintings to an uploaded image and its likely artists (an upload whose bytes are catalogued is
    that painting: `in_collection`, not its own match); `explain`: maps of the top matches (cli.server.explained)."""
    snapshot = state.current()
    vector = _embed_upload(snapshot.lm, data, "image", max_pixels)
    (me,) = catalogued_shas(state.store, [hashlib.sha256(data).hexdigest()])
    result = _search(state, snapshot, vector, file_name(name), k=k, artist=artist, style=style, date=date, selves=[me])
    if explain:
        explain_query_matches(snapshot.lm, data, result, max_pixels=max_pixels,
                              file_of=lambda match: painting_view(state, match["id"]).path)
    return result


def query_painting(state: ServerState, painting_id: int, *, k: int | None = None, artist: str | None = None,
                   style: str | None = None, date: str | None = None) -> dict:
    """The nearest paintings to an indexed one, searched with its stored vector (no decoding)."""
    snapshot = state.current()
    view = painting_view(state, painting_id)
    vector = state.store.vectors([painting_id]).get(painting_id)
    if vector is None:
        raise _unknown(painting_id)
    return _search(state, snapshot, vector, shown_path(state, view.path), k=k, artist=artist, style=style, date=date, selves=[view])


def verify_uploads(state: ServerState, a: bytes, b: bytes, *, max_pixels: int, explain: bool = False) -> dict:
    """Same hand or not, for two uploads (the JSON of `engine verify --json`); `explain`: with the maps."""
    lm = state.current().lm
    require_calibrated(lm)
    answer = {**verdict(lm, _embed_upload(lm, a, "a", max_pixels), _embed_upload(lm, b, "b", max_pixels)),
              "model_used": _model_used(state, lm)}
    if explain:
        answer["explanation"] = explain_uploads(lm, a, b, max_pixels=max_pixels)
    return answer


def painting_row(state: ServerState, painting_id: int) -> dict:
    """The catalog row; `path` relative to the indexed folder, pixel size read from the file's header."""
    view = painting_view(state, painting_id)
    return {"id": view.id, "artist": view.artist, "title": view.title, "style": view.style, "genre": view.genre,
            "date": view.date, **_file_size(view.path), "path": shown_path(state, view.path),
            "thumbnail": thumbnail_url(view.id)}


def shown_path(state: ServerState, path: str) -> str:
    """`path` relative to the indexed folder (POSIX separators), as every answer shows an indexed file."""
    folder = state.indexed_folder()
    relative = os.path.relpath(path, folder) if folder else Path(path).name
    return Path(relative).as_posix()


def file_name(name: str) -> str:
    """An upload's file name without whatever folders the client sent with it (POSIX or Windows)."""
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "upload"


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
    if not 0 <= painting_id <= MAX_ID:
        raise _unknown(painting_id)
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
            match["path"] = shown_path(state, match["path"])
            match["thumbnail"] = thumbnail_url(match["id"])
        if item.get("in_collection"):
            item["in_collection"]["path"] = shown_path(state, item["in_collection"]["path"])
    return {**result, "model_used": _model_used(state, snapshot.lm)}


def _model_used(state: ServerState, lm) -> dict:
    """The `model_used` of the CLI's JSON (--model, else the model of the home's index) without its path: that names
    a file on the server's machine; the fingerprint and name say which model it is."""
    described = ModelChoice(lm.path, "option" if state.model is not None else "index").describe(lm)
    return {k: v for k, v in described.items() if k != "path"}


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
