"""Table helpers: paths keep their file name (the middle is shortened), shown under their common folder."""

from __future__ import annotations

import os

from hypothesis import given, strategies as st

from cli.output import shorten_path, under_common_folder

PATH = "/work/shared/artdata/train/Rembrandt_12.jpg"


def test_short_paths_are_kept():
    assert shorten_path(PATH, len(PATH)) == PATH


def test_middle_is_dropped_keeping_folder_and_name():
    short = shorten_path(PATH, 32)
    assert len(short) == 32 and short.endswith("/train/Rembrandt_12.jpg") and short.startswith("/work/") and "…" in short


def test_name_alone_when_nothing_else_fits():
    assert shorten_path(PATH, 16) == "Rembrandt_12.jpg"
    assert shorten_path(PATH, 10) == "…dt_12.jpg"


@given(st.lists(st.text(alphabet="abc_é.", min_size=1, max_size=12), min_size=1, max_size=6), st.integers(2, 60))
def test_never_longer_than_width_and_ends_like_the_name(parts, width):
    path = "/" + "/".join(parts)
    short = shorten_path(path, width)
    assert len(short) <= max(width, 0)
    name = parts[-1]
    assert short.endswith(name if len(name) <= width else name[len(name) - width + 1:])


def test_common_folder():
    paths = ["/data/art/a/1.jpg", "/data/art/b/2.jpg"]
    assert under_common_folder(paths) == ("/data/art", [os.path.join("a", "1.jpg"), os.path.join("b", "2.jpg")])
    assert under_common_folder(["/data/1.jpg"]) == (None, ["/data/1.jpg"])
    assert under_common_folder(["/a/1.jpg", "/b/2.jpg"]) == (None, ["/a/1.jpg", "/b/2.jpg"])
