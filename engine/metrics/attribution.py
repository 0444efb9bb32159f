"""Attribution ("likely artists"): enrol part of each artist's paintings, query with the rest.

k-NN rule: take the `k` enrolled paintings most cosine-similar to the query; each votes for its
artist with weight max(similarity, 0). Artists are ranked by summed votes, ties and artists
without a vote broken by their single most similar enrolled painting. Centroid rule: the artist
whose mean enrolled (unit) embedding is most cosine-similar to the query.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.base.errors import EngineError
from engine.base.vectors import l2_normalize


def enrol_split(
    labels: Sequence[str], *, fraction: float = 0.5, seed: int = 0, groups: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic per-artist split -> (enrolled, queries) index arrays.

    Splits by `groups` (duplicates stay on one side, so a query never meets its own twin).
    An artist with a single group is enrolled only (a distractor); otherwise at least one group
    is enrolled and one queried.
    """
    labels_arr = np.asarray([str(x) for x in labels], dtype=object)
    groups_arr = np.arange(len(labels_arr)).astype(str) if groups is None else np.asarray([str(g) for g in groups], dtype=object)
    rng = np.random.default_rng(seed)
    enrolled: list[int] = []
    for artist in sorted(set(labels_arr.tolist())):
        idx = np.flatnonzero(labels_arr == artist)
        uniq = np.array(sorted(set(groups_arr[idx].tolist())), dtype=object)
        chosen = rng.permutation(uniq)
        n_enrol = len(uniq) if len(uniq) < 2 else min(len(uniq) - 1, max(1, round(fraction * len(uniq))))
        enrolled.extend(idx[np.isin(groups_arr[idx], chosen[:n_enrol])].tolist())
    enrolled_arr = np.array(sorted(enrolled), dtype=np.int64)
    queries = np.setdiff1d(np.arange(len(labels_arr)), enrolled_arr)
    return enrolled_arr, queries


def rank_artists(sims: np.ndarray, gallery_labels: np.ndarray, artists: np.ndarray, *, k: int) -> np.ndarray:
    """Artists ranked best-first for each query by the k-NN vote rule: (Q, G) sims -> (Q, A) indices into `artists`."""
    col = np.searchsorted(artists, gallery_labels)
    k = min(k, sims.shape[1])
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # the k most similar, in any order
    weights = np.maximum(np.take_along_axis(sims, nearest, axis=1), 0)
    votes = np.zeros((len(sims), len(artists)))
    best = np.empty((len(sims), len(artists)))
    for a in range(len(artists)):
        votes[:, a] = np.where(col[nearest] == a, weights, 0).sum(axis=1)
        best[:, a] = sims[:, col == a].max(axis=1)
    return np.lexsort((-best, -votes), axis=1)  # the last key is primary


def attribution_metrics(
    emb: np.ndarray,
    labels: Sequence[str],
    *,
    k: int = 10,
    top: int = 5,
    fraction: float = 0.5,
    seed: int = 0,
    groups: Sequence[str] | None = None,
) -> dict:
    """top1, top5 (k-NN vote) and centroid_top1 over the query half; also queries, enrolled, artists."""
    labels_arr = np.asarray([str(x) for x in labels], dtype=object)
    enrolled, queries = enrol_split(labels_arr, fraction=fraction, seed=seed, groups=groups)
    if len(queries) == 0 or len(set(labels_arr.tolist())) < 2:
        raise EngineError("attribution needs at least 2 artists and one artist with 2 distinct paintings")
    unit = l2_normalize(emb, dtype=np.float64)
    artists = np.array(sorted(set(labels_arr[enrolled].tolist())), dtype=object)
    sims = (unit[queries] @ unit[enrolled].T).astype(np.float32)
    ranked = rank_artists(sims, labels_arr[enrolled], artists, k=k)
    truth = np.searchsorted(artists, labels_arr[queries])
    hit = ranked == truth[:, None]
    return {
        "top1": float(hit[:, 0].mean()),
        f"top{top}": float(hit[:, :top].any(axis=1).mean()),
        "centroid_top1": float(np.mean(_centroid_predict(unit, labels_arr, enrolled, queries, artists) == truth)),
        "queries": int(len(queries)),
        "enrolled": int(len(enrolled)),
        "artists": int(len(artists)),
    }


def _centroid_predict(unit, labels_arr, enrolled, queries, artists) -> np.ndarray:
    centroids = l2_normalize(np.stack([unit[enrolled][labels_arr[enrolled] == a].mean(axis=0) for a in artists]), dtype=np.float64)
    return np.argmax(unit[queries] @ centroids.T, axis=1)
