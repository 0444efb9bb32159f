"""`engine index FOLDER`: embed a folder of paintings into the home's catalog and FAISS index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import DbOpt, HomeOpt, JsonOpt, ModelOpt
from engine.base.config import given
from indexer.config import IndexConfig
from cli.output import RichProgress, emit


def register(app: typer.Typer) -> None:
    app.command("index", help="Index a folder of paintings (incremental, resumable) for `engine query`.")(index)


def index(
    folder: Annotated[Path, typer.Argument(help="Folder of images (searched recursively).", show_default=False)],
    labels: Annotated[Optional[Path], typer.Option("--labels", help="CSV with filename,artist[,title,style,genre,date] (Painter by Numbers form); else one subfolder per artist.")] = None,
    artists: Annotated[Optional[Path], typer.Option("--artists", help="Painter by Numbers' artists.csv (name, years, genre, nationality, bio, wikipedia; other columns kept): artist metadata for the page.")] = None,
    with_map: Annotated[bool, typer.Option("--map", help="Then lay out the map of the collection for the page (as `engine map`; needs the map extra).")] = False,
    model: ModelOpt = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove paintings whose files are gone from FOLDER.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Only compare catalog, index and FOLDER, repair the index, and report.")] = False,
    reindex: Annotated[bool, typer.Option("--reindex", help="Switch this home to --model: forget every vector made by the previous model and index FOLDER afresh.")] = False,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
    db: DbOpt = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Images per forward pass (default: measured, see --streams).")] = None,
    streams: Annotated[Optional[int], typer.Option("--streams", min=1, help="Forward passes at once, sharing the model (default: the fastest of a quick measurement on CPU; 1 on GPU).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=0, help="Image decoding processes (default: cores - 1).")] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help="Torch intra-op threads per forward pass (default: measured with --streams).")] = None,
    commit_every: Annotated[Optional[int], typer.Option("--commit-every", min=1, show_default=False, help=f"Images per catalog transaction, the most a crash can lose (default: {IndexConfig.commit_every}).")] = None,
    approx_threshold: Annotated[Optional[int], typer.Option("--approx-threshold", min=1, show_default=False, help=f"From this many paintings on, build an approximate (IVF) index and report its recall@10 (default: {IndexConfig.approx_threshold:,}).")] = None,
    measure_forward: Annotated[Optional[float], typer.Option("--measure-forward", min=0.0, show_default=False, help="Also time the model's bare forward pass for this many seconds, the compute limit (default: off).")] = None,
    cluster: Annotated[Optional[str], typer.Option("--cluster", show_default=False, help="Decode and embed on Ray: ray (start a local Ray), auto or ray://HOST:PORT (join a running cluster); needs the distributed extra (default: this process).")] = None,
) -> None:
    from indexer.pipeline import index_folder

    config = IndexConfig(**given(
        batch_size=batch_size, streams=streams, num_workers=workers, torch_threads=threads, commit_every=commit_every,
        approx_threshold=approx_threshold, reindex=reindex, measure_forward_s=measure_forward, cluster=cluster,
    ))
    result = index_folder(
        folder, home=home, db=db, labels=labels, model=model, prune=prune, check=check,
        config=config, progress=RichProgress(),
    )
    if artists is not None:
        from indexer.artist_metadata import load_artist_metadata

        result["artists"] = load_artist_metadata(artists, home=home, db=db)
    if with_map:
        from indexer.collection_map import build_map

        result["map"] = build_map(home=home, db=db)
    emit(result, as_json=as_json, render=_render)


def _render(console: Console, result: dict) -> None:
    if "check" in result:
        _render_check(console, result["check"])
    table = Table(title="engine index", show_header=False)
    for key in ("added", "updated", "removed", "missing", "relabelled", "total", "images_per_second",
                "forward_images_per_second", "efficiency", "index_type", "recall_at_10", "seconds"):
        if result.get(key) is not None:
            table.add_row(key.replace("_", " "), str(result[key]))
    table.add_row("skipped", str(len(result["skipped"])))
    if "artists" in result:
        table.add_row("artists described", f"{result['artists']['artists_with_paintings']} of {result['artists']['artists_loaded']} have indexed paintings")
    console.print(table)
    if result["skipped"]:
        skipped = Table("skipped file", "reason", title="skipped")
        for item in result["skipped"][:50]:
            skipped.add_row(item["path"], item["reason"])
        console.print(skipped)
        if len(result["skipped"]) > 50:
            console.print(f"... and {len(result['skipped']) - 50} more (see --json)")


def _render_check(console: Console, check: dict) -> None:
    table = Table("", "found", "after repair", title="engine index --check")
    found, after = check["found"], check["after"]
    for key in after:
        table.add_row(key.replace("_", " "), str(found.get(key, "-")), str(after[key]))
    table.add_row("index file", str(found.get("index_file")), "ok")
    table.add_row("files not indexed", str(check["files_not_indexed"]), "")
    table.add_row("rows without file", str(check["rows_without_file"]), "")
    console.print(table)
    console.print("consistent" if check["consistent"] else "[red]NOT consistent[/red]")
