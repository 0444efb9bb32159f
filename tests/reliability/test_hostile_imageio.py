"""The hostile corpus through `engine.data.imageio`: good files decode to RGB, bad ones give their reason."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest
from PIL import Image

import engine.data.imageio as imageio
from engine.base.errors import ImageLoadError
from engine.data.imageio import load_rgb
from hostile import build_corpus, jpeg_bytes, permissions_enforced


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("hostile"))


def _ids(cases):
    return [c.name for c in cases]


def test_good_files_decode_to_rgb(corpus):
    for case in (c for c in corpus if c.good):
        im = load_rgb(case.path)
        assert im.mode == "RGB", case.name
        assert im.size == case.size, case.name


def test_good_files_decode_in_draft_mode(corpus):
    for case in (c for c in corpus if c.good):
        im = load_rgb(case.path, draft_size=8)
        assert im.mode == "RGB" and min(im.size) >= 1, case.name


def test_bad_files_raise_their_reason(corpus):
    for case in (c for c in corpus if not c.good):
        with pytest.raises(ImageLoadError) as info:
            load_rgb(case.path)
        assert info.value.reason in case.reasons, (case.name, info.value.reason)


def test_exif_rotation_is_applied(corpus):
    by_name = {c.name: c for c in corpus}
    six = load_rgb(by_name["exif_orientation_6"].path)
    eight = load_rgb(by_name["exif_orientation_8"].path)
    with Image.open(by_name["exif_orientation_6"].path) as raw:
        assert raw.size == (64, 32)
    assert six.size == eight.size == (32, 64)


def test_pixel_limit_is_per_call(corpus, tmp_path):
    plain = next(c for c in corpus if c.name == "plain_jpeg")
    with pytest.raises(ImageLoadError) as info:
        load_rgb(plain.path, max_pixels=100)
    assert info.value.reason == "too_large"


def test_folder_named_like_an_image(tmp_path):
    (tmp_path / "folder.jpg").mkdir()
    with pytest.raises(ImageLoadError) as info:
        load_rgb(tmp_path / "folder.jpg")
    assert info.value.reason == "not_a_file"


def test_unreadable_file(tmp_path, monkeypatch):
    """chmod 000 where permissions hold; as root (CI) the denial is simulated at open()."""
    path = tmp_path / "locked.jpg"
    path.write_bytes(jpeg_bytes(seed=3))
    path.chmod(0)
    if not permissions_enforced(path):
        _deny_reads(monkeypatch, path)
    with pytest.raises(ImageLoadError) as info:
        load_rgb(path)
    assert info.value.reason == "unreadable"


def test_unreadable_even_when_access_check_passes(tmp_path, monkeypatch):
    """open() failing after the os.access pre-check (ACLs, NFS, root squash) is still `unreadable`."""
    path = tmp_path / "acl.jpg"
    path.write_bytes(jpeg_bytes(seed=4))
    _deny_reads(monkeypatch, path, also_access=False)
    with pytest.raises(ImageLoadError) as info:
        load_rgb(path)
    assert info.value.reason == "unreadable"


def test_file_vanishing_between_check_and_open(tmp_path, monkeypatch):
    """The file is deleted after the stat() pre-check but before decoding: `missing`, not `corrupt`."""
    path = tmp_path / "vanishing.jpg"
    path.write_bytes(jpeg_bytes(seed=5))
    original = imageio._check_file

    def check_then_delete(p):
        original(p)
        Path(p).unlink()

    monkeypatch.setattr(imageio, "_check_file", check_then_delete)
    with pytest.raises(ImageLoadError) as info:
        load_rgb(path)
    assert info.value.reason == "missing"


def test_file_vanished_before_check(tmp_path):
    with pytest.raises(ImageLoadError) as info:
        load_rgb(tmp_path / "never-there.jpg")
    assert info.value.reason == "missing"


def _deny_reads(monkeypatch, path: Path, *, also_access: bool = True) -> None:
    """Make `path` unreadable for this process even as root: open() raises EACCES."""
    target = str(Path(path).resolve())
    real_open, real_access = builtins.open, imageio.os.access

    def guarded_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)) and str(Path(file).resolve()) == target:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    def guarded_access(p, mode, *args, **kwargs):
        if str(Path(p).resolve()) == target:
            return False
        return real_access(p, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    if also_access:
        monkeypatch.setattr(imageio.os, "access", guarded_access)


def test_probe_size_reads_only_the_header(monkeypatch):
    """`probe_size` is the bomb guard's input: it must never decode pixels (PNG getexif() would)."""
    from PIL import ImageFile

    from hostile import png_bomb_bytes

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("probe_size decoded the image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert imageio.probe_size(png_bomb_bytes(100_000, 90_000)) == (100_000, 90_000)
