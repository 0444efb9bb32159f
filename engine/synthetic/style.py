"""Procedural painting styles for the synthetic gallery: one `ArtistStyle` per synthetic artist.

A style fixes the *hand*: stroke shape, length, width, directional spread, curvature, density,
opacity, outlines. Everything else is drawn per painting from distributions shared by all
artists (or, for the palette, overlapping widely): colours, background, horizon, focal blob,
the dominant stroke direction, canvas texture and how densely the canvas is covered. Raw
ImageNet features mix that nuisance into their similarity, so a trained head has real room to
learn the hand. Measured on the default demo's 5 held-out artists: untrained lite0 ROC-AUC 0.865,
frozen lite0 + trained head 0.92-0.955 (with each artist's own stroke direction and texture
instead, the baseline reached 0.97 and training could not beat it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SHAPES = ("lines", "dots", "blobs", "rects", "curves", "hatch", "triangles")

# (upper hue bound, name) on the [0, 1) hue circle; used only for readable folder names.
_HUE_NAMES = (
    (0.04, "red"), (0.09, "orange"), (0.15, "ochre"), (0.22, "olive"), (0.40, "green"),
    (0.52, "teal"), (0.64, "blue"), (0.74, "indigo"), (0.84, "violet"), (0.95, "magenta"), (1.01, "red"),
)


@dataclass(frozen=True)
class ArtistStyle:
    """The fixed traits of one synthetic artist. Lengths and widths are fractions of the image side."""

    index: int
    shape: str
    hue: float  # preferred palette hue in [0, 1); paintings stray far from it (see `hue_spread`)
    hue_spread: float  # std of a painting's palette hue around `hue`
    length: float  # mean stroke length
    width: float  # mean stroke width
    angle_spread: float  # std of stroke directions around a painting's dominant one, radians (>= pi/2: isotropic)
    curvature: float  # turn per segment for curves, radians
    density: float  # strokes per painting at unit scale
    opacity: float  # stroke alpha in (0, 1]
    outline: bool  # strokes get a dark edge
    horizon_rate: float  # share of paintings with a horizon line

    @property
    def name(self) -> str:
        """An ascii folder name, e.g. `synthetic-03-dots-ochre`."""
        return f"synthetic-{self.index + 1:02d}-{self.shape}-{hue_name(self.hue)}"


def hue_name(hue: float) -> str:
    hue = hue % 1.0
    return next(name for bound, name in _HUE_NAMES if hue < bound)


def sample_style(index: int, *, seed: int = 0) -> ArtistStyle:
    """Artist `index`'s style; deterministic in (seed, index). Shapes cycle so each is shared by several artists."""
    rng = np.random.default_rng([seed, 7919, index])
    shape = SHAPES[index % len(SHAPES)]
    directional = rng.random() < 0.6
    return ArtistStyle(
        index=index,
        shape=shape,
        hue=float(rng.random()),
        hue_spread=float(rng.uniform(0.3, 0.6)),
        length=float(rng.uniform(0.05, 0.22)),
        width=float(rng.uniform(0.008, 0.035)),
        angle_spread=float(rng.uniform(0.1, 0.45) if directional else math.pi),
        curvature=float(rng.uniform(0.15, 0.8) * rng.choice([-1, 1])),
        density=float(rng.uniform(60, 260)),
        opacity=float(rng.uniform(0.55, 1.0)),
        outline=bool(rng.random() < 0.35),
        horizon_rate=float(rng.uniform(0.0, 1.0)),
    )
