import io

import numpy as np
import pytest
from PIL import Image

from engine.base.errors import ImageLoadError
from engine.data.imageio import center_square, decode_rgb, is_image_name, load_rgb, probe_size


def two_tone(width: int, height: int) -> Image.Image:
    """Top half red, bottom half blue."""
    arr = np.zeros((height, width, 3), np.uint8)
    arr[: height // 2] = (255, 0, 0)
    arr[height // 2 :] = (0, 0, 255)
    return Image.fromarray(arr, "RGB")


def exif_rotated_jpeg(path, shown: Image.Image):
    """Store `shown` rotated so that only EXIF orientation 6 (rotate 90 CW) displays it upright."""
    stored = shown.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(path, format="JPEG", quality=95, exif=exif)
    return path


def test_exif_orientation_applied(tmp_path):
    path = exif_rotated_jpeg(tmp_path / "r.jpg", two_tone(40, 80))
    im = load_rgb(path)
    assert im.size == (40, 80)
    arr = np.asarray(im).astype(int)
    assert arr[5, 20, 0] > 200 and arr[5, 20, 2] < 60  # top is red
    assert arr[75, 20, 2] > 200 and arr[75, 20, 0] < 60  # bottom is blue
    assert probe_size(path.read_bytes()) == (40, 80)


def test_cmyk_jpeg_to_rgb(tmp_path):
    path = tmp_path / "c.jpg"
    Image.new("RGB", (32, 32), (200, 30, 40)).convert("CMYK").save(path, format="JPEG", quality=95)
    assert Image.open(path).mode == "CMYK"
    im = load_rgb(path)
    assert im.mode == "RGB"
    assert np.abs(np.asarray(im).astype(int).mean(axis=(0, 1)) - (200, 30, 40)).max() < 12


def test_16_bit_png(tmp_path):
    path = tmp_path / "g16.png"
    arr = np.zeros((16, 16), np.uint16)
    arr[:, 8:] = 65535
    Image.fromarray(arr).save(path)
    assert Image.open(path).mode.startswith("I")
    out = np.asarray(load_rgb(path))
    assert out.shape == (16, 16, 3)
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 15].tolist() == [255, 255, 255]


def test_palette_with_transparency_on_white(tmp_path):
    path = tmp_path / "p.png"
    im = Image.new("P", (8, 8), 0)
    im.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    im.paste(1, (0, 0, 4, 8))
    im.save(path, transparency=0)
    out = np.asarray(load_rgb(path))
    assert out[0, 0].tolist() == [10, 200, 30]
    assert out[0, 7].tolist() == [255, 255, 255]  # transparent -> white


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "1", "I", "F"])
def test_other_modes_become_rgb(tmp_path, mode):
    path = tmp_path / f"m.{'tiff' if mode in ('I', 'F') else 'png'}"
    Image.new("RGB", (8, 8), (90, 90, 90)).convert(mode).save(path)
    assert load_rgb(path).mode == "RGB"


def test_bad_files(tmp_path):
    good = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good, format="PNG")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image")
    (tmp_path / "trunc.png").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    expected = {"empty.jpg": "empty", "text.jpg": "not_an_image", "missing.jpg": "missing"}
    for name, reason in expected.items():
        with pytest.raises(ImageLoadError) as info:
            load_rgb(tmp_path / name)
        assert info.value.reason == reason
    with pytest.raises(ImageLoadError) as info:
        load_rgb(tmp_path / "trunc.png")
    assert info.value.reason in ("truncated", "corrupt")


def test_pixel_limit(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (300, 200)).save(path)
    with pytest.raises(ImageLoadError) as info:
        load_rgb(path, max_pixels=300 * 200 - 1)
    assert info.value.reason == "too_large"
    assert load_rgb(path, max_pixels=300 * 200).size == (300, 200)


def test_decode_rgb_draft_keeps_at_least_requested_size():
    buf = io.BytesIO()
    Image.new("RGB", (1000, 600), (5, 6, 7)).save(buf, format="JPEG")
    im = decode_rgb(buf.getvalue(), draft_size=128)
    assert min(im.size) >= 128 and im.size[0] < 1000
    with pytest.raises(ImageLoadError):
        decode_rgb(b"")


def test_center_square():
    im = center_square(two_tone(60, 20), 10)
    assert im.size == (10, 10)
    assert is_image_name("x.JPG") and not is_image_name("x.txt")
