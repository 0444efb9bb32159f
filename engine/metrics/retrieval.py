"""Leave-one-out retrieval over one split: precision@1 and MAP@R (Musgrave et al. 2020).

Each painting queries all the others by cosine similarity; itself and its duplicates (equal
`groups`) are removed from its gallery. With R = the number of other paintings by the query's
artist, MAP@R = mean over queries of (1/R) * sum_{i<=R} precision@i * [i-th result relevant].
Queries whose artist has no other painting are skipped (as AccuracyCalculator does).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.base.errors import EngineError
from engine.base.vectors import l2_normalize


def retrieval_metrics(
    emb: np.ndarray, labels: Sequence[str], *, groups: Sequence[str] | None = None, chunk: int = 512
) -> dict:
    """{"precision_at_1", "map_at_r", "queries"} over all queries with R >= 1."""
    labels_arr = np.asarray([str(x) for x in labels], dtype=object)
    _, codes = np.unique(labels_arr, return_inverse=True)
    groups_arr = np.arange(len(codes)) if groups is None else np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)[1]
    unit = l2_normalize(np.asarray(emb, dtype=np.float64), dtype=np.float64).astype(np.float32)
    p1, apr = [], []
    for start in range(0, len(codes), chunk):
        rows = np.arange(start, min(start + chunk, len(codes)))
        p, a = _chunk_scores(unit, codes, groups_arr, rows)
        p1.append(p)
        apr.append(a)
    p1_all, apr_all = np.concatenate(p1), np.concatenate(apr)
    valid = ~np.isnan(p1_all)
    if not valid.any():
        raise EngineError("retrieval needs an artist with at least 2 distinct paintings")
    return {"precision_at_1": float(p1_all[valid].mean()), "map_at_r": float(apr_all[valid].mean()), "queries": int(valid.sum())}


def _chunk_scores(unit, codes, groups, rows) -> tuple[np.ndarray, np.ndarray]:
    sims = unit[rows] @ unit.T
    excluded = groups[None, :] == groups[rows][:, None]  # self and duplicates
    sims[excluded] = -np.inf
    relevant = (codes[None, :] == codes[rows][:, None]) & ~excluded
    r = relevant.sum(axis=1)
    top = max(int(r.max()), 1)
    order = np.argpartition(-sims, top - 1, axis=1)[:, :top]  # only the first R_max ranks matter
    order = np.take_along_axis(order, np.argsort(-np.take_along_axis(sims, order, axis=1), axis=1, kind="stable"), axis=1)
    hits = np.take_along_axis(relevant, order, axis=1)
    ranks = np.arange(1, hits.shape[1] + 1)
    within_r = ranks[None, :] <= r[:, None]
    prec = np.cumsum(hits, axis=1) / ranks
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (prec * hits * within_r).sum(axis=1) / r
    p1 = hits[:, 0].astype(np.float64)
    p1[r == 0] = np.nan
    ap[r == 0] = np.nan
    return p1, ap
