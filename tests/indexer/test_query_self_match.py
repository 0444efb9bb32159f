"""query_images never lets a painting attribute itself: a catalogued query file (same sha256) is
`in_collection` and not its own match; a recompressed copy finds the original flagged as a duplicate;
neither counts in the vote or the probabilities."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from engine.calibrate.attribution import AttributionCalibration
from engine.model.checkpoint import update_calibration
from indexer.pipeline import index_folder
from indexer.search import query_images, rank_artists, with_probabilities
from indexer_kit import CALIBRATION, stored_vectors

CAL = AttributionCalibration(w_best=4.0, w_vote=3.0, bias=-6.0, k=10)


@pytest.fixture
def indexed(art, home, tiny_model, tmp_path):
    model = tmp_path / "calibrated" / "model.pt"
    model.parent.mkdir()
    shutil.copy(tiny_model, model)
    update_calibration(model, threshold=0.6, calibration=CALIBRATION, attribution=CAL.to_dict())
    index_folder(art, home=home, model=model)
    return art, home, model


def _recompressed(src, dst):
    # quality 90: the 48-px noise paintings of the gallery are mostly noise, which harsher JPEG rewrites
    Image.open(src).convert("RGB").save(dst, format="JPEG", quality=90)
    return dst


def _expected(result):
    voters = [m for m in result["matches"] if not m["duplicate"]]
    return with_probabilities(rank_artists(voters), voters, CAL)


def test_an_indexed_file_is_in_collection_and_not_its_own_match(indexed):
    art, home, model = indexed
    query = art / "Ann Red" / "1.jpg"
    (result,) = query_images([query], home=home, model=model, k=6, duplicate_threshold=1.01)["results"]
    assert result["in_collection"]["path"] == str(query.resolve()) and result["in_collection"]["artist"] == "Ann Red"
    assert isinstance(result["in_collection"]["id"], int)
    assert str(query.resolve()) not in [m["path"] for m in result["matches"]] and len(result["matches"]) == 6
    artists, unknown = _expected(result)
    assert result["artists"] == artists and result["unknown"] == unknown
    # its own label would have added a vote of 1.0 (similarity 1): the Ann Red vote is that of the other matches alone
    others = sum(m["similarity"] for m in result["matches"] if m["artist"] == "Ann Red")
    total = sum(max(m["similarity"], 0) for m in result["matches"] if m["artist"])
    assert {a["artist"]: a["vote"] for a in result["artists"]}["Ann Red"] == pytest.approx(others / total, abs=1e-5)


def test_a_recompressed_copy_finds_the_original_as_a_duplicate_that_does_not_vote(indexed, tmp_path):
    art, home, model = indexed
    original = art / "Bob Green" / "2.jpg"
    copy = _recompressed(original, tmp_path / "copy.jpg")
    vectors = stored_vectors(home)
    (plain,) = query_images([copy], home=home, model=model, k=6, duplicate_threshold=1.01)["results"]
    assert plain["in_collection"] is None and plain["matches"][0]["path"] == str(original.resolve())
    to_original = plain["matches"][0]["similarity"]
    to_others = max(float(vectors[str(original.resolve())] @ v) for p, v in vectors.items() if p != str(original.resolve()))
    assert to_original > to_others  # the copy is nearer its original than any other painting is
    threshold = (to_original + max(to_others, plain["matches"][1]["similarity"])) / 2
    (result,) = query_images([copy], home=home, model=model, k=6, duplicate_threshold=threshold)["results"]
    first, rest = result["matches"][0], result["matches"][1:]
    assert first["path"] == str(original.resolve()) and first["duplicate"] is True
    assert not any(m["duplicate"] for m in rest)
    artists, unknown = _expected(result)
    assert result["artists"] == artists and result["unknown"] == unknown
    assert result["artists"] != plain["artists"]  # the original's label no longer counts


def test_the_stored_vector_is_used_for_an_indexed_file(indexed, monkeypatch):
    art, home, model = indexed
    import indexer.search as search

    def refuse(lm, images):
        raise AssertionError(f"embedded {images}")

    monkeypatch.setattr(search, "embed_queries", refuse)
    (result,) = query_images([art / "Cid Blue" / "0.jpg"], home=home, model=model, k=3)["results"]
    assert result["in_collection"]["artist"] == "Cid Blue"
    assert np.isfinite([m["similarity"] for m in result["matches"]]).all()
