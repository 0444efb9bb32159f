"""`engine verify A B`: are two paintings by the same artist?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.options import HomeOpt, JsonOpt, ModelOpt
from cli.output import emit


def register(app: typer.Typer) -> None:
    app.command("verify", help=verify.__doc__)(verify)


def verify(
    a: Annotated[Path, typer.Argument(help="First image.", show_default=False)],
    b: Annotated[Path, typer.Argument(help="Second image.", show_default=False)],
    model: ModelOpt = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Compare two paintings: cosine similarity, calibrated same-artist probability and the decision.

    The model must be calibrated (threshold and Platt calibration, stored by `engine train` or `engine evaluate --split val`).
    """
    from engine.inference.verify import verify_pair

    emit(verify_pair(a, b, home=home, model=model), as_json=as_json, render=_render)


def _render(console: Console, result: dict) -> None:
    verdict = "same artist" if result["same_artist"] else "different artists"
    table = Table(show_header=False, title=f"engine verify: {verdict}")
    table.add_row("similarity", f"{result['similarity']:.4f}")
    table.add_row("probability (same artist)", f"{result['probability']:.3f}")
    table.add_row("threshold", f"{result['threshold']:.4f}")
    table.add_row("same artist", "yes" if result["same_artist"] else "no")
    console.print(table)
