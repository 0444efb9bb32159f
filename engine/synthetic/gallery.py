"""A gallery of synthetic artists: `OUT/<artist>/<n>.jpg`, deterministic by seed, offline and fast.

Each synthetic artist is a procedural painting style (engine/synthetic_style.py) rendered by
engine/synthetic_paint.py. The gallery is built in a temporary sibling folder and moved into
place in one rename, with `gallery.json` recording what made it; an identical existing
gallery is reused as is.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import engine
from engine.data.provenance import mark_synthetic
from engine.base.atomic import atomic_save, atomic_write_json
from engine.base.errors import EngineError
from engine.base.progress import Progress, track
from engine.synthetic.paint import paint
from engine.synthetic.style import ArtistStyle, sample_style

logger = logging.getLogger(__name__)

GALLERY_FILE = "gallery.json"
GENERATOR_VERSION = 1  # bump when the rendering changes, so cached galleries are rebuilt


@dataclass(frozen=True)
class GalleryConfig:
    artists: int = 24
    per_artist: int = 30
    size: int = 160
    seed: int = 0
    quality: int = 90


def generate_gallery(
    out_dir: str | Path,
    *,
    artists: int = 24,
    per_artist: int = 30,
    size: int = 160,
    seed: int = 0,
    progress: Progress | None = None,
) -> Path:
    """Write `artists` x `per_artist` JPEGs of `size` px to `out_dir/<artist>/<n>.jpg`; returns `out_dir`."""
    config = GalleryConfig(artists=artists, per_artist=per_artist, size=size, seed=seed)
    _check_config(config)
    out = Path(out_dir).expanduser().resolve()
    if _matches(out, config):
        logger.info("reusing the synthetic gallery in %s", out)
        return out
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        styles = [sample_style(i, seed=seed) for i in range(artists)]
        for style in track(styles, progress, "painting synthetic artists"):
            _paint_artist(tmp / style.name, style, config)
        atomic_write_json(tmp / GALLERY_FILE, _record(config, styles))
        mark_synthetic(tmp)
        _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("painted %d synthetic artists x %d works into %s", artists, per_artist, out)
    return out


def artist_styles(*, artists: int = 24, seed: int = 0) -> list[ArtistStyle]:
    """The styles `generate_gallery` uses (folder names are `style.name`)."""
    return [sample_style(i, seed=seed) for i in range(artists)]


def paint_new_works(
    out_dir: str | Path, artist: str, numbers: list[int], *, artists: int = 24, size: int = 160, seed: int = 0
) -> list[Path]:
    """Paint works `numbers` of synthetic `artist` (a gallery folder name) into `out_dir/<artist>-<n>.jpg`.

    Work n is the same picture `generate_gallery` would paint as n, so numbers >= per_artist are
    new paintings by a known hand: queries that are not in the gallery.
    """
    style = next((s for s in artist_styles(artists=artists, seed=seed) if s.name == artist), None)
    if style is None:
        raise EngineError(f"{artist!r} is not a synthetic artist of this gallery (seed {seed}, {artists} artists)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in numbers:
        image = paint(style, np.random.default_rng([seed, style.index, n]), size)
        target = out / f"{artist}-{n:03d}.jpg"
        atomic_save(target, lambda tmp, image=image: image.save(tmp, format="JPEG", quality=90))
        paths.append(target)
    return paths


def _paint_artist(folder: Path, style: ArtistStyle, config: GalleryConfig) -> None:
    folder.mkdir(parents=True)
    for n in range(config.per_artist):
        rng = np.random.default_rng([config.seed, style.index, n])
        # Plain writes: the whole folder is moved into place atomically by `generate_gallery`.
        paint(style, rng, config.size).save(folder / f"{n:03d}.jpg", quality=config.quality)


def _check_config(config: GalleryConfig) -> None:
    if config.artists < 2 or config.per_artist < 2:
        raise EngineError("a synthetic gallery needs at least 2 artists with 2 works each; raise artists/per_artist")
    if not 32 <= config.size <= 2048:
        raise EngineError(f"synthetic image size {config.size} is out of range; use 32..2048 pixels")


def _record(config: GalleryConfig, styles: list[ArtistStyle]) -> dict:
    return {
        "generator": "engine.synthetic",
        "generator_version": GENERATOR_VERSION,
        "engine_version": engine.__version__,
        "config": asdict(config),
        "artists": [asdict(s) | {"name": s.name} for s in styles],
    }


def _read_record(out: Path) -> dict | None:
    try:
        return json.loads((out / GALLERY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _matches(out: Path, config: GalleryConfig) -> bool:
    record = _read_record(out)
    if not record or record.get("config") != asdict(config) or record.get("generator_version") != GENERATOR_VERSION:
        return False
    names = [a.get("name") for a in record.get("artists", [])]
    return all(len(list((out / name).glob("*.jpg"))) == config.per_artist for name in names)


def _check_replaceable(out: Path) -> None:
    """Only an empty folder or an earlier synthetic gallery may be replaced; never the user's files."""
    if out.exists() and not out.is_dir():
        raise EngineError(f"{out} exists and is not a folder; choose another place for the synthetic gallery")
    if out.is_dir() and any(out.iterdir()) and _read_record(out) is None:
        raise EngineError(f"{out} is not empty and holds no synthetic gallery; choose an empty or new folder")


def _swap_in(tmp: Path, out: Path) -> None:
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)
