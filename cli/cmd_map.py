"""`engine map`: lay out the map of the collection (2D, for the page's map view) and cache it in the home."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import DbOpt, HomeOpt, JsonOpt
from cli.output import emit


def register(app: typer.Typer) -> None:
    app.command("map", help=map_collection.__doc__)(map_collection)


def map_collection(
    method: Annotated[Optional[str], typer.Option("--method", help="umap (umap-learn) or tsne (openTSNE) [default: umap, the better of the two on artdata].", show_default=False)] = None,
    force: Annotated[bool, typer.Option("--force", help="Lay it out again even when the cached map is current.")] = False,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
    db: DbOpt = None,
) -> None:
    """Place every indexed painting on a 2D map (neighbours stay neighbours) for `engine serve`'s map view;
    cached in HOME/cache/map, recomputed when the collection changed (the seconds it took are printed)."""
    from indexer.collection_map import DEFAULT_METHOD, build_map

    emit(build_map(home=home, db=db, method=method or DEFAULT_METHOD, force=force), as_json=as_json, render=_render)


def _render(console: Console, result: dict) -> None:
    table = Table(show_header=False, title="engine map")
    table.add_row("paintings", str(result["paintings"]))
    table.add_row("method", result["method"])
    table.add_row("layout seconds", f"{result['seconds']:.1f}" + (" (cached, still current)" if result["reused"] else ""))
    table.add_row("file", result["path"])
    console.print(table)
