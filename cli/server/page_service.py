"""What the page's own endpoints do (cli.server.page_routes), as plain functions over a `ServerState`.

The page needs more than the CLI's answers: the collection in words (its size, the model's name),
larger renditions of a painting, results of uploads kept under an id (cli.server.results), a verify
pair of indexed paintings, artist pages (metadata from `engine index --artists`, works by date,
painters most alike by the centroid of their paintings' vectors), and the map of the collection.
"""

from __future__ import annotations

import mimetypes
import re
import threading
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from cli.server import service
from cli.server.errors import ApiError
from cli.server.results import ResultStore
from cli.server.state import ServerState
from cli.server.thumbnails import upload_thumbnail
from engine.base.vectors import l2_normalize
from engine.inference.verify import require_calibrated, verdict
from engine.model.shipped import SHIPPED_NAME, is_shipped
from indexer.collection_map import current_map

RENDITION_SIZES = (1024, 2048)  # the viewer's large image: never the untouched original unless asked
UPLOAD_PREVIEW = 512  # the kept copy of an upload, shown next to its result
SIMILAR_ARTISTS = 8
YEAR = re.compile(r"\d{3,4}")


class PageState:
    """What the page's endpoints keep between requests: uploaded results, and per-generation memos."""

    def __init__(self) -> None:
        self.results = ResultStore()
        self._lock = threading.Lock()
        self._memo: dict[str, tuple[tuple, object]] = {}

    def memo(self, key: str, generation: tuple, make):
        """`make()` once per catalogue generation (one computation at a time)."""
        with self._lock:
            cached = self._memo.get(key)
            if cached is None or cached[0] != generation:
                cached = self._memo[key] = (generation, make())
            return cached[1]


def collection(state: ServerState) -> dict:
    """The collection in words: its size, artists, styles, and the model's name."""
    snapshot = state.current()
    labels = state.store.labels_of()
    return {"paintings": snapshot.index.ntotal, "artists": len({l.artist for l in labels.values() if l.artist}),
            "styles": sorted({l.style for l in labels.values() if l.style}), "model": model_name(snapshot.lm)}


def model_name(lm) -> str:
    """A model's name for people: the shipped model's name (its card's), else what it is and when it was trained."""
    if is_shipped(lm.path):
        return SHIPPED_NAME
    trained = ""
    if lm.path and Path(lm.path).is_file():
        day = datetime.fromtimestamp(Path(lm.path).stat().st_mtime, timezone.utc).strftime("%-d %b %Y")
        trained = f", trained {day}"
    return f"{lm.backbone.replace('_', ' ')} ({lm.embedding_dim}-d){trained}"


def rendition(state: ServerState, painting_id: int, size: int) -> Path:
    """A JPEG of the painting, longest side the smallest rendition size >= `size` (cached like thumbnails)."""
    snapped = next((s for s in RENDITION_SIZES if s >= size), RENDITION_SIZES[-1])
    return service.thumbnail(state, painting_id, snapped)


def original(state: ServerState, painting_id: int) -> tuple[str, str]:
    """(the catalogue's own file for this id, its media type): only when a visitor asks for the original."""
    view = service.painting_view(state, painting_id)
    if not Path(view.path).is_file():
        raise ApiError(404, f"the file of painting {painting_id} is gone from disk; re-run `engine index` on its folder")
    return view.path, mimetypes.guess_type(view.path)[0] or "application/octet-stream"


def search_upload(state: ServerState, results: ResultStore, data: bytes, name: str, *, max_pixels: int, **search) -> dict:
    """`service.query_upload`, kept under a result id with a small copy of the upload."""
    answer = service.query_upload(state, data, name, max_pixels=max_pixels, **search)
    result_id = results.add(answer, {"query": upload_thumbnail(data, UPLOAD_PREVIEW, max_pixels=max_pixels)})
    return _kept(results, result_id, {"kind": "query", "name": name, "search": {k: v for k, v in search.items() if v is not None}},
                 {"query": result_image_url(result_id, "query")})


def verify_upload(state: ServerState, results: ResultStore, a: bytes, b: bytes, names: tuple[str, str], *, max_pixels: int) -> dict:
    """`service.verify_uploads`, kept under a result id with small copies of both uploads."""
    answer = service.verify_uploads(state, a, b, max_pixels=max_pixels)
    images = {"a": upload_thumbnail(a, UPLOAD_PREVIEW, max_pixels=max_pixels),
              "b": upload_thumbnail(b, UPLOAD_PREVIEW, max_pixels=max_pixels)}
    result_id = results.add(answer, images)
    return _kept(results, result_id, {"kind": "verify", "names": list(names)},
                 {"a": result_image_url(result_id, "a"), "b": result_image_url(result_id, "b")})


def _kept(results: ResultStore, result_id: str, about: dict, images: dict) -> dict:
    answer = results.answer(result_id)
    answer.update(about, result_id=result_id, images=images)
    return answer


def result_image_url(result_id: str, name: str) -> str:
    return f"/api/results/{result_id}/images/{name}"


def verify_pair(state: ServerState, a: int, b: int) -> dict:
    """Same hand or not, for two indexed paintings (their stored vectors), with both catalogue rows."""
    lm = state.current().lm
    require_calibrated(lm)
    rows = [service.painting_row(state, a), service.painting_row(state, b)]
    vectors = state.store.vectors([a, b])
    return {**verdict(lm, vectors[a], vectors[b]), "kind": "verify", "paintings": rows,
            "images": {"a": rows[0]["thumbnail"], "b": rows[1]["thumbnail"]}}


def artist_list(state: ServerState) -> dict:
    """{"artists": [{"artist", "paintings", "years", "nationality", "movement"}]}, most paintings first."""
    info = state.store.artist_info()
    rows = service.artists(state)["artists"]
    for row in rows:
        known = info.get(row["artist"])
        row.update(years=known.years if known else None, nationality=known.nationality if known else None,
                   movement=known.movement if known else None)
    return {"artists": rows, "described": sum(1 for r in rows if r["years"] or r["movement"])}


def artist_page(state: ServerState, page: PageState, name: str) -> dict:
    """An artist's metadata, works (by date where known, undated last) and the painters most like them."""
    labels = state.store.labels_of()
    wanted = name.strip().lower()
    ids = [pid for pid, l in labels.items() if l.artist and l.artist.lower() == wanted]
    if not ids:
        raise ApiError(404, f"no artist called {name!r} in this collection; pick one from the list of artists")
    artist = labels[ids[0]].artist
    sizes = state.store.painting_sizes(ids)
    works = [{"id": pid, "title": labels[pid].title, "date": labels[pid].date, "style": labels[pid].style,
              "genre": labels[pid].genre, "width": sizes.get(pid, (None, None))[0], "height": sizes.get(pid, (None, None))[1],
              "thumbnail": service.thumbnail_url(pid)} for pid in ids]
    works.sort(key=lambda w: (year_of(w["date"]) is None, year_of(w["date"]) or 0, w["title"] or "", w["id"]))
    info = state.store.artist_info().get(artist)
    centroids = page.memo("centroids", state.current().generation, lambda: artist_centroids(state))
    return {"artist": artist, "paintings": len(works), "info": None if info is None else {
        "years": info.years, "nationality": info.nationality, "movement": info.movement, "bio": info.bio,
        "link": info.link, "extra": info.extra}, "works": works, "similar": most_alike(centroids, artist)}


def year_of(date: str | None) -> int | None:
    match = YEAR.search(date or "")
    return int(match.group()) if match else None


def artist_centroids(state: ServerState) -> dict[str, np.ndarray]:
    """{artist: the L2-normalised mean of their paintings' vectors}."""
    labels = state.store.labels_of()
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = defaultdict(int)
    for ids, vectors in state.store.iter_vectors():
        for pid, vector in zip(ids.tolist(), vectors):
            artist = labels.get(pid).artist if pid in labels else None
            if artist:
                sums[artist] = sums.get(artist, 0) + vector
                counts[artist] += 1
    return {a: l2_normalize(np.asarray(v, np.float32)[None, :])[0] for a, v in sums.items()}


def most_alike(centroids: dict[str, np.ndarray], artist: str, n: int = SIMILAR_ARTISTS) -> list[dict]:
    """The `n` other artists whose centroids are nearest (cosine) to `artist`'s."""
    if artist not in centroids:
        return []
    others = [a for a in centroids if a != artist]
    if not others:
        return []
    sims = np.stack([centroids[a] for a in others]) @ centroids[artist]
    order = np.argsort(-sims, kind="stable")[:n]
    return [{"artist": others[i], "similarity": round(float(sims[i]), 4)} for i in order]


def collection_map(state: ServerState, page: PageState) -> dict:
    """{"method", "count", "points": [{"id", "x", "y", "artist", "style"}]} (laid out on first use, then cached)."""
    generation = state.current().generation
    record = page.memo("map", generation, lambda: current_map(state.store, state.home))
    labels = state.store.labels_of()
    points = [{"id": pid, "x": x, "y": y, "artist": labels[pid].artist if pid in labels else None,
               "style": labels[pid].style if pid in labels else None} for pid, x, y in record["points"]]
    return {"method": record["method"], "count": len(points), "seconds": record["seconds"], "points": points}
