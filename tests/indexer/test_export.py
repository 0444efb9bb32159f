"""engine export: vectors and metadata row-aligned in clip-retrieval's layout, read back exactly."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from indexer_kit import gallery, session_model, stored_vectors

from cli.app import main
from db.store import CatalogStore
from engine.base.errors import EngineError
from engine.base.home import Home
from indexer.export import ExportConfig, export_catalog


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    model = session_model(tmp_path_factory)
    root = tmp_path_factory.mktemp("export")
    gallery(root / "art", per_artist=3)
    home = root / "home"
    assert main(["index", str(root / "art"), "--home", str(home), "--model", str(model), "--json"]) == 0
    return home


def _read_back(out, fmt):
    shards = sorted((out / "img_emb").glob("img_emb_*.npy"), key=lambda p: int(p.stem.split("_")[-1]))
    vectors, rows = [], []
    for path in shards:
        k = path.stem.split("_")[-1]
        v = np.load(path)
        meta = (pq.read_table(out / "metadata" / f"metadata_{k}.parquet").to_pylist() if fmt == "parquet"
                else [dict(zip(r.dtype.names, r.tolist())) for r in np.load(out / "metadata" / f"metadata_{k}.npy")])
        assert len(v) == len(meta)  # row-aligned shard by shard
        vectors.append(v)
        rows += meta
    return np.concatenate(vectors), rows


@pytest.mark.parametrize("fmt, shard_size", [("parquet", 100_000), ("npy", 4)])
def test_round_trip(indexed, tmp_path, fmt, shard_size):
    out = tmp_path / "export"
    summary = export_catalog(out, home=indexed, config=ExportConfig(format=fmt, shard_size=shard_size))
    vectors, rows = _read_back(out, fmt)
    expected = stored_vectors(indexed)  # {path: vector} straight from the catalog
    assert summary["count"] == len(rows) == len(expected) == 9
    assert summary["shards"] == (1 if shard_size > 9 else 3)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    for row, vector in zip(rows, vectors):
        assert np.array_equal(vector, expected[row["image_path"]])
    store = CatalogStore(Home.resolve(indexed).catalog_url, create=False)
    try:
        views = store.views([r["id"] for r in rows])
    finally:
        store.close()
    for row in rows:
        view = views[row["id"]]
        assert (row["image_path"], row["artist"]) == (view.path, view.artist)
    record = json.loads((out / "export.json").read_text())
    assert record["model"]["embedding_dim"] == vectors.shape[1] and record["count"] == 9 and record["format"] == fmt


def test_refuses_a_non_empty_folder_and_leaves_it_alone(indexed, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(EngineError, match="not empty"):
        export_catalog(out, home=indexed)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_cli_global_home_json_and_bad_format(indexed, tmp_path, capsys):
    capsys.readouterr()
    assert main(["--home", str(indexed), "export", str(tmp_path / "e"), "--format", "npy", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 9
    assert main(["export", str(tmp_path / "f"), "--format", "csv", "--home", str(indexed)]) == 1
    assert "--format parquet or --format npy" in capsys.readouterr().err
    assert not (tmp_path / "f").exists()


def test_nothing_indexed(tmp_path, capsys):
    assert main(["export", str(tmp_path / "e"), "--home", str(tmp_path / "empty")]) == 1
    assert "nothing indexed" in capsys.readouterr().err
