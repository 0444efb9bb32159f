"""`engine prepare`: turn one or more folders of paintings into an artist-disjoint, deduplicated dataset.

Pipeline: scan each SOURCE (+ its labels; several are merged by engine.prepare.collections) -> per-file facts (sha256, perceptual hash, size; cached in DIR,
computed in worker processes) -> drops, duplicates, per-artist limits -> artist split ->
DIR/manifest.csv + DIR/report.json + DIR/images/<sha[:2]>/<sha>.jpg (size x size, JPEG q95).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from engine.base.config import require
from engine.base.errors import EngineError
from engine.data.imageio import DEFAULT_MAX_PIXELS
from engine.prepare.cache import CACHE_NAME, FactsCache
from engine.prepare.facts import collect_facts, default_workers
from engine.base.lock import ExclusiveLock
from engine.prepare.output import (
    IMAGES_DIR, LOCK_NAME, REPORT_KIND, check_out_dir, output_errors, remove_stale_copies, write_outputs,
)
from engine.prepare.select import Selection, select
from engine.prepare.worker import DecodeJob, FileFacts, cached_image_name
from engine.base.progress import Progress
from engine.base.versions import library_versions
from engine.data.sources import Drop, SourceItem
from engine.prepare.collections import Collections, pair_collections, scan_collections
from engine.data.manifest import SPLITS
from engine.prepare.split import validate_fractions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareConfig:
    """Options of `engine prepare` (CLI option names in comments where they differ)."""

    size: int = 256  # side of the square normalised copies
    val_fraction: float = 0.15  # share of ARTISTS in val
    test_fraction: float = 0.15  # share of ARTISTS in test
    min_per_artist: int = 2  # artists with fewer kept images are dropped
    max_per_artist: int | None = None  # bigger artists are subsampled (deterministic by seed)
    seed: int = 0
    file_column: str | None = None  # labels CSV column naming the file (auto-detected)
    artist_column: str | None = None  # labels CSV column naming the artist (auto-detected)
    min_side: int = 32  # originals whose shorter side is below this are dropped
    max_pixels: int = DEFAULT_MAX_PIXELS  # decompression-bomb guard: larger originals are dropped
    near_dup_threshold: int = 8  # max Hamming distance of 64-bit pHashes to count as near duplicates; < 0: off
    workers: int | None = None  # decoding processes; None: one per core
    jpeg_quality: int = 95


def prepare_dataset(
    source: str | Path | Sequence[str | Path],
    *,
    out: str | Path,
    labels: str | Path | Sequence[str | Path | None] | None = None,
    config: PrepareConfig = PrepareConfig(),
    progress: Progress | None = None,
) -> dict:
    """Build the dataset in `out` from one SOURCE, or several (SOURCE i with labels i, see
    engine.prepare.collections.pair_collections); returns the report (also out/report.json)."""
    started = time.perf_counter()
    validate_config(config)
    out = Path(out).expanduser().absolute()
    scan = scan_collections(
        pair_collections(source, labels), file_column=config.file_column, artist_column=config.artist_column, exclude=out
    )
    for one in scan.scans:
        check_out_dir(out, one.root)
    with output_errors(out):
        out.mkdir(parents=True, exist_ok=True)
    with prepare_lock(out):
        return _prepare(scan, out, config, progress, started)


def prepare_lock(out: Path) -> ExclusiveLock:
    """One prepare per output folder: a second one would interleave writes to the cache and manifest."""
    return ExclusiveLock(
        out / LOCK_NAME,
        busy=f"another `engine prepare` is writing to {out} (pid {{pid}}); wait for it to finish or pass another --out",
        writable_hint="pass a writable --out",
    )


def _prepare(scan: Collections, out: Path, config: PrepareConfig, progress, started: float) -> dict:
    with output_errors(out):
        cache = FactsCache(out / CACHE_NAME, config.size)
        job = DecodeJob("", str(out / IMAGES_DIR), config.size, config.min_side, config.max_pixels, config.jpeg_quality)
        workers = config.workers or default_workers()
        facts, decoded = _collect(scan.items, cache, job, workers, progress)
    selection = select(scan.items, facts, config)
    if not selection.kept:
        summary = _drop_summary(scan.dropped + selection.dropped)
        raise EngineError(f"no usable image in {scan.root} ({summary}); check SOURCE, --min-side and --min-per-artist")
    rows = manifest_rows(scan.items, facts, selection, out)
    seconds = time.perf_counter() - started
    report = build_report(scan, selection, config, out=out, decoded=decoded, workers=workers, seconds=seconds)
    with output_errors(out):
        write_outputs(out, rows, report)
        remove_stale_copies(out / IMAGES_DIR, cache.decoded_hashes())
    logger.info(
        "prepared %d images of %d artists, dropped %d, in %.1f s (%.1f images/s, %d decoded, %d cached)",
        report["images"], report["artists"], report["dropped_total"], seconds,
        report["images_per_second"], decoded, report["cached"],
    )
    return report


def _collect(items, cache: FactsCache, job: DecodeJob, workers: int, progress) -> tuple[list[FileFacts], int]:
    complete = False
    try:
        result = collect_facts(items, cache=cache, job=job, workers=workers, progress=progress)
        complete = True
        return result
    finally:  # interrupted or failed: what was decoded so far is reused by the next run
        try:
            cache.save(complete=complete)
        except OSError:
            if complete:
                raise
            logger.warning("could not save the cache %s", cache.path)


def validate_config(config: PrepareConfig) -> None:
    """EngineError on option values that cannot work."""
    validate_fractions(config.val_fraction, config.test_fraction)
    checks = [
        (config.size >= 8, f"--size must be >= 8, got {config.size}"),
        (config.min_per_artist >= 1, f"--min-per-artist must be >= 1, got {config.min_per_artist}"),
        (config.min_side >= 1, f"--min-side must be >= 1, got {config.min_side}"),
        (config.max_pixels >= 1, f"--max-pixels must be >= 1, got {config.max_pixels}"),
        (config.workers is None or config.workers >= 1, f"--workers must be >= 1, got {config.workers}"),
        (1 <= config.jpeg_quality <= 100, f"jpeg_quality must be in 1..100, got {config.jpeg_quality}"),
        (config.near_dup_threshold <= 32, f"--near-dup-threshold must be <= 32 bits, got {config.near_dup_threshold}"),
    ]
    if config.max_per_artist is not None:
        checks.append((
            config.max_per_artist >= config.min_per_artist,
            f"--max-per-artist ({config.max_per_artist}) must be >= --min-per-artist ({config.min_per_artist})",
        ))
    require(checks)


def manifest_rows(items: Sequence[SourceItem], facts: Sequence[FileFacts], sel: Selection, out: Path) -> list[dict]:
    """One manifest row per kept image (engine.data.manifest.COLUMNS), in (artist, source) order."""
    rows = []
    for i in sel.kept:
        item, fact = items[i], facts[i]
        label = item.label
        rows.append({
            "path": f"{IMAGES_DIR}/{cached_image_name(fact.sha256)}",
            "artist": label.artist, "split": sel.split_of[label.artist], "sha256": fact.sha256,
            "source": str(item.path), "width": fact.width, "height": fact.height,
            "title": label.title, "style": label.style, "genre": label.genre, "date": label.date,
        })
    return rows


def build_report(scan: Collections, sel: Selection, config: PrepareConfig, *, out: Path, decoded: int, workers: int, seconds: float) -> dict:
    """report.json: counts per split and per artist, drops by reason, speed, config, versions."""
    dropped = sorted(scan.dropped + sel.dropped, key=lambda d: (d.source, d.reason))
    per_artist = Counter(scan.items[i].label.artist for i in sel.kept)
    files = len(scan.items) + len(scan.dropped)
    return {
        "kind": REPORT_KIND,
        **scan.describe(), "out": str(out),
        "files": files, "images": len(sel.kept), "artists": len(per_artist),
        "splits": _split_counts(sel, per_artist),
        "per_artist": {a: {"split": sel.split_of[a], "images": n} for a, n in sorted(per_artist.items())},
        "dropped": dict(sorted(Counter(d.reason for d in dropped).items())),
        "dropped_total": len(dropped),
        "dropped_files": [{"source": d.source, "reason": d.reason, "detail": d.detail} for d in dropped],
        "decoded": decoded, "cached": len(scan.items) - decoded, "workers": workers,
        "seconds": round(seconds, 3), "images_per_second": round(files / seconds, 1) if seconds > 0 else None,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": asdict(config), "versions": versions(),
    }


def versions() -> dict:
    return library_versions(("pillow", "imagehash", "numpy"))


def _split_counts(sel: Selection, per_artist: Counter) -> dict:
    counts = {s: {"artists": 0, "images": 0} for s in SPLITS}
    for artist, n in per_artist.items():
        counts[sel.split_of[artist]]["artists"] += 1
        counts[sel.split_of[artist]]["images"] += n
    return counts


def _drop_summary(dropped: list[Drop]) -> str:
    counts = Counter(d.reason for d in dropped)
    return ", ".join(f"{n} {reason}" for reason, n in counts.most_common()) or "nothing found"
