"""Copies of one painting in a collection: the same file (same sha256) or a near-duplicate (the same work
recompressed, resized, re-cropped or colour-shifted: cosine of the stored embeddings >= a threshold).

`DUPLICATE_COSINE` was measured on a generated set (benchmarks/duplicates.py: engine.synthetic paintings and
real artdata paintings with planted copies, JPEG quality 25-60, resized to 45-80 %, cropped by 3-12 % a side,
colour-shifted), embedded by a model of the default recipe trained on artdata + wikiart; the script saves the
precision and recall of each threshold, the F1-fitted one among them, in benchmarks/results/duplicates.json.
The embedding is one of artistic similarity, not a copy detector: at this threshold the grouped pairs are
copies (high precision) but many copies are missed; a lower `--threshold` finds more at a lower precision.
The default keeps precision because a false duplicate silently drops a genuine vote from `engine query`.

`duplicate_groups` reads only the catalog and the index (no pass over the files): every stored vector
is searched against the index for its `neighbours` nearest paintings; pairs at or above the threshold,
and paintings sharing a sha256, are joined into groups (connected components), largest group first.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from sqlalchemy import func, select

from db.models import Painting
from db.records import PaintingView
from db.bulk import chunks
from db.store import CatalogStore, NothingIndexed
from engine.base.errors import EngineError
from engine.base.home import Home
from indexer.artefacts import index_file
from indexer.config import IndexConfig
from indexer.consistency import open_index
from indexer.vector_index import VectorIndex

DUPLICATE_COSINE = 0.9  # chosen for precision on the generated set: module docstring, benchmarks/results/duplicates.json


@dataclass(frozen=True)
class DuplicateConfig:
    """`threshold`: cosine at or above which two paintings are one work; `neighbours`: how many nearest
    paintings of each are checked (a group larger than this is still found through its members)."""

    threshold: float = DUPLICATE_COSINE
    neighbours: int = 16

    def validate(self) -> "DuplicateConfig":
        if not -1.0 <= self.threshold <= 1.0:
            raise EngineError(f"--threshold {self.threshold} is not a cosine; pass a number in [-1, 1] (default {DUPLICATE_COSINE})")
        if self.neighbours < 1:
            raise EngineError(f"neighbours {self.neighbours} must be 1 or more")
        return self


def is_duplicate(similarity: float, threshold: float = DUPLICATE_COSINE) -> bool:
    return bool(similarity >= threshold)


def ids_by_sha(store: CatalogStore, shas: Iterable[str]) -> dict[str, list[int]]:
    """{sha256: ids of the catalogued files with those bytes}, for the shas that are catalogued."""
    out: dict[str, list[int]] = defaultdict(list)
    with store.session() as s:
        for chunk in chunks(sorted(set(shas))):
            for pid, sha in s.execute(select(Painting.id, Painting.sha256).where(Painting.sha256.in_(chunk)).order_by(Painting.id)):
                out[sha].append(int(pid))
    return dict(out)


def in_collection(view: PaintingView) -> dict:
    """The `in_collection` record of a query that is an indexed painting."""
    return {"id": view.id, "path": view.path, "artist": view.artist}


def find_duplicates(*, home: str | os.PathLike[str] | None = None, db: str | None = None,
                    config: DuplicateConfig = DuplicateConfig()) -> dict:
    """{"threshold", "paintings", "groups": [{"size", "exact", "min_similarity", "paintings": [{"id", "path", "artist"}]}]}
    for the home's collection, largest group first (`engine duplicates`)."""
    config.validate()
    the_home = Home.resolve(home, db=db)
    store = CatalogStore(the_home.catalog_url, create=False)
    try:
        if store.count() == 0:
            raise NothingIndexed(store.url)
        index, _ = open_index(store, index_file(the_home, store.catalog_uid()), dim=store.model_info().embedding_dim,
                              nprobe=IndexConfig().nprobe, verify_sample=IndexConfig().verify_sample)
        groups = duplicate_groups(store, index, config=config)
        return {"threshold": config.threshold, "paintings": index.ntotal, "groups": groups}
    finally:
        store.close()


def duplicate_groups(store: CatalogStore, index: VectorIndex, *, config: DuplicateConfig = DuplicateConfig()) -> list[dict]:
    """Groups of two or more copies (module docstring), largest first, then by smallest id."""
    parent: dict[int, int] = {}
    best: dict[tuple[int, int], float] = {}
    for a, b in _same_bytes_pairs(store):
        _union(parent, a, b)
        best[(a, b)] = 1.0
    k = min(config.neighbours + 1, index.ntotal)
    for ids, vectors in store.iter_vectors():
        sims, found = index.search(np.asarray(vectors, np.float32), k)
        for pid, row_s, row_i in zip(ids.tolist(), sims, found):
            for s, other in zip(row_s.tolist(), row_i.tolist()):
                if other >= 0 and other != pid and s >= config.threshold:
                    _union(parent, pid, other)
                    key = (min(pid, other), max(pid, other))
                    best[key] = max(best.get(key, -1.0), s)
    members: dict[int, list[int]] = defaultdict(list)
    for pid in list(parent):
        members[_find(parent, pid)].append(pid)
    weakest: dict[int, float] = {}
    for (a, _), s in best.items():
        root = _find(parent, a)
        weakest[root] = min(weakest.get(root, 1.0), s)
    views = store.views([pid for group in members.values() for pid in group])
    shas = _shas(store, list(views))
    out = []
    for root, group in members.items():
        group = sorted(pid for pid in group if pid in views)  # a row deleted meanwhile is skipped
        if len(group) < 2:
            continue
        out.append({"size": len(group), "exact": len({shas.get(pid) for pid in group}) == 1,
                    "min_similarity": round(weakest[root], 6),
                    "paintings": [{"id": pid, "path": views[pid].path, "artist": views[pid].artist} for pid in group]})
    return sorted(out, key=lambda g: (-g["size"], g["paintings"][0]["id"]))


def _same_bytes_pairs(store: CatalogStore) -> list[tuple[int, int]]:
    """(first id, other id) for every catalogued file whose sha256 an earlier id already has."""
    with store.session() as s:
        shared = select(Painting.sha256).group_by(Painting.sha256).having(func.count(Painting.id) > 1).subquery()
        rows = s.execute(select(Painting.sha256, Painting.id).where(Painting.sha256.in_(select(shared.c.sha256))).order_by(Painting.id))
        first: dict[str, int] = {}
        pairs = []
        for sha, pid in rows:
            if sha in first:
                pairs.append((first[sha], int(pid)))
            else:
                first[sha] = int(pid)
        return pairs


def _shas(store: CatalogStore, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    with store.session() as s:
        for chunk in chunks(ids):
            out.update({int(pid): sha for pid, sha in s.execute(select(Painting.id, Painting.sha256).where(Painting.id.in_(chunk)))})
    return out


def _find(parent: dict[int, int], x: int) -> int:
    parent.setdefault(x, x)
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _union(parent: dict[int, int], a: int, b: int) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)
