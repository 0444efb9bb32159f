"""An `Explanation` drawn as one PNG: the two paintings as the model saw them, side by side, each with its
map (engine.inference.explain) upsampled over it. One colour scale for both: the largest positive cell
of either map is full colour; cells that lower the similarity are left uncoloured."""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image, ImageDraw

from engine.base.atomic import atomic_write_bytes
from engine.inference.explain import Explanation

ALPHA = 0.55  # weight of the colour over the painting at full strength
GAP = 8  # pixels between the two panels
CAPTION = 18  # pixels of each caption band: the labels above the panels, the cosine and method below


def explanation_png(explanation: Explanation, *, labels: tuple[str, str] = ("A", "B")) -> bytes:
    """The side-by-side PNG as bytes."""
    peak = max(float(np.max(m)) for m in explanation.maps)
    panels = [_overlay(image, m, peak) for image, m in zip(explanation.inputs, explanation.maps)]
    size = panels[0].size[1]
    canvas = Image.new("RGB", (panels[0].size[0] + GAP + panels[1].size[0], size + 2 * CAPTION), "white")
    canvas.paste(panels[0], (0, CAPTION))
    canvas.paste(panels[1], (panels[0].size[0] + GAP, CAPTION))
    draw = ImageDraw.Draw(canvas)
    draw.text((2, 3), f"{labels[0]}", fill="black")
    draw.text((panels[0].size[0] + GAP + 2, 3), f"{labels[1]}", fill="black")
    text = f"cosine {explanation.similarity:.3f} ({explanation.method})"
    draw.text((2, CAPTION + size + 3), text, fill="black")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_explanation_png(explanation: Explanation, out: str | os.PathLike[str], *, labels: tuple[str, str] = ("A", "B")) -> None:
    """Write `explanation_png` to `out` atomically."""
    atomic_write_bytes(out, explanation_png(explanation, labels=labels))


def _overlay(image: np.ndarray, values: np.ndarray, peak: float) -> Image.Image:
    from matplotlib import colormaps

    h, w = image.shape[:2]
    strength = np.clip(values / peak, 0.0, 1.0) if peak > 0 else np.zeros_like(values)
    upsampled = np.asarray(Image.fromarray(strength.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR))
    colour = colormaps["inferno"](upsampled)[..., :3] * 255
    weight = (ALPHA * upsampled)[..., None]
    mixed = image.astype(np.float64) * (1 - weight) + colour * weight
    return Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8), "RGB")
