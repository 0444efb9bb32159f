"""`engine export OUT`: the catalog's vectors and metadata for other tools (clip-retrieval's layout)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import DbOpt, HomeOpt, JsonOpt
from cli.output import emit


def register(app: typer.Typer) -> None:
    app.command("export", help=export.__doc__)(export)


def export(
    out: Annotated[Path, typer.Argument(help="A new (or empty) folder to write.", show_default=False)],
    fmt: Annotated[Optional[str], typer.Option("--format", help="parquet: metadata_K.parquet (needs pyarrow); npy: metadata_K.npy (a NumPy structured array) [default: parquet].", show_default=False)] = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
    db: DbOpt = None,
) -> None:
    """Export the catalog: OUT/img_emb/img_emb_K.npy (float32 vectors) and OUT/metadata/metadata_K.parquet|npy
    (id, image_path, artist, title, style, genre, date), row-aligned, plus OUT/export.json."""
    from indexer.export import ExportConfig, export_catalog

    config = ExportConfig() if fmt is None else ExportConfig(format=fmt)
    emit(export_catalog(out, home=home, db=db, config=config), as_json=as_json, render=_render)


def _render(console: Console, result: dict) -> None:
    table = Table(show_header=False, title=f"engine export: {result['out']}")
    for key in ("format", "count", "shards", "embedding_dim", "model"):
        table.add_row(key.replace("_", " "), str(result[key]))
    console.print(table)
