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
    duplicate_threshold: Annotated[Optional[float], typer.Option("--duplicate-threshold", help="Cosine at or above which a match is a copy of the query (flagged, left out of the vote) [default: indexer.duplicates.DUPLICATE_COSINE].", show_default=False)] = None,
    explain: Annotated[Optional[Path], typer.Option("--explain", help="Write DIR/match-N.png: the query and each match side by side, with the regions that carry their similarity.", show_default=False)] = None,
    as_json: JsonOpt = False,
    model: ModelOpt = None,
    home: HomeOpt = None,
    db: DbOpt = None,
) -> None:
    """Find the indexed paintings most similar to each IMAGE and rank the likely artists.

    Artists are listed by p when the model is calibrated, else by vote. vote: the similarities of that artist's paintings
    among the top-k (clipped at 0), normalised to sum to 1. p: the calibrated chance that this artist painted it;
    "none of the indexed artists": that the painter is none of them. A query that is an indexed painting is not its own
    match, and copies of it (duplicate) take no part in the vote.
    """
    from indexer.search import query_images

    result = query_images(images, home=home, db=db, k=k, artist=artist, style=style, date=date, model=model, explain=explain,
                          **({} if duplicate_threshold is None else {"duplicate_threshold": duplicate_threshold}))
    emit(result, as_json=as_json, render=_render)


def _one(a: dict) -> str:
    """"A p 0.55 (vote 0.62)", or "A (vote 0.62)" for an uncalibrated model."""
    vote = a.get("vote", a["score"])
    p = a.get("probability")
    return f"{a['artist']} (vote {vote:.2f})" if p is None else f"{a['artist']} p {p:.2f} (vote {vote:.2f})"


def headline(item: dict) -> str:
    """"likely A p 0.55 (vote 0.62), B p 0.20 (vote 0.38); none of them: p 0.25", or, when "none of them" is the
    likeliest, "probably none of the indexed artists (p 0.77); closest: A p 0.10 (vote 0.41)"."""
    listed = ", ".join(_one(a) for a in item["artists"][:3])
    unknown = item.get("unknown")
    if unknown is not None and (not item["artists"] or unknown >= (item["artists"][0].get("probability") or 0.0)):
        return f"probably none of the indexed artists (p {unknown:.2f})" + (f"; closest: {listed}" if listed else "")
    text = f"likely {listed or 'unknown'}"
    return text if unknown is None else f"{text}; none of them: p {unknown:.2f}"


def _render(console: Console, result: dict) -> None:
    for item in result["results"]:
        folder, paths = under_common_folder([m["path"] for m in item["matches"]])
        known = item.get("in_collection")
        title = f"{item['query']}: {headline(item)}"
        if known:
            title += f" (in the collection as #{known['id']}, {known['artist'] or 'no artist'}: not counted)"
        table = Table("#", "similarity", "artist", "path", title=title, caption=f"paths under {folder}" if folder else None)
        width = path_column_width(console, 36 + max([len(m["artist"] or "-") for m in item["matches"]] + [6]))
        for rank, (match, path) in enumerate(zip(item["matches"], paths), 1):
            copy = " copy" if match.get("duplicate") else ""
            table.add_row(str(rank), f"{match['similarity']:.3f}{copy}", match["artist"] or "-", shorten_path(path, width))
        if any(m.get("duplicate") for m in item["matches"]):
            table.caption = ((table.caption + "; ") if table.caption else "") + "copy: a duplicate of the query, not counted"
        for shown in item.get("explained", []):
            console.print(f"explained: {shown['png']}")
        console.print(table)
