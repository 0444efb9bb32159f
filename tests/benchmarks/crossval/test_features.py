"""The source of each painting: the folder `engine prepare` read it from, named by the part that tells folders apart."""

from __future__ import annotations

import numpy as np

from benchmarks.crossval.features import FeatureSet, source_names


def test_source_names_skip_shared_and_generic_folder_parts():
    assert source_names(["/w/shared/artdata/train", "/w/shared/wikiart/train", "/w/shared/artdata/train"]) == {
        "/w/shared/artdata/train": "artdata", "/w/shared/wikiart/train": "wikiart"}
    assert source_names(["/w/shared/artdata/train"]) == {"/w/shared/artdata/train": "artdata"}
    assert source_names(["/a/x", "/b/y"]) == {"/a/x": "x", "/b/y": "y"}
    assert source_names(["/a/x", "/b/x", "/c/y"]) == {"/a/x": "/a/x", "/b/x": "/b/x", "/c/y": "/c/y"}  # x would collide


def test_a_feature_set_without_sources_uses_its_collection_index_and_take_keeps_sources():
    feats = np.zeros((1, 3, 2), np.float32)
    plain = FeatureSet(feats, np.array(["a", "b", "c"], dtype=object), np.array(["1", "2", "3"], dtype=object), np.array([0, 1, 1]), ["p", "q", "r"])
    assert plain.source_labels().tolist() == ["0", "1", "1"]
    named = FeatureSet(*[getattr(plain, f) for f in ("features", "artists", "groups", "collection", "paths")],
                       np.array(["artdata", "wikiart", "wikiart"], dtype=object))
    assert named.take(np.array([2, 0])).source_labels().tolist() == ["wikiart", "artdata"]
