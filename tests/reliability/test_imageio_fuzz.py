"""Property: `load_rgb` on any bytes returns a valid RGB image or raises ImageLoadError, nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.base.errors import ImageLoadError
from engine.data.imageio import load_rgb
from hostile import encode, jpeg_bytes, noise_image, png_bytes

# A small pixel limit bounds memory when a mutation declares a huge (but allowed) size.
FUZZ_MAX_PIXELS = 2_000_000
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # reproducible in CI; widen locally with --hypothesis-seed
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SEEDS = {
    "jpeg": jpeg_bytes((40, 32), seed=1),
    "png": png_bytes((40, 32), seed=2),
    "gif": encode(noise_image((24, 24), seed=3).convert("P"), "GIF"),
    "webp": encode(noise_image((24, 24), seed=4), "WEBP"),
    "tiff": encode(noise_image((16, 16), seed=5), "TIFF"),
    "bmp": encode(noise_image((16, 16), seed=6), "BMP"),
}


def _check(data: bytes, suffix: str, *, draft_size: int | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            im = load_rgb(path, max_pixels=FUZZ_MAX_PIXELS, draft_size=draft_size)
        except ImageLoadError as exc:
            assert exc.reason and isinstance(exc.reason, str)
            return
        assert im.mode == "RGB"
        assert im.width >= 1 and im.height >= 1
        assert im.width * im.height <= FUZZ_MAX_PIXELS
        im.tobytes()  # the pixels are really there


@st.composite
def mutated(draw) -> tuple[bytes, str]:
    """A valid seed file with a few byte overwrites, an optional cut and an optional splice."""
    kind = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[kind])
    for _ in range(draw(st.integers(0, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        start = draw(st.integers(0, len(data)))
        data[start : start + draw(st.integers(0, 64))] = draw(st.binary(max_size=64))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    suffix = draw(st.sampled_from([f".{kind}", ".jpg", ".png"]))
    return bytes(data), suffix


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".jpg", ".png", ".gif", ".tif", ".webp"]))
def test_random_bytes_never_escape(data, suffix):
    _check(data, suffix)


@FUZZ
@given(case=mutated(), draft=st.sampled_from([None, 8, 224]))
def test_mutated_images_never_escape(case, draft):
    data, suffix = case
    _check(data, suffix, draft_size=draft)


@pytest.mark.parametrize("magic", [b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"II*\x00", b"RIFF\x00\x00\x00\x00WEBPVP8 "])
@FUZZ
@given(tail=st.binary(max_size=512))
def test_valid_magic_with_garbage_never_escapes(magic, tail):
    _check(magic + tail, ".jpg")
