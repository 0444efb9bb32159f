"""`engine duplicates`: groups of copies of one painting in the collection (same file, or near-duplicates)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import DbOpt, HomeOpt, JsonOpt
from cli.output import emit, path_column_width, shorten_path


def register(app: typer.Typer) -> None:
    app.command("duplicates", help=duplicates.__doc__)(duplicates)


def duplicates(
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="Cosine at or above which two paintings are one work [default: indexer.duplicates.DUPLICATE_COSINE].", show_default=False)] = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
    db: DbOpt = None,
) -> None:
    """List groups of exact (same bytes) and near-duplicate paintings (recompressed, resized, re-cropped or
    colour-shifted copies of one work) in the indexed collection, largest group first.

    Reads the catalog and the index only (no pass over the files).
    """
    from indexer.duplicates import DuplicateConfig, find_duplicates

    config = DuplicateConfig() if threshold is None else DuplicateConfig(threshold=threshold)
    emit(find_duplicates(home=home, db=db, config=config), as_json=as_json, render=_render)


def _render(console: Console, result: dict) -> None:
    groups = result["groups"]
    copies = sum(g["size"] for g in groups)
    console.print(f"{len(groups)} groups of copies ({copies} of {result['paintings']} paintings) at cosine >= {result['threshold']:.3f}")
    width = path_column_width(console, 40)
    for n, group in enumerate(groups, 1):
        kind = "same file" if group["exact"] else f"near-duplicates, cosine >= {group['min_similarity']:.3f}"
        table = Table("id", "artist", "path", title=f"group {n}: {group['size']} paintings ({kind})", title_justify="left")
        for painting in group["paintings"]:
            table.add_row(str(painting["id"]), painting["artist"] or "-", shorten_path(painting["path"], width))
        console.print(table)
