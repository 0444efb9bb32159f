"""The source of each prepared painting: the folder `engine prepare` read it from, named by the part that tells folders apart."""

from __future__ import annotations

import pandas as pd

from engine.data.source_names import manifest_sources, source_names


def test_source_names_skip_shared_and_generic_folder_parts():
    assert source_names(["/w/shared/artdata/train", "/w/shared/wikiart/train", "/w/shared/artdata/train"]) == {
        "/w/shared/artdata/train": "artdata", "/w/shared/wikiart/train": "wikiart"}
    assert source_names(["/w/shared/artdata/train"]) == {"/w/shared/artdata/train": "artdata"}
    assert source_names(["/a/x", "/b/y"]) == {"/a/x": "x", "/b/y": "y"}
    assert source_names(["/a/x", "/b/x", "/c/y"]) == {"/a/x": "/a/x", "/b/x": "/b/x", "/c/y": "/c/y"}  # x would collide


def test_manifest_sources_name_each_rows_original_folder(tmp_path):
    frame = pd.DataFrame({"source": ["/w/s/../s/artdata/train/a.jpg", "/w/s/wikiart/train/b.jpg", "/w/s/artdata/train/c.jpg"]})
    assert manifest_sources(frame, tmp_path) == ["artdata", "wikiart", "artdata"]
    assert manifest_sources(pd.DataFrame({"path": ["x.jpg"]}), tmp_path / "prep") == ["prep"]  # no source column: the folder
