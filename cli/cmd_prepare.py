"""`engine prepare`: build an artist-disjoint, deduplicated dataset folder from one or more folders of paintings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.console import Console
from rich.table import Table

from cli.options import HomeOpt, JsonOpt
from cli.output import RichProgress, emit



def register(app: typer.Typer) -> None:
    app.command("prepare", help=prepare.__doc__)(prepare)


def prepare(
    source: Annotated[List[Path], typer.Argument(metavar="SOURCE", help="Folder of images (with --labels) or one subfolder per artist; several SOURCE folders are merged into one prepared set (the same painter across collections is one artist).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: new, empty, or a previous prepare output.")],
    labels: Annotated[Optional[List[Path]], typer.Option("--labels", help="CSV of file names and artists (Painter by Numbers train_info.csv / all_data_info.csv, or any CSV with --file-column/--artist-column). With several SOURCE folders: one --labels per SOURCE, in order (`--labels none` for one with artist subfolders).")] = None,
    size: Annotated[int, typer.Option("--size", help="Side in pixels of the square, center-cropped copies.")] = 256,
    val_fraction: Annotated[float, typer.Option("--val-fraction", help="Share of ARTISTS in the validation split.")] = 0.15,
    test_fraction: Annotated[float, typer.Option("--test-fraction", help="Share of ARTISTS in the test split.")] = 0.15,
    min_per_artist: Annotated[int, typer.Option("--min-per-artist", help="Drop artists with fewer images than this (after deduplication).")] = 2,
    max_per_artist: Annotated[Optional[int], typer.Option("--max-per-artist", help="Subsample bigger artists to this many images (deterministic by --seed).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the artist split and of the per-artist subsample.")] = 0,
    file_column: Annotated[Optional[str], typer.Option("--file-column", help="Labels CSV column with the file name (default: auto-detect filename/new_filename/file/path).")] = None,
    artist_column: Annotated[Optional[str], typer.Option("--artist-column", help="Labels CSV column with the artist (default: auto-detect artist/painter/author).")] = None,
    min_side: Annotated[int, typer.Option("--min-side", help="Drop originals whose shorter side is below this many pixels.")] = 32,
    max_pixels: Annotated[Optional[int], typer.Option("--max-pixels", help="Drop originals with more pixels than this (decompression-bomb guard; default 250 million).")] = None,
    near_dup_threshold: Annotated[int, typer.Option("--near-dup-threshold", help="Max Hamming distance between 64-bit perceptual hashes to count as near duplicates (-1: exact duplicates only).")] = 8,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Decoding processes (default: one per CPU core).")] = None,
    as_json: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Prepare a dataset: normalised copies, manifest.csv (artist-disjoint train/val/test) and report.json."""
    from engine.prepare.pipeline import PrepareConfig, prepare_dataset

    config = PrepareConfig(
        size=size, val_fraction=val_fraction, test_fraction=test_fraction, min_per_artist=min_per_artist,
        max_per_artist=max_per_artist, seed=seed, file_column=file_column, artist_column=artist_column,
        min_side=min_side, near_dup_threshold=near_dup_threshold, workers=workers,
        **({"max_pixels": max_pixels} if max_pixels is not None else {}),
    )
    report = prepare_dataset(source, out=out, labels=labels or None, config=config, progress=RichProgress())
    emit(_summary(report) if as_json else report, as_json=as_json, render=render)


def _summary(report: dict) -> dict:
    """The report without the per-file list (that stays in report.json)."""
    return {k: v for k, v in report.items() if k != "dropped_files"}


def render(console: Console, report: dict) -> None:
    table = Table(title=f"Prepared {report['out']}")
    for column in ("split", "artists", "images"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split, counts in report["splits"].items():
        table.add_row(split, str(counts["artists"]), str(counts["images"]))
    table.add_row("[bold]total", str(report["artists"]), str(report["images"]))
    console.print(table)
    if report["dropped"]:
        dropped = Table(title="Dropped files (details in report.json)")
        dropped.add_column("reason")
        dropped.add_column("files", justify="right")
        for reason, count in report["dropped"].items():
            dropped.add_row(reason, str(count))
        console.print(dropped)
    for name, others in (report.get("merged_spellings") or {}).items():
        console.print(f"one painter: {name} (also written {', '.join(repr(o) for o in others)})")
    console.print(
        f"{report['files']} files in {report['seconds']:.1f} s ({report['images_per_second']} images/s; "
        f"{report['decoded']} decoded, {report['cached']} from cache)"
    )
