"""`engine verify A B`: are two paintings by the same artist? `engine verify --pairs PAIRS.csv --out OUT.csv`: every pair of a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import HomeOpt, JsonOpt, ModelOpt
from cli.output import RichProgress, emit


def register(app: typer.Typer) -> None:
    app.command("verify", help=verify.__doc__)(verify)


def verify(
    a: Annotated[Optional[Path], typer.Argument(help="First image.", show_default=False)] = None,
    b: Annotated[Optional[Path], typer.Argument(help="Second image.", show_default=False)] = None,
    pairs: Annotated[Optional[Path], typer.Option("--pairs", help="Score every pair of a CSV index,image1,image2 (Kaggle's submission_info.csv) instead of A B.")] = None,
    images_dir: Annotated[Optional[Path], typer.Option("--images-dir", help="Folder the --pairs image paths are relative to [default: the CSV's folder].", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="With --pairs: write index,sameArtist (the calibrated probability) here.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="With --pairs: fail on an unreadable image or a bad row (else: reported; the pair gets the prior).")] = False,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Compare two paintings: cosine similarity, calibrated same-artist probability and the decision.
    With --pairs PAIRS.csv --out OUT.csv: the same probability for every pair of a Kaggle pairs file.

    The model must be calibrated (threshold and Platt calibration, stored by `engine train` or `engine calibrate`).
    """
    if pairs is not None:
        _usage(a is None and out is not None, "--pairs takes no images A B and needs --out OUT.csv")
        from engine.inference.pairs_file import score_pairs

        result = score_pairs(pairs, out=out, images_dir=images_dir, home=home, model=model, strict=strict, progress=RichProgress())
        emit(result, as_json=as_json, render=_render_pairs)
        return
    _usage(a is not None and b is not None and images_dir is None and out is None and not strict,
           "pass two images A B, or --pairs PAIRS.csv --out OUT.csv [--images-dir DIR] [--strict]")
    from engine.base.home import Home
    from engine.inference.verify import verify_pair
    from indexer.home_model import home_model

    the_home = Home.resolve(home)  # the model of the home's index first, as query does
    emit(verify_pair(a, b, home=home, model=home_model(the_home, model)), as_json=as_json, render=_render)


def _usage(ok: bool, message: str) -> None:
    if not ok:
        raise typer.BadParameter(message)


def _render(console: Console, result: dict) -> None:
    verdict = "same artist" if result["same_artist"] else "different artists"
    table = Table(show_header=False, title=f"engine verify: {verdict}")
    table.add_row("similarity", f"{result['similarity']:.4f}")
    table.add_row("probability (same artist)", f"{result['probability']:.3f}")
    table.add_row("threshold", f"{result['threshold']:.4f}")
    table.add_row("same artist", "yes" if result["same_artist"] else "no")
    console.print(table)


def _render_pairs(console: Console, result: dict) -> None:
    table = Table(show_header=False, title=f"engine verify --pairs: wrote {result['out']}")
    for key in ("pairs", "scored", "prior_pairs", "prior", "images", "unreadable_images", "bad_rows", "pairs_per_second", "seconds"):
        table.add_row(key.replace("_", " "), str(result[key]))
    console.print(table)
    for item in result["unreadable"][:10]:
        console.print(f"unreadable: {item['image']} ({item['reason']})")
    for example in result["bad_row_examples"][:10]:
        console.print(f"bad row: {example}")
    if result["unreadable_images"] > 10 or result["bad_rows"] > 10:
        console.print("... more in --json")
