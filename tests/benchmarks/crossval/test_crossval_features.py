"""A FeatureSet's sources: named by the folder each painting came from, or its collection index."""

from __future__ import annotations

import numpy as np

from benchmarks.crossval.features import FeatureSet


def test_a_feature_set_without_sources_uses_its_collection_index_and_take_keeps_sources():
    feats = np.zeros((1, 3, 2), np.float32)
    plain = FeatureSet(feats, np.array(["a", "b", "c"], dtype=object), np.array(["1", "2", "3"], dtype=object), np.array([0, 1, 1]), ["p", "q", "r"])
    assert plain.source_labels().tolist() == ["0", "1", "1"]
    named = FeatureSet(*[getattr(plain, f) for f in ("features", "artists", "groups", "collection", "paths")],
                       np.array(["artdata", "wikiart", "wikiart"], dtype=object))
    assert named.take(np.array([2, 0])).source_labels().tolist() == ["wikiart", "artdata"]
