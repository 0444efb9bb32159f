"""`engine demo`: the whole flow, offline, on generated paintings or on your own collection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.demo.config import DemoConfig
from cli.options import HomeOpt, JsonOpt
from engine.base.config import given
from cli.output import RichProgress, emit

STEPS = ("generate", "prepare", "train", "evaluate", "index", "query", "verify")
ARTEFACTS = (
    ("model", "model"), ("training metrics", "training_metrics"), ("loss plot", "loss_plot"),
    ("evaluation report", "report"), ("catalog", "catalog"), ("index", "index"),
    ("indexed paintings", "library"), ("synthetic gallery", "gallery"), ("prepared dataset", "dataset"),
    ("this summary (JSON)", "summary"),
)


def register(app: typer.Typer) -> None:
    app.command("demo", help=demo.__doc__)(demo)


def demo(
    data: Annotated[Optional[Path], typer.Option("--data", help="Run on this image folder instead of generated paintings (one subfolder per artist, or with --labels).")] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="Labels CSV for --data (Painter by Numbers train_info.csv / all_data_info.csv form).")] = None,
    max_per_artist: Annotated[Optional[int], typer.Option("--max-per-artist", show_default=False, help=f"With --data: use at most N images per artist, to keep the demo short (default: {DemoConfig.max_per_artist}; 0: all).", min=0)] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", show_default=False, help=f"Training epochs of the embedding head (default: {DemoConfig.epochs}).", min=1)] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", show_default=False, help=f"Seed of the synthetic gallery, the splits and training (default: {DemoConfig.seed}).")] = None,
    index_all: Annotated[bool, typer.Option("--index-all", help="Index every prepared painting, not only the held-out artists' (slower).")] = False,
    workdir: Annotated[Optional[Path], typer.Option("--workdir", help="Folder for gallery, prepared data, probes and report (default: HOME/demo/...).")] = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Run prepare -> train -> evaluate -> index -> query -> verify end to end, offline, and say where everything went."""
    from cli.demo.tour import run_demo

    options = given(epochs=epochs, seed=seed, index="all" if index_all else None)
    if max_per_artist is not None:
        options["max_per_artist"] = max_per_artist or None  # 0: every image
    config = DemoConfig(**options)
    result = run_demo(data=data, labels=labels, home=home, workdir=workdir, config=config, progress=RichProgress())
    emit(result, as_json=as_json, render=render)


def render(console: Console, result: dict) -> None:
    source = "synthetic artists" if result["source"] == "synthetic" else result["source"]
    table = Table(title=f"engine demo on {source}: {result['seconds']:.0f} s")
    table.add_column("step")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    for name in sorted(result["steps"], key=lambda n: STEPS.index(n) if n in STEPS else len(STEPS)):
        brief = result["steps"][name]
        table.add_row(name, brief.get("line", ""), f"{brief.get('seconds', 0):.1f}")
    console.print(table)
    _render_matches(console, result["steps"].get("query"))
    artefacts = Table(title="where everything is", show_header=False)
    artefacts.add_column("what")
    artefacts.add_column("path", overflow="fold")
    for label, key in ARTEFACTS:
        if result["artefacts"].get(key):
            artefacts.add_row(label, str(result["artefacts"][key]))
    for plot in result["artefacts"].get("plots", []):
        artefacts.add_row("plot", plot)
    console.print(artefacts)
    query = result["steps"].get("query", {}).get("query", "IMAGE")
    console.print(f"try: engine query {query} --home {result['home']}")


def _render_matches(console: Console, query: dict | None) -> None:
    if not query:
        return
    table = Table(title=f"nearest paintings to {Path(query['query']).name} (by {query['true_artist']})")
    table.add_column("#", justify="right")
    table.add_column("artist")
    table.add_column("similarity", justify="right")
    table.add_column("file (full paths: --json)", overflow="fold")
    for rank, match in enumerate(query["matches"], start=1):
        table.add_row(str(rank), str(match.get("artist") or "?"), f"{match['similarity']:.3f}", Path(match["path"]).name)
    console.print(table)
