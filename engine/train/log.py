"""metrics.csv (one row per epoch, rewritten atomically) and the resume state last.pt."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import torch

from engine.base.atomic import atomic_save, atomic_write_text
from engine.base.errors import EngineError

METRICS_NAME = "metrics.csv"
LAST_NAME = "last.pt"
COLUMNS = [
    "epoch", "train_loss", "val_loss", "val_roc_auc", "val_eer", "val_average_precision", "val_accuracy",
    "val_triplet_accuracy", "lr", "seconds", "best",
]


def write_metrics(out_dir: Path, rows: list[dict]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
    path = out_dir / METRICS_NAME
    atomic_write_text(path, buffer.getvalue())
    return path


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def save_last(out_dir: Path, *, epoch: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
              history: list[dict], best: dict, config: dict) -> None:
    """Everything `--resume` needs: weights, optimizer state, the epoch done, history, best so far."""
    state = {
        "epoch": int(epoch),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "history": history,
        "best": best,
        "config": config,
    }
    atomic_save(out_dir / LAST_NAME, lambda tmp: torch.save(state, tmp))


def load_last(out_dir: Path) -> dict:
    path = out_dir / LAST_NAME
    if not path.is_file():
        raise EngineError(f"nothing to resume in {out_dir} (no {LAST_NAME}); drop --resume to start a new run")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise EngineError(f"cannot resume from {path} ({type(exc).__name__}); drop --resume to start over") from None
