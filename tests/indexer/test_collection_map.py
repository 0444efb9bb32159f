"""indexer.collection_map: the 2D map of the collection, its layouts and its cache in the home."""

from __future__ import annotations

import json

import numpy as np
import pytest

from db.store import CatalogStore
from engine.base.errors import EngineError
from engine.base.home import Home
from indexer.collection_map import SMALL, build_map, cached_map, layout_2d, make_map, map_file
from indexer.pipeline import index_folder
from indexer_kit import gallery
from require_kit import require_module

MAP_EXTRA = "pip install -e '.[map]'"


def _clusters(per: int = 20, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """3 well-separated unit-vector clusters: (vectors, cluster of each)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim)) * 4
    x = np.concatenate([c + rng.normal(size=(per, dim)) for c in centres]).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.repeat(np.arange(3), per)


def _same_cluster_neighbour(xy: np.ndarray, cluster: np.ndarray) -> float:
    """Share of points whose nearest 2D neighbour (brute force) is in their own cluster."""
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float((cluster[d.argmin(axis=1)] == cluster).mean())


def _check_unit_square(xy: np.ndarray, n: int) -> None:
    assert xy.shape == (n, 2) and np.isfinite(xy).all()
    assert xy.min() == pytest.approx(0.0) and xy.max() <= 1.0 + 1e-9
    spans = xy.max(axis=0) - xy.min(axis=0)
    assert spans.max() == pytest.approx(1.0)  # the longer side fills [0, 1]; the other keeps the aspect


def test_few_paintings_are_a_pca_projection_and_bad_methods_are_refused():
    x, _ = _clusters(per=3)
    xy = layout_2d(x[: SMALL - 1])
    _check_unit_square(xy, SMALL - 1)
    assert layout_2d(np.zeros((0, 4), np.float32)).shape == (0, 2)
    with pytest.raises(EngineError, match="unknown map method 'pca2'"):
        layout_2d(x, method="pca2")


@pytest.mark.parametrize("method, module", [("umap", "umap"), ("tsne", "openTSNE")])
def test_neighbours_stay_neighbours(method, module):
    require_module(module, MAP_EXTRA)
    x, cluster = _clusters()
    xy = layout_2d(x, method=method)
    _check_unit_square(xy, len(x))
    assert _same_cluster_neighbour(xy, cluster) >= 0.95
    assert _same_cluster_neighbour(np.random.default_rng(0).random((len(x), 2)), cluster) < 0.7  # what chance gives


def test_the_cache_is_reused_until_the_collection_changes(tmp_path, tiny_model):
    gallery(tmp_path / "art", per_artist=2)  # 6 paintings: below SMALL, a PCA layout (no optional package)
    index_folder(tmp_path / "art", home=tmp_path / "home", model=tiny_model)
    home = Home.resolve(tmp_path / "home")
    first = build_map(home=tmp_path / "home")
    assert (first["paintings"], first["method"], first["reused"]) == (6, "pca", False)
    record = json.loads(map_file(home, json.loads(open(first["path"]).read())["catalog_uid"]).read_text())
    assert len(record["points"]) == 6 and record["seconds"] >= 0
    assert build_map(home=tmp_path / "home")["reused"] is True
    assert build_map(home=tmp_path / "home", force=True)["reused"] is False

    store = CatalogStore(home.catalog_url, create=False)
    try:
        assert cached_map(store, home)["points"] == record["points"]
        store.delete([int(store.ids()[0])])  # a painting removed: the cached map is stale
        assert cached_map(store, home) is None
        assert len(make_map(store, home)["points"]) == 5
        assert len(cached_map(store, home)["points"]) == 5
    finally:
        store.close()
