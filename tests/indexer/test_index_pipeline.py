"""index_folder end to end on tiny galleries: add / change / move / copy / delete / prune, labels, bad files."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from engine.inference.embedding import embed_paths
from engine.base.errors import EngineError
from indexer.config import IndexConfig
from indexer.lock import IndexLock
from indexer.pipeline import index_folder
from indexer_kit import cached_load_model, catalog_state, painting, stored_vectors

KEYS = {"added", "updated", "removed", "skipped", "total", "images_per_second"}


def _index(art, home, model, **kw):
    return index_folder(art, home=home, model=model, **kw)


def test_first_run_indexes_everything_with_folder_artists(art, home, tiny_model):
    result = _index(art, home, tiny_model)
    assert KEYS <= set(result)
    assert (result["added"], result["updated"], result["removed"], result["total"]) == (12, 0, 0, 12)
    assert result["skipped"] == [] and result["images_per_second"] > 0 and result["index_type"] == "flat"
    state = catalog_state(home)
    assert {os.path.relpath(p, art.resolve()): a for p, (_, a) in state.items()}["Bob Green/2.jpg"] == "Bob Green"
    # stored vectors are the model's L2-normalised embeddings of the files
    vectors = stored_vectors(home)
    paths = sorted(vectors)
    fresh = embed_paths(cached_load_model(tiny_model), paths, num_workers=0).vectors
    fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
    np.testing.assert_allclose(np.stack([vectors[p] for p in paths]), fresh, atol=1e-4)
    assert (home / "index.json").is_file() and not (home / "index.lock").read_text().strip() == ""


def test_rerun_embeds_nothing(art, home, tiny_model):
    _index(art, home, tiny_model)
    before = catalog_state(home)
    again = _index(art, home, tiny_model)
    assert (again["added"], again["updated"], again["embedded"], again["total"]) == (0, 0, 0, 12)
    assert catalog_state(home) == before


def test_change_move_copy_delete_prune(art, home, tiny_model):
    _index(art, home, tiny_model)
    before = catalog_state(home)
    red = art / "Ann Red"
    painting(red / "0.jpg", colour=(10, 10, 10), seed=999)  # changed content
    moved_from, moved_to = str((red / "1.jpg").resolve()), str((art / "Cid Blue" / "moved.jpg").resolve())
    shutil.move(red / "1.jpg", moved_to)  # moved (keeps its vector)
    shutil.copy(red / "2.jpg", art / "Bob Green" / "copy.jpg")  # a copy: vector reused
    (red / "3.jpg").unlink()  # deleted
    result = _index(art, home, tiny_model)
    assert result["embedded"] == 1 and result["reused_vectors"] == 1 and result["moved"] == 1
    assert (result["added"], result["updated"], result["removed"], result["missing"]) == (1, 2, 0, 1)
    after = catalog_state(home)
    assert after[moved_to][0] == before[moved_from][0]  # same row, same vector id
    assert after[str((red / "0.jpg").resolve())][0] != before[str((red / "0.jpg").resolve())][0]
    assert str((red / "3.jpg").resolve()) in after and result["total"] == 13
    pruned = _index(art, home, tiny_model, prune=True)
    assert (pruned["removed"], pruned["total"], pruned["embedded"]) == (1, 12, 0)
    assert str((red / "3.jpg").resolve()) not in catalog_state(home)


def test_bad_files_are_skipped_with_reasons(art, home, tiny_model):
    (art / "Ann Red" / "empty.jpg").write_bytes(b"")
    (art / "Ann Red" / "text.png").write_text("not an image")
    good = (art / "Ann Red" / "0.jpg").read_bytes()
    (art / "Ann Red" / "truncated.jpg").write_bytes(good[: len(good) // 3])
    result = _index(art, home, tiny_model)
    reasons = {os.path.basename(s["path"]): s["reason"] for s in result["skipped"]}
    assert reasons["empty.jpg"] == "empty" and reasons["text.png"] == "not_an_image"
    assert "truncated.jpg" in reasons or result["total"] == 13  # Pillow may decode a truncated JPEG's top part
    assert all(os.path.basename(p) not in ("empty.jpg", "text.png") for p in catalog_state(home))


def test_labels_csv_gives_artist_title_style_and_relabels(art, home, tiny_model, tmp_path):
    csv = tmp_path / "labels.csv"
    csv.write_text("filename,artist,title,style,genre,date\n0.jpg,Zed,Sunrise,Cubism,landscape,1912\n", encoding="utf-8")
    _index(art, home, tiny_model, labels=csv)
    state = catalog_state(home)
    artists = {os.path.relpath(p, art.resolve()): a for p, (_, a) in state.items()}
    assert {artists[f"{a}/0.jpg"] for a in ("Ann Red", "Bob Green", "Cid Blue")} == {"Zed"}  # matched by name
    assert artists["Ann Red/1.jpg"] == "Ann Red"  # not in the CSV: folder layout
    csv.write_text("filename,artist\n0.jpg,Yves\n", encoding="utf-8")
    result = _index(art, home, tiny_model, labels=csv)
    assert result["relabelled"] == 3 and result["embedded"] == 0


def test_flat_folder_without_labels_has_unknown_artists(tmp_path, home, tiny_model):
    for i in range(3):
        painting(tmp_path / "flat" / f"{i}.png", colour=(90, 90, 90), seed=i, fmt="PNG")
    _index(tmp_path / "flat", home, tiny_model)
    assert {a for _, a in catalog_state(home).values()} == {None}


def test_another_model_is_refused_until_reindex(art, home, tiny_model, other_model):
    _index(art, home, tiny_model)
    with pytest.raises(EngineError, match="re-index with `engine index FOLDER --reindex`"):
        _index(art, home, other_model)
    result = _index(art, home, other_model, config=IndexConfig(reindex=True))
    assert result["added"] == 12 and result["total"] == 12
    assert catalog_state(home)


def test_concurrent_indexer_is_refused(art, home, tiny_model):
    home.mkdir(parents=True)
    with IndexLock(home / "index.lock"):
        with pytest.raises(EngineError, match="another `engine index` is running on this home"):
            _index(art, home, tiny_model)


def test_missing_model_and_folder_are_one_line_errors(art, home, tmp_path, tiny_model, monkeypatch):
    monkeypatch.setattr("engine.model.shipped.SHIPPED_MODEL", tmp_path / "no-shipped-model.pt")  # a build without it
    with pytest.raises(EngineError, match="no trained model in"):
        index_folder(art, home=home)
    with pytest.raises(EngineError, match="model not found"):
        _index(art, home, tmp_path / "nope.pt")
    with pytest.raises(EngineError, match="folder not found"):
        _index(tmp_path / "nope", home, tiny_model)


def test_approximate_index_reports_recall(art, home, tiny_model):
    result = _index(art, home, tiny_model, config=IndexConfig(approx_threshold=10))
    assert result["index_type"] == "ivf" and 0.0 <= result["recall_at_10"] <= 1.0
    catalog_state(home)
    again = _index(art, home, tiny_model, config=IndexConfig(approx_threshold=10))
    assert again["index_type"] == "ivf" and again["recall_at_10"] == result["recall_at_10"]


def test_forward_rate_is_measured_on_request(art, home, tiny_model):
    result = _index(art, home, tiny_model, config=IndexConfig(measure_forward_s=0.2, batch_size=4, streams=2))
    assert result["forward_images_per_second"] > 0 and result["efficiency"] > 0
    assert result["inference"] == {"batch_size": 4, "streams": 2, "threads": None, "source": "options", "measured": {}}


def test_streams_store_the_same_vectors_as_one_forward(art, tmp_path, tiny_model):
    _index(art, tmp_path / "one", tiny_model, config=IndexConfig(batch_size=16))
    _index(art, tmp_path / "two", tiny_model, config=IndexConfig(batch_size=2, streams=2, torch_threads=1))
    one, two = stored_vectors(tmp_path / "one"), stored_vectors(tmp_path / "two")
    assert one.keys() == two.keys() and len(one) == 12
    for path in one:
        np.testing.assert_allclose(two[path], one[path], rtol=1e-4, atol=1e-5)


def test_non_finite_embeddings_are_skipped_not_stored(art, home, tiny_model, monkeypatch):
    from indexer import embed_loop

    real = embed_loop.embed_paths

    def one_nan(*args, **kwargs):
        result = real(*args, **kwargs)
        result.vectors[0] = np.nan
        return result

    monkeypatch.setattr(embed_loop, "embed_paths", one_nan)
    result = _index(art, home, tiny_model)
    assert [s["reason"] for s in result["skipped"]] == ["non_finite_embedding"] and result["total"] == 11
    assert all(np.isfinite(v).all() for v in stored_vectors(home).values())


def test_storage_failures_are_one_line_errors(art, home, tiny_model, monkeypatch):
    import errno

    import engine.base.atomic as atomic

    _index(art, home, tiny_model)
    painting(art / "Ann Red" / "new.jpg", colour=(1, 2, 3), seed=5)

    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic, "_fsync_file", full)
    with pytest.raises(EngineError, match="no space left on the device of .*; free some space and re-run"):
        _index(art, home, tiny_model)
    monkeypatch.undo()
    assert not list(home.glob(".*.tmp"))
    assert _index(art, home, tiny_model)["total"] == 13


def test_temp_files_of_a_killed_save_are_removed(art, home, tiny_model):
    _index(art, home, tiny_model)
    (home / ".index.faiss.abc123.tmp").write_bytes(b"half an index")
    (home / ".index.json.x.tmp").write_bytes(b"{")
    _index(art, home, tiny_model)
    assert not list(home.glob(".*.tmp"))


def test_another_catalog_url_gets_its_own_index_file(art, home, tiny_model, tmp_path):
    from indexer.search import query_images

    db = f"sqlite:///{tmp_path / 'elsewhere' / 'other.sqlite'}"
    result = index_folder(art, home=home, db=db, model=tiny_model)
    assert result["total"] == 12 and not (home / "index.faiss").exists()
    assert len(list(home.glob("index-*.faiss"))) == 1
    (answer,) = query_images([art / "Ann Red" / "1.jpg"], home=home, db=db, model=tiny_model, k=1)["results"]
    assert answer["in_collection"]["path"] == str((art / "Ann Red" / "1.jpg").resolve()) and len(answer["matches"]) == 1
