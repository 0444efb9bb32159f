"""`engine model info [MODEL]`: the model card of a model (default: the one `engine query` / `verify` would use)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from cli.options import HomeOpt, JsonOpt
from cli.output import emit

model_app = typer.Typer(help="About models: `engine model info [MODEL]` prints a model card.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")


@model_app.command("info")
def info(
    model: Annotated[Optional[Path], typer.Argument(help="A model.pt or its folder [default: the model the home's commands use: its index's, its own trained one, else the shipped one].", show_default=False)] = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """The model card: what the model is, what it learnt from, its cross-validation numbers, its limits."""
    from engine.base.home import Home
    from indexer.home_model import model_card_of

    emit(model_card_of(Home.resolve(home), model), as_json=as_json, render=_render)


def _render(console: Console, card: dict) -> None:
    from engine.model.card import render_card

    sys.stdout.write(render_card(card))
    sys.stdout.write(f"\n(used here as: {card['source']}; {card['path']})\n")
