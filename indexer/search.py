"""`query_images`: nearest indexed paintings and the likely artists of one or more query images.

Artist score (a similarity-weighted vote of the k neighbours):
    score_a = sum of max(similarity, 0) over a's paintings among the top-k, normalised so the scores sum to 1
(neighbours of unknown artist take part in the top-k but not in the vote; all scores are 0 when no
neighbour has a positive similarity). Filters (`artist`, `style`, `date`) are resolved in SQL to a
set of ids that FAISS searches within (an id selector), so the top-k is always full when at least
k paintings match. Each artist also gets a calibrated "probability" and each result an "unknown"
(P(the painter is none of the listed artists)), by engine.calibrate.attribution over the first k=10 matches.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from db.records import PaintingView
from db.store import CatalogStore, NothingIndexed
from engine.model.checkpoint import LoadedModel
from engine.inference.embedding import embed_paths
from engine.inference.forward_plan import small_job_plan
from engine.base.errors import EngineError
from engine.base.home import Home
from engine.calibrate.attribution import AttributionCalibration, resolve_calibration
from indexer.artefacts import index_file
from indexer.config import IndexConfig
from indexer.consistency import open_index
from indexer.home_copy import keep_home_copy
from indexer.index_model import index_model
from engine.inference.model_choice import ModelChoice, warn_if_synthetic
from engine.base.vectors import l2_normalize
from indexer.vector_index import VectorIndex

logger = logging.getLogger(__name__)

DEFAULT_K = 10


def query_images(
    images: Sequence[str | os.PathLike[str]],
    *,
    home: str | os.PathLike[str] | None = None,
    db: str | None = None,
    k: int | None = None,
    artist: str | None = None,
    style: str | None = None,
    date: str | None = None,
    model: str | os.PathLike[str] | None = None,
    config: IndexConfig = IndexConfig(),
) -> dict:
    """{"results": [{"query", "matches": [{"path", "artist", "similarity"}], "artists": [{"artist", "score", "probability"}],
    "unknown"}]} (probability and unknown null for a model without calibration).

    `k`: neighbours per query; an explicit k larger than the index is an error, the default
    (None: DEFAULT_K) is clamped to the index size.
    """
    if k is not None and k < 1:
        raise EngineError(f"-k {k} is not a positive number; pass -k 1 or more")
    if not images:
        raise EngineError("no query image given; pass one or more image paths")
    the_home = Home.resolve(home, db=db)
    store = CatalogStore(the_home.catalog_url, create=False)
    try:
        lm, index = open_search(store, the_home, model, config)
        warn_if_synthetic(lm, images)
        found = search_embedded(store, index, embed_queries(lm, images), images, k=k, artist=artist, style=style, date=date,
                                attribution=resolve_calibration(lm.attribution))
        used = ModelChoice(lm.path, "option" if model is not None else "index")
        return {**found, "model_used": used.describe(lm)}
    finally:
        store.close()


def search_embedded(store: CatalogStore, index: VectorIndex, queries: np.ndarray, names: Sequence, *, k: int | None = None,
                    artist: str | None = None, style: str | None = None, date: str | None = None, with_ids: bool = False,
                    attribution: AttributionCalibration | None = None) -> dict:
    """`query_images`'s answer for (Q, D) L2-normalised query vectors (one name each) against an open catalog
    and index, e.g. held by a long-running server (cli.server); `with_ids` adds each match's catalog "id";
    `attribution` (the model's: `resolve_calibration(lm.attribution)`) gives the probabilities."""
    allowed = _allowed_ids(store, artist=artist, style=style, date=date)
    k = _checked_k(k, index.ntotal, allowed)
    sims, ids = index.search(queries, k, allowed=allowed)
    views = store.views(np.unique(ids[ids >= 0]).tolist())
    return {"results": [_result(str(q), s, i, views, with_ids=with_ids, attribution=attribution) for q, s, i in zip(names, sims, ids)]}


def open_search(store: CatalogStore, home: Home, model, config: IndexConfig = IndexConfig(), *,
                keep_copy: bool = True) -> tuple[LoadedModel, VectorIndex]:
    """(model, index reconciled with the catalog; with `keep_copy`, kept as the home's file when that was missing
    or stale, see indexer.home_copy); EngineError when nothing is indexed or the model differs."""
    stored, uid = store.model_info(), store.catalog_uid()
    if stored is None or uid is None or store.count() == 0:
        raise NothingIndexed(store.url)
    lm = index_model(home, stored, model)  # --model, else the model that built the index
    # Reconciled with the catalog in memory, then kept as this home's file if it was missing or stale and the
    # home is free (a second home of a shared catalog rebuilds its own file from the stored vectors).
    path = index_file(home, uid)
    index, repair = open_index(store, path, dim=stored.embedding_dim, nprobe=config.nprobe, verify_sample=config.verify_sample)
    if keep_copy:
        keep_home_copy(store, index, repair, path, home=home, model=stored, config=config)
    return lm, index


def _allowed_ids(store: CatalogStore, *, artist: str | None, style: str | None, date: str | None) -> np.ndarray | None:
    if artist is None and style is None and date is None:
        return None
    ids = store.filter_ids(artist=artist, style=style, date=date)
    if not len(ids):
        given = ", ".join(f"--{n} {v!r}" for n, v in (("artist", artist), ("style", style), ("date", date)) if v is not None)
        hint = _artist_hint(store, artist) if artist is not None else "check the spelling"
        raise EngineError(f"no indexed painting matches {given}; {hint}")
    return ids


def _artist_hint(store: CatalogStore, artist: str) -> str:
    import difflib

    close = difflib.get_close_matches(artist, store.artist_names(), n=3, cutoff=0.5)
    return f"did you mean {', '.join(repr(c) for c in close)}?" if close else "run without --artist to see the indexed artists"


def _checked_k(k: int | None, total: int, allowed: np.ndarray | None) -> int:
    if k is None:
        k = min(DEFAULT_K, total)
    elif k > total:
        raise EngineError(f"-k {k} is larger than the index ({total} paintings); pass -k {total} or less")
    if allowed is not None and k > len(allowed):
        logger.warning("only %d indexed paintings match the filters; returning %d matches", len(allowed), len(allowed))
        return len(allowed)
    return k


def embed_queries(lm: LoadedModel, images: Sequence[str | os.PathLike[str]]) -> np.ndarray:
    """(Q, D) L2-normalised query vectors; EngineError naming the first unreadable image."""
    result = embed_paths(lm, [str(p) for p in images], num_workers=0, plan=small_job_plan(len(images), lm.device))
    if result.errors:
        index, reason = result.errors[0]
        path = Path(images[index])
        if reason == "missing":
            raise EngineError(f"query image not found: {path}; check the path")
        raise EngineError(f"cannot read query image {path} ({reason}); pass a readable image file (JPEG, PNG, ...)")
    vectors = l2_normalize(result.vectors)
    if not np.isfinite(vectors).all():
        raise EngineError(f"the model gave a NaN/inf embedding for a query image: {lm.path} is probably damaged; re-train or restore it")
    return vectors


def _result(query: str, sims: np.ndarray, ids: np.ndarray, views: dict[int, PaintingView], *, with_ids: bool = False,
            attribution: AttributionCalibration | None = None) -> dict:
    matches = [
        {"path": views[int(i)].path, "artist": views[int(i)].artist, "similarity": round(float(s), 6),
         **({"id": int(i)} if with_ids else {})}
        for s, i in zip(sims, ids)
        if i >= 0 and int(i) in views  # a row deleted by a concurrent indexer is skipped
    ]
    artists, unknown = with_probabilities(rank_artists(matches), matches, attribution)
    return {"query": query, "matches": matches, "artists": artists, "unknown": unknown}


def rank_artists(matches: list[dict]) -> list[dict]:
    """Similarity-weighted vote: score_a = sum(max(sim, 0) for a's matches) / sum over all artists."""
    votes: dict[str, float] = defaultdict(float)
    for match in matches:
        if match["artist"]:
            votes[match["artist"]] += max(match["similarity"], 0.0)
    total = sum(votes.values())
    ranked = [{"artist": a, "score": round(v / total, 6) if total > 0 else 0.0} for a, v in votes.items()]
    return sorted(ranked, key=lambda r: (-r["score"], r["artist"]))


def with_probabilities(ranked: list[dict], matches: list[dict], attribution: AttributionCalibration | None) -> tuple[list[dict], float | None]:
    """Each ranked artist gains "probability" (P(painted by them)); also P(none of them), the "unknown".

    engine.calibrate.attribution's rule over the matches; None everywhere for a model without calibration.
    """
    if attribution is None:
        return [{**r, "probability": None} for r in ranked], None
    named, unknown = attribution.probabilities([m["similarity"] for m in matches], [m["artist"] for m in matches])
    return [{**r, "probability": round(named.get(r["artist"], 0.0), 6)} for r in ranked], round(unknown, 6)
