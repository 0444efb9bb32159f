import json

import numpy as np
import pytest
from PIL import Image
from sklearn.feature_selection import f_classif

from engine.base.errors import EngineError
from engine.synthetic.gallery import GALLERY_FILE, artist_styles, generate_gallery, paint_new_works
from engine.synthetic.style import SHAPES, sample_style

SMALL = dict(artists=4, per_artist=3, size=64)


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jpg"))


def test_layout_one_folder_per_artist(tmp_path):
    root = generate_gallery(tmp_path / "g", **SMALL)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert folders == [s.name for s in artist_styles(artists=4)]
    assert all(name.isascii() and " " not in name for name in folders)
    assert _files(root) == [f"{a}/{n:03d}.jpg" for a in folders for n in range(3)]
    with Image.open(root / folders[0] / "000.jpg") as im:
        assert im.size == (64, 64) and im.mode == "RGB" and im.format == "JPEG"
    record = json.loads((root / GALLERY_FILE).read_text())
    assert record["config"]["seed"] == 0 and [a["name"] for a in record["artists"]] == folders
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left behind


def test_deterministic_by_seed(tmp_path):
    a = generate_gallery(tmp_path / "a", **SMALL)
    b = generate_gallery(tmp_path / "b", **SMALL)
    c = generate_gallery(tmp_path / "c", **SMALL, seed=1)
    assert _files(a) == _files(b)
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in _files(a))
    first = _files(a)[0]
    assert np.abs(_pixels(a / first) - _pixels(c / _files(c)[0])).mean() > 10
    assert sample_style(5, seed=3) == sample_style(5, seed=3) != sample_style(5, seed=4)


def test_works_of_one_artist_differ(tmp_path):
    root = generate_gallery(tmp_path / "g", **SMALL)
    one = sorted((root / artist_styles(artists=4)[0].name).glob("*.jpg"))
    assert np.abs(_pixels(one[0]) - _pixels(one[1])).mean() > 10


def test_style_statistic_differs_between_artists(tmp_path):
    """Stroke geometry is a per-artist trait: edge density and orientation coherence separate artists (ANOVA)."""
    root = generate_gallery(tmp_path / "g", artists=7, per_artist=6, size=96)
    stats, labels = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.jpg")):
            stats.append(_edge_stats(path))
            labels.append(folder.name)
    f_values, p_values = f_classif(np.array(stats), labels)
    assert f_values.min() > 5 and p_values.max() < 1e-4


def test_every_shape_is_used_and_drawn(tmp_path):
    assert {s.shape for s in artist_styles(artists=len(SHAPES))} == set(SHAPES)
    root = generate_gallery(tmp_path / "g", artists=len(SHAPES), per_artist=2, size=64)
    for folder in (p for p in root.iterdir() if p.is_dir()):
        assert _pixels(folder / "000.jpg").std() > 10  # strokes on a canvas, not a flat picture


def test_identical_gallery_is_reused(tmp_path):
    root = generate_gallery(tmp_path / "g", **SMALL)
    path = root / _files(root)[0]
    before = path.stat().st_mtime_ns
    assert generate_gallery(tmp_path / "g", **SMALL) == root
    assert path.stat().st_mtime_ns == before


def test_earlier_gallery_is_replaced_by_another_config(tmp_path):
    generate_gallery(tmp_path / "g", **SMALL)
    root = generate_gallery(tmp_path / "g", artists=2, per_artist=2, size=48)
    assert len(_files(root)) == 4
    assert json.loads((root / GALLERY_FILE).read_text())["config"]["artists"] == 2


def test_foreign_folder_is_never_touched(tmp_path):
    target = tmp_path / "photos"
    target.mkdir()
    (target / "holiday.jpg").write_bytes(b"mine")
    with pytest.raises(EngineError, match="not empty"):
        generate_gallery(target, **SMALL)
    assert (target / "holiday.jpg").read_bytes() == b"mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(EngineError, match="not a folder"):
        generate_gallery(tmp_path / "file", **SMALL)


@pytest.mark.parametrize("kwargs", [dict(artists=1), dict(per_artist=1), dict(size=8)])
def test_bad_config(tmp_path, kwargs):
    with pytest.raises(EngineError):
        generate_gallery(tmp_path / "g", **{**SMALL, **kwargs})


def test_new_works_continue_the_gallery(tmp_path):
    root = generate_gallery(tmp_path / "g", **SMALL)
    artist = artist_styles(artists=4)[2].name
    same, new = paint_new_works(tmp_path / "q", artist, [1, 3], artists=4, size=64)
    assert same.name == f"{artist}-001.jpg" and new.name == f"{artist}-003.jpg"
    assert np.abs(_pixels(same) - _pixels(root / artist / "001.jpg")).max() <= 1
    assert all(np.abs(_pixels(new) - _pixels(p)).mean() > 10 for p in (root / artist).glob("*.jpg"))
    with pytest.raises(EngineError, match="not a synthetic artist"):
        paint_new_works(tmp_path / "q", "nobody", [0], artists=4, size=64)


def _pixels(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def _edge_stats(path):
    """(share of strong edges, structure-tensor orientation coherence in [0, 1])."""
    gray = _pixels(path).mean(axis=2)
    gy, gx = np.gradient(gray)
    jxx, jyy, jxy = (gx * gx).mean(), (gy * gy).mean(), (gx * gy).mean()
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (jxx + jyy + 1e-9)
    return (np.hypot(gx, gy) > 30).mean(), coherence
