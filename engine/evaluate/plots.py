"""Figures of an evaluation report (matplotlib, Agg backend, PNG files)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engine.base.atomic import atomic_path
from engine.base.errors import ImageLoadError
from engine.data.imageio import center_square, load_rgb

logger = logging.getLogger(__name__)

COLOURS = {"trained": "tab:blue", "baseline": "tab:gray"}


def _subplots(*grid, figsize, squeeze: bool = True):
    """A standalone Figure and its axes (object API): no pyplot state, no process-wide backend switch."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*grid, squeeze=squeeze)


def _save(fig, target: Path) -> Path:
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    return target


def plot_roc(details: dict, target: Path) -> Path:
    """ROC curves of every model on the same pairs."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = _subplots(figsize=(5, 5))
    for key, d in details.items():
        fpr, tpr, _ = roc_curve(d["same"], d["scores"])
        ax.plot(fpr, tpr, color=COLOURS.get(key), label=f"{key} (AUC {roc_auc_score(d['same'], d['scores']):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="black", linewidth=0.8)
    ax.set(xlabel="false positive rate (different artists called same)", ylabel="true positive rate", title="Same-artist verification")
    ax.legend(loc="lower right")
    return _save(fig, target)


def plot_histogram(details: dict, target: Path) -> Path:
    """Cosine similarity of same- vs different-artist pairs, one panel per model, threshold marked."""
    fig, axes = _subplots(1, len(details), figsize=(5 * len(details), 3.6), squeeze=False)
    for ax, (key, d) in zip(axes[0], details.items()):
        bins = np.linspace(min(d["scores"].min(), d["threshold"]), max(d["scores"].max(), d["threshold"]), 40)
        ax.hist(d["scores"][d["same"]], bins=bins, alpha=0.6, color="tab:green", label="same artist")
        ax.hist(d["scores"][~d["same"]], bins=bins, alpha=0.6, color="tab:red", label="different artists")
        ax.axvline(d["threshold"], color="black", linestyle="--", label=f"threshold {d['threshold']:.3f}")
        ax.set(title=key, xlabel="cosine similarity", ylabel="pairs")
        ax.legend(fontsize=8)
    return _save(fig, target)


def plot_reliability(blocks: dict, target: Path) -> Path:
    """Calibrated probability vs observed share of same-artist pairs, per probability bin."""
    fig, ax = _subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], ":", color="black", linewidth=0.8, label="perfect calibration")
    for key, cal in blocks.items():
        rows = cal["reliability"]
        x = [r["mean_probability"] for r in rows]
        y = [r["fraction_same"] for r in rows]
        ax.plot(x, y, "o-", color=COLOURS.get(key), label=f"{key} (ECE {cal['ece']:.3f})")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="calibrated probability (same artist)", ylabel="observed share same artist",
           title="Reliability on held-out pairs")
    ax.legend(loc="upper left")
    return _save(fig, target)


def _thumb(path: str, size: int = 128):
    try:
        return np.asarray(center_square(load_rgb(path, draft_size=size), size))
    except (ImageLoadError, OSError) as exc:
        logger.debug("no thumbnail for %s: %s", path, exc)
        return np.zeros((size, size, 3), dtype=np.uint8)


def plot_neighbours(grid: list[dict], target: Path) -> Path:
    """One row per query: the query, then its nearest paintings; green title = same artist, red = other."""
    cols = 1 + max(len(g["neighbours"]) for g in grid)
    fig, axes = _subplots(len(grid), cols, figsize=(2.0 * cols, 2.3 * len(grid)), squeeze=False)
    for ax_row, g in zip(axes, grid):
        cells = [(g["path"], f"query: {g['artist']}", "black")] + [
            (n["path"], f"{n['artist']} {n['similarity']:.2f}", "green" if n["artist"] == g["artist"] else "red")
            for n in g["neighbours"]
        ]
        for ax in ax_row:
            ax.axis("off")
        for ax, (path, title, colour) in zip(ax_row, cells):
            ax.imshow(_thumb(path))
            ax.set_title(title[:28], fontsize=7, color=colour)
    return _save(fig, target)
