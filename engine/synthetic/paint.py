"""Render one synthetic painting of an `ArtistStyle` (numpy + Pillow ImageDraw, no other deps).

Layers, back to front: a two-colour gradient (random per painting, unrelated to the artist),
an optional horizon, a soft focal blob, the artist's strokes, then multiplicative texture noise.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from engine.synthetic.style import ArtistStyle

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class _Work:
    """One painting's draw of the artist's traits (pixel units), jittered from work to work."""

    length: float
    width: float
    angle: float
    count: int
    palette: tuple[RGB, ...]
    texture_scale: int
    texture_amp: float


@dataclass(frozen=True)
class _Stroke:
    """One stroke's random draws: centre, direction, length and width in pixels, RGBA, shape noise."""

    x: float
    y: float
    theta: float
    length: float
    width: float
    colour: tuple[int, int, int, int]
    noise: np.ndarray  # (9,) uniform(-1, 1): blob radii, curve wobble


def paint(style: ArtistStyle, rng: np.random.Generator, size: int) -> Image.Image:
    """A `size` x `size` RGB painting in `style`; all randomness comes from `rng`."""
    work = _plan_work(style, rng, size)
    canvas = Image.fromarray(_background(rng, size, style.horizon_rate), "RGB")
    draw = ImageDraw.Draw(canvas, "RGBA")
    stroke = _STROKES[style.shape]
    for s in _strokes(style, work, rng, size):
        stroke(draw, style, s)
    return Image.fromarray(_texture(np.asarray(canvas), rng, work), "RGB")


def _plan_work(style: ArtistStyle, rng: np.random.Generator, size: int) -> _Work:
    base_hue = style.hue + rng.normal(0, style.hue_spread)
    key = rng.uniform(0.35, 1.0)  # the painting's overall lightness, shared by all artists
    palette = tuple(
        _hsv(base_hue + rng.normal(0, 0.08), rng.uniform(0.3, 0.95), key * rng.uniform(0.6, 1.0))
        for _ in range(int(rng.integers(3, 6)))
    )
    return _Work(
        length=style.length * size * rng.uniform(0.85, 1.15),
        width=max(1.0, style.width * size * rng.uniform(0.85, 1.15)),
        angle=rng.uniform(0, math.pi),
        count=max(8, int(style.density * _COUNT_SCALE[style.shape] * rng.lognormal(0, 0.35))),
        palette=palette,
        texture_scale=int(rng.choice([4, 8, 16, 32])),
        texture_amp=float(rng.uniform(0, 0.25)),
    )


def _strokes(style: ArtistStyle, work: _Work, rng: np.random.Generator, size: int) -> list[_Stroke]:
    """All strokes of one painting, drawn vectorised (per-stroke Generator calls dominate otherwise)."""
    n = work.count
    xy = rng.uniform(0, size, (n, 2))
    theta = work.angle + rng.normal(0, style.angle_spread, n)
    length = work.length * rng.lognormal(0, 0.3, n)
    width = np.maximum(1.0, work.width * rng.lognormal(0, 0.25, n))
    palette = np.array(work.palette, dtype=np.float64)
    rgb = np.clip(palette[rng.integers(len(palette), size=n)] + rng.normal(0, 18, (n, 3)), 0, 255).astype(int)
    alpha = int(round(255 * style.opacity))
    noise = rng.uniform(-1, 1, (n, 9))
    return [
        _Stroke(xy[k, 0], xy[k, 1], theta[k], length[k], width[k], (*map(int, rgb[k]), alpha), noise[k])
        for k in range(n)
    ]


def _background(rng: np.random.Generator, size: int, horizon_rate: float) -> np.ndarray:
    """Gradient + horizon + focal blob, (size, size, 3) uint8; colours independent of the artist."""
    c0, c1 = (np.array(_hsv(rng.random(), rng.uniform(0.1, 0.6), rng.uniform(0.3, 0.95)), np.float32) for _ in range(2))
    axis = np.linspace(0, 1, size, dtype=np.float32)
    xx, yy = axis[None, :], axis[:, None]
    theta = rng.uniform(0, 2 * math.pi)
    t = np.clip(np.cos(theta) * (xx - 0.5) + np.sin(theta) * (yy - 0.5) + 0.5, 0, 1)[..., None]
    img = c0 + (c1 - c0) * t
    if rng.random() < horizon_rate:
        ground = np.array(_hsv(rng.random(), rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.8)), np.float32)
        line = rng.uniform(0.35, 0.75) + 0.08 * np.sin(xx * rng.uniform(2, 8) + rng.uniform(0, 6))
        img = np.where((yy > line)[..., None], 0.3 * img + 0.7 * ground, img)
    if rng.random() < 0.7:
        centre, radius = rng.uniform(0.2, 0.8, 2), rng.uniform(0.12, 0.3)
        gx = np.exp(-((xx - centre[0]) ** 2) / (2 * radius**2))
        gy = np.exp(-((yy - centre[1]) ** 2) / (2 * radius**2))
        weight = (0.8 * gx * gy)[..., None]  # separable gaussian
        focal = np.array(_hsv(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.4, 1.0)), np.float32)
        img = img * (1 - weight) + focal * weight
    return np.clip(img, 0, 255).astype(np.uint8)


def _texture(arr: np.ndarray, rng: np.random.Generator, work: _Work) -> np.ndarray:
    """Multiply by upsampled grid noise (the artist's scale and amplitude) plus a little grain."""
    size = arr.shape[0]
    grid = rng.normal(0, 1, (work.texture_scale, work.texture_scale)).astype(np.float32)
    noise = np.asarray(Image.fromarray(grid, "F").resize((size, size), Image.Resampling.BICUBIC))
    out = arr.astype(np.float32) * (1 + work.texture_amp * noise[..., None])
    out += rng.normal(0, 3, arr.shape[:2])[..., None].astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, float(np.clip(s, 0, 1)), float(np.clip(v, 0, 1)))
    return int(r * 255), int(g * 255), int(b * 255)


def _outline(style: ArtistStyle, colour: tuple[int, ...]) -> tuple[int, ...] | None:
    return (colour[0] // 4, colour[1] // 4, colour[2] // 4, colour[3]) if style.outline else None


def _stroke_line(draw: ImageDraw.ImageDraw, style: ArtistStyle, points: list, width: float, colour) -> None:
    width = max(1, int(round(width)))
    if style.outline:
        draw.line(points, fill=_outline(style, colour), width=width + 2, joint="curve")
    draw.line(points, fill=colour, width=width, joint="curve")


def _line(draw: ImageDraw.ImageDraw, style: ArtistStyle, s: _Stroke) -> None:
    dx, dy = s.length / 2 * math.cos(s.theta), s.length / 2 * math.sin(s.theta)
    _stroke_line(draw, style, [(s.x - dx, s.y - dy), (s.x + dx, s.y + dy)], s.width, s.colour)


def _dot(draw: ImageDraw.ImageDraw, style: ArtistStyle, s: _Stroke) -> None:
    r = 1.3 * s.width
    draw.ellipse((s.x - r, s.y - r, s.x + r, s.y + r), fill=s.colour, outline=_outline(style, s.colour))


def _polygon(draw: ImageDraw.ImageDraw, style: ArtistStyle, s: _Stroke, shape: np.ndarray) -> None:
    """Rotate `shape` ((n, 2) offsets) by the stroke's direction, move it to its centre and fill it."""
    c, si = math.cos(s.theta), math.sin(s.theta)
    placed = shape @ np.array([[c, si], [-si, c]]) + (s.x, s.y)
    draw.polygon([tuple(p) for p in placed.tolist()], fill=s.colour, outline=_outline(style, s.colour))


def _blob(draw: ImageDraw.ImageDraw, style: ArtistStyle, s: _Stroke) -> None:
    radius = s.length / 2 * (1 + 0.35 * s.noise)
    phi = np.linspace(0, 2 * math.pi, len(radius), endpoint=False)
    _polygon(draw, style, s, np.stack([1.6 * radius * np.cos(phi), 0.8 * radius * np.sin(phi)], axis=1))


def _rect(draw: ImageDraw.ImageDraw, style: ArtistStyle, s: _Stroke) -> None:
    hl, hw = s.length / 2, 1.25 * s.width
    _polygon(draw, style, s, np.array([[-hl, -hw], [hl, -hw], [hl, hw], [-hl, hw]]))


def _triangle(draw: ImageDraw.ImageDraw, style: ArtistStyle, s: _Stroke) -> None:
    _polygon(draw, style, s, 0.6 * s.length * np.array([[0.0, -0.6], [0.5, 0.3], [-0.5, 0.3]]))


def _curve(draw: ImageDraw.ImageDraw, style: ArtistStyle, s: _Stroke) -> None:
    steps, theta, step = 6, s.theta, s.length / 6
    points = [(s.x, s.y)]
    for k in range(steps):
        theta += style.curvature + 0.1 * s.noise[k]
        x, y = points[-1]
        points.append((x + step * math.cos(theta), y + step * math.sin(theta)))
    _stroke_line(draw, style, points, s.width, s.colour)


def _hatch(draw: ImageDraw.ImageDraw, style: ArtistStyle, s: _Stroke) -> None:
    width = max(1, int(round(0.7 * s.width)))
    gap, half = 2.2 * width + 1, 0.3 * s.length
    dx, dy = half * math.cos(s.theta), half * math.sin(s.theta)
    nx, ny = -math.sin(s.theta) * gap, math.cos(s.theta) * gap
    for k in range(-2, 3):
        cx, cy = s.x + k * nx, s.y + k * ny
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=s.colour, width=width)


_STROKES: dict[str, Callable[..., None]] = {
    "lines": _line, "dots": _dot, "blobs": _blob, "rects": _rect,
    "curves": _curve, "hatch": _hatch, "triangles": _triangle,
}
# Big shapes cover the canvas with fewer strokes; keeps coverage comparable across shapes.
_COUNT_SCALE = {"lines": 1.0, "dots": 1.6, "blobs": 0.35, "rects": 0.6, "curves": 0.8, "hatch": 0.4, "triangles": 0.5}
