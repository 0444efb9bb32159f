"""`engine query IMAGE...`: the most similar indexed paintings and the likely artists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import DbOpt, HomeOpt, JsonOpt, ModelOpt
from cli.output import emit, path_column_width, shorten_path, under_common_folder


def register(app: typer.Typer) -> None:
    app.command("query", help=query.__doc__)(query)


def query(
    images: Annotated[List[Path], typer.Argument(help="One or more query images.", show_default=False)],
    k: Annotated[Optional[int], typer.Option("-k", "--k", min=1, help="Nearest paintings per query [default: 10, or the index size if smaller]; more than the index holds is an error.", show_default=False)] = None,
    artist: Annotated[Optional[str], typer.Option("--artist", help="Only paintings by this artist (case-insensitive).")] = None,
    style: Annotated[Optional[str], typer.Option("--style", help="Only paintings of this style (case-insensitive).")] = None,
    date: Annotated[Optional[str], typer.Option("--date", help="Only paintings whose date starts with this text (e.g. 1889).")] = None,
    as_json: JsonOpt = False,
    model: ModelOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
) -> None:
    """Find the indexed paintings most similar to each IMAGE and rank the likely artists.

    Artist score: the similarities of that artist's paintings among the top-k (clipped at 0), normalised to sum to 1.
    Probability (p): the calibrated chance that this artist painted it; "none of them": that the painter is none of the listed artists.
    """
    from indexer.search import query_images

    result = query_images(images, home=home, db=db, k=k, artist=artist, style=style, date=date, model=model)
    emit(result, as_json=as_json, render=_render)


def _likely(item: dict) -> str:
    """"A (0.62, p 0.55), B (0.38, p 0.20); none of them: p 0.25" (no p for an uncalibrated model)."""
    def one(a: dict) -> str:
        p = a.get("probability")
        return f"{a['artist']} ({a['score']:.2f}" + (f", p {p:.2f})" if p is not None else ")")

    text = ", ".join(one(a) for a in item["artists"][:3]) or "unknown"
    return text if item.get("unknown") is None else f"{text}; none of them: p {item['unknown']:.2f}"


def _render(console: Console, result: dict) -> None:
    for item in result["results"]:
        artists = _likely(item)
        folder, paths = under_common_folder([m["path"] for m in item["matches"]])
        table = Table("#", "similarity", "artist", "path", title=f"{item['query']}: likely {artists}",
                      caption=f"paths under {folder}" if folder else None)
        width = path_column_width(console, 26 + max([len(m["artist"] or "-") for m in item["matches"]] + [6]))
        for rank, (match, path) in enumerate(zip(item["matches"], paths), 1):
            table.add_row(str(rank), f"{match['similarity']:.3f}", match["artist"] or "-", shorten_path(path, width))
        console.print(table)
