"""Procedural painting styles for the synthetic gallery: one `ArtistStyle` per synthetic artist.

A style fixes the *hand* (stroke shape, length, width, direction, curvature, density, opacity,
texture, outlines). Colour and composition are drawn per painting from distributions that
overlap strongly between artists, so a model has to learn stroke geometry rather than palette:
ImageNet features alone separate palettes easily but geometry only partly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SHAPES = ("lines", "dots", "blobs", "rects", "curves", "hatch", "triangles")
import os
_FAMILIES = tuple(os.environ.get("SYN_FAMILIES", ",".join(SHAPES)).split(","))

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
    angle: float  # dominant stroke direction, radians
    angle_spread: float  # std of stroke directions around `angle`, radians (pi/2 and up: isotropic)
    curvature: float  # turn per segment for curves, radians
    density: float  # strokes per painting at unit scale
    opacity: float  # stroke alpha in (0, 1]
    texture_scale: int  # noise grid cells per side (small = blotchy, large = grainy)
    texture_amp: float  # multiplicative noise amplitude
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
    shape = _FAMILIES[index % len(_FAMILIES)]
    directional = rng.random() < 0.6
    return ArtistStyle(
        index=index,
        shape=shape,
        hue=float(rng.random()),
        hue_spread=float(rng.uniform(0.3, 0.6)),
        length=float(rng.uniform(0.05, 0.22)),
        width=float(rng.uniform(0.008, 0.035)),
        angle=float(rng.uniform(0, math.pi)),
        angle_spread=float(rng.uniform(0.1, 0.45) if directional else math.pi),
        curvature=float(rng.uniform(0.15, 0.8) * rng.choice([-1, 1])),
        density=float(rng.uniform(60, 260)),
        opacity=float(rng.uniform(0.55, 1.0)),
        texture_scale=int(rng.choice([4, 8, 16, 32])),
        texture_amp=float(rng.uniform(0.0, 0.25)),
        outline=bool(rng.random() < 0.35),
        horizon_rate=float(rng.uniform(0.0, 1.0)),
    )
