"""`engine evaluate`: metrics on artists the model never saw, trained vs untrained baseline."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import HomeOpt, JsonOpt, ModelOpt
from engine.base.config import given
from engine.evaluate.config import EvaluateConfig
from cli.output import RichProgress, emit


class Split(str, Enum):
    test = "test"
    val = "val"
    all = "all"


def register(app: typer.Typer) -> None:
    app.command("evaluate", help=evaluate.__doc__)(evaluate)


def evaluate(
    model: ModelOpt = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="A prepared dataset folder (default: the one the model was trained on).")] = None,
    split: Annotated[Optional[Split], typer.Option("--split", show_default=False, help="Which artists to evaluate on: test (default), val, or all (for a dataset the model never saw). Evaluate only reads; `engine calibrate` stores a val-fit calibration.")] = None,
    pairs: Annotated[Optional[int], typer.Option("--pairs", show_default=False, help="Number of same/different-artist pairs to sample, balanced (default: 2000).", min=2)] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Folder for metrics.json and figures (ROC, similarity histogram, reliability, neighbours).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", show_default=False, help=f"Seed of pair, triplet and enrolment sampling (default: {EvaluateConfig.seed}).")] = None,
    per_artist_cap: Annotated[Optional[int], typer.Option("--per-artist-cap", show_default=False, help="Most pairs anchored on one artist (default 0: twice the fair share).", min=0)] = None,
    baseline: Annotated[Optional[bool], typer.Option("--baseline/--no-baseline", show_default=False, help="Also evaluate the untrained ImageNet trunk, the `baseline` block (default: on).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", show_default=False, help="Images per embedding batch (default: one single-thread stream of 4 per CPU core; 64 on a GPU).", min=1)] = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Evaluate a model: verification (ROC-AUC, accuracy at the val threshold, EER), triplet accuracy, attribution and retrieval."""
    from engine.evaluate.runner import evaluate_model

    config = EvaluateConfig(**given(seed=seed, per_artist_cap=per_artist_cap, baseline=baseline, batch_size=batch_size))
    result = evaluate_model(
        model=model, data=data, report=report, home=home, config=config, progress=RichProgress(),
        **given(split=split.value if split else None, pairs=pairs),
    )
    emit(result, as_json=as_json, render=render)


ROWS = [
    ("verification ROC-AUC", ("verification", "roc_auc")),
    ("verification accuracy", ("verification", "accuracy")),
    ("threshold (cosine)", ("verification", "threshold")),
    ("equal error rate", ("verification", "eer")),
    ("average precision", ("verification", "average_precision")),
    ("calibration ECE", ("calibration", "ece")),
    ("triplet accuracy", ("triplet_accuracy",)),
    ("attribution top-1 (k-NN)", ("attribution", "top1")),
    ("attribution top-5 (k-NN)", ("attribution", "top5")),
    ("attribution top-1 (centroid)", ("attribution", "centroid_top1")),
    ("retrieval precision@1", ("retrieval", "precision_at_1")),
    ("retrieval MAP@R", ("retrieval", "map_at_r")),
    ("open set: indexed named right", ("open_set", "known_correct")),
    ("open set: others 'unknown'", ("open_set", "unknown_correct")),
    ("open set: AUROC", ("open_set", "auroc")),
    ("open set: ECE", ("open_set", "ece")),
]


def _get(block: dict | None, keys: tuple[str, ...]) -> str:
    value = block
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return "-"
        value = value[key]
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _ci(block: dict, key: str) -> str:
    lo, hi = block["verification"].get(key, (None, None))
    return "" if lo is None else f" [{lo:.3f}, {hi:.3f}]"


def render(console: Console, result: dict) -> None:
    title = f"{result['split']} split: {result['artists']} artists, {result['images']} images, {result['verification']['pairs']} pairs"
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("trained", justify="right")
    table.add_column("baseline", justify="right")
    for name, keys in ROWS:
        trained, base = _get(result, keys), _get(result.get("baseline"), keys)
        if keys[-1] in ("roc_auc", "accuracy"):
            trained += _ci(result, f"{keys[-1]}_ci")
            base += _ci(result["baseline"], f"{keys[-1]}_ci") if result.get("baseline") else ""
        table.add_row(name, trained, base)
    console.print(table)
    console.print(f"threshold from: {result['verification']['threshold_source']}; 95% bootstrap intervals in brackets")
    for note in result.get("notes", []):
        console.print(f"note: {note}")
    if result.get("skipped"):
        console.print(f"{len(result['skipped'])} unreadable image(s) left out")
    if result.get("report"):
        console.print(f"report: {result['report']}")
