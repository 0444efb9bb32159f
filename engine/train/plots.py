"""loss.png: train/val loss and val ROC-AUC per epoch (matplotlib, Agg backend, atomic write)."""

from __future__ import annotations

import math
from pathlib import Path

from engine.base.atomic import atomic_save


def plot_history(rows: list[dict], target: str | Path, *, baseline_roc_auc: float | None = None) -> None:
    """Draw the loss curves (left axis) and val ROC-AUC (right axis) from metrics rows."""
    from matplotlib.figure import Figure  # object API: no pyplot state, no process-wide backend switch

    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    epochs = [r["epoch"] for r in rows]
    for key, style in (("train_loss", "-o"), ("val_loss", "-s")):
        points = [(e, r[key]) for e, r in zip(epochs, rows) if _finite(r.get(key))]
        if points:
            ax.plot(*zip(*points), style, label=key.replace("_", " "), markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("triplet loss")
    auc = ax.twinx()
    points = [(e, r["val_roc_auc"]) for e, r in zip(epochs, rows) if _finite(r.get("val_roc_auc"))]
    if points:
        auc.plot(*zip(*points), "-^", color="tab:green", label="val ROC-AUC", markersize=3)
    if baseline_roc_auc is not None:
        auc.axhline(baseline_roc_auc, color="tab:gray", linestyle="--", label="ImageNet features")
    auc.set_ylabel("val ROC-AUC (unseen artists)")
    handles = ax.get_legend_handles_labels()[0] + auc.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize="small")
    fig.subplots_adjust(left=0.1, right=0.88, bottom=0.12, top=0.86)  # tight_layout costs ~1 s per draw
    atomic_save(target, lambda tmp: fig.savefig(tmp, format="png"))


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
