"""scan_folder: recursion, symlinks, non-images."""

from __future__ import annotations

import hashlib
import os

import pytest

from engine.base.errors import EngineError
from engine.data.hashing import file_sha256
from indexer.scan import image_size, scan_folder


def test_walks_recursively_and_ignores_non_image_names(tmp_path, image_factory):
    image_factory("art/a/1.jpg")
    image_factory("art/a/deep/2.PNG", fmt="PNG")
    image_factory("art/3.jpg")
    (tmp_path / "art" / "notes.txt").write_text("hello")
    scan = scan_folder(tmp_path / "art")
    assert [f.rel for f in scan.files] == ["3.jpg", "a/1.jpg", "a/deep/2.PNG"]
    assert scan.skipped == []
    f = scan.files[1]
    assert f.path == str((tmp_path / "art" / "a" / "1.jpg").resolve())
    assert f.size == os.path.getsize(f.path)


def test_symlinks_never_leave_the_folder_nor_loop(tmp_path, image_factory):
    image_factory("outside/x.jpg")
    image_factory("art/a/1.jpg")
    art = tmp_path / "art"
    (art / "a" / "loop").symlink_to(art)  # loop back to the root
    (art / "out").symlink_to(tmp_path / "outside")  # folder outside
    (art / "x.jpg").symlink_to(tmp_path / "outside" / "x.jpg")  # file outside
    (art / "alias.jpg").symlink_to(art / "a" / "1.jpg")  # same file, second name
    (art / "broken.jpg").symlink_to(tmp_path / "nowhere.jpg")
    scan = scan_folder(art)
    assert [f.rel for f in scan.files] == ["a/1.jpg"]
    reasons = {os.path.basename(p): r for p, r in scan.skipped}
    assert reasons == {"loop": "symlink_loop", "out": "outside_folder", "x.jpg": "outside_folder", "broken.jpg": "broken_symlink"}


def test_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(EngineError, match="folder not found"):
        scan_folder(tmp_path / "nope")
    (tmp_path / "f.jpg").write_bytes(b"x")
    with pytest.raises(EngineError, match="not a folder"):
        scan_folder(tmp_path / "f.jpg")


def test_hash_and_header_size(image_factory, tmp_path):
    path = image_factory("a.png", size=(30, 20), fmt="PNG")
    assert file_sha256(str(path)) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert image_size(str(path)) == (30, 20)
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    assert image_size(str(tmp_path / "bad.jpg")) == (None, None)
