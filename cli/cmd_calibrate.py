"""`engine calibrate`: re-fit a model's threshold, probability calibration and open-set rule on val, and store them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import HomeOpt, JsonOpt, ModelOpt
from cli.output import RichProgress, emit
from engine.base.config import given
from engine.evaluate.config import EvaluateConfig


def register(app: typer.Typer) -> None:
    app.command("calibrate", help=calibrate.__doc__)(calibrate)


def calibrate(
    data: Annotated[Optional[Path], typer.Argument(help="The prepared dataset the model was trained on, or a copy (default: the one it records).", show_default=False)] = None,
    model: ModelOpt = None,
    pairs: Annotated[Optional[int], typer.Option("--pairs", show_default=False, help="Number of same/different-artist val pairs to fit on, balanced (default: 2000).", min=2)] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", show_default=False, help=f"Seed of the pair sampling (default: {EvaluateConfig.seed}).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", show_default=False, help="Images per embedding batch (default: one single-thread stream of 4 per CPU core; 64 on a GPU).", min=1)] = None,
    own_painters: Annotated[bool, typer.Option("--own-painters", help="DATA holds painters the model never trained on (your own labelled collection): fit on all of its paintings, so that thresholds, probabilities and 'none of them' speak for that collection.")] = False,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Re-fit the decision threshold, the Platt probability calibration and the open-set attribution rule on the
    val split of the model's dataset (or, with --own-painters, on your own labelled painters), and store them in
    its model.pt (weights untouched)."""
    from engine.evaluate.recalibrate import calibrate_model

    config = EvaluateConfig(**given(seed=seed, batch_size=batch_size))
    result = calibrate_model(model=model, data=data, home=home, config=config, own_painters=own_painters,
                             progress=RichProgress(), **given(pairs=pairs))
    emit(result, as_json=as_json, render=_render)


def _render(console: Console, result: dict) -> None:
    table = Table(show_header=False, title=f"engine calibrate: {result['model']}")
    fitted_on = "own painters" if result["split"] == "all" else "val split"
    table.add_row(fitted_on, f"{result['artists']} artists, {result['images']} images, {result['pairs']} pairs")
    table.add_row("threshold (cosine)", f"{result['threshold']:.4f}")
    table.add_row("Platt slope a", f"{result['calibration']['a']:.3f}")
    table.add_row("open-set rule", "fitted" if result["attribution"] else "-")
    for key, value in result["metrics"].items():
        table.add_row(key.replace("_", " "), f"{value:.3f}")
    console.print(table)
    console.print(f"fitted on: {result['source']}; stored in {result['model']}")
