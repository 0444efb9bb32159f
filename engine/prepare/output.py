"""The output folder of `prepare`: safety checks, manifest.csv, report.json, stale-copy cleanup.

DIR holds manifest.csv, report.json, prepare_cache.json and images/<sha[:2]>/<sha>.jpg.
A non-empty DIR is only written to when it is a previous prepare output.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import re
from pathlib import Path
from typing import Iterable, Iterator

from engine.base.atomic import atomic_write_json, atomic_write_text
from engine.base.errors import EngineError
from engine.data.manifest import COLUMNS, MANIFEST_NAME, REPORT_NAME
from engine.prepare.cache import CACHE_NAME

logger = logging.getLogger(__name__)

IMAGES_DIR = "images"
LOCK_NAME = ".prepare.lock"  # held by the running prepare (engine.base.lock); left behind, it means nothing
REPORT_KIND = "engine-prepare"
_COPY_NAME = re.compile(r"^[0-9a-f]{64}\.jpg$")


def check_out_dir(out: Path, source: Path) -> None:
    """EngineError unless `out` is new, empty, or a previous prepare output (nothing is written here)."""
    if out.exists() and not out.is_dir():
        raise EngineError(f"--out {out} is a file; pass a folder (new, empty, or a previous prepare output)")
    if out.resolve() == source.resolve():
        raise EngineError(f"--out {out} is the source folder itself; pass a separate output folder")
    if out.is_dir() and any(p.name != LOCK_NAME for p in out.iterdir()) and not is_prepare_output(out):
        raise EngineError(
            f"--out {out} already holds other files; pass a new or empty folder, or a previous `engine prepare` output"
        )


@contextlib.contextmanager
def output_errors(out: Path) -> Iterator[None]:
    """Turn a failed write in `out` (disk full, permissions) into a one-line EngineError."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise EngineError(
            f"cannot write in {out}: {reason}; free disk space or fix permissions, then re-run (earlier outputs are intact)"
        ) from None


def is_prepare_output(out: Path) -> bool:
    """True when `out` was written by prepare (its cache, or a report of our kind)."""
    if (out / CACHE_NAME).is_file():
        return True
    try:
        report = json.loads((out / REPORT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(report, dict) and report.get("kind") == REPORT_KIND


def manifest_text(rows: Iterable[dict]) -> str:
    """CSV text of the manifest (COLUMNS order, '\\n' line ends): same rows, same bytes."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_outputs(out: Path, rows: list[dict], report: dict) -> None:
    """Atomically replace manifest.csv, then report.json."""
    atomic_write_text(out / MANIFEST_NAME, manifest_text(rows))
    atomic_write_json(out / REPORT_NAME, report)


def remove_stale_copies(images_dir: Path, keep: set[str]) -> int:
    """Delete normalised copies (and leftover temp files) whose sha256 is not in `keep`."""
    removed = 0
    if not images_dir.is_dir():
        return 0
    for path in images_dir.glob("*/*"):
        stale_tmp = path.name.startswith(".") and path.name.endswith(".tmp")
        if stale_tmp or (_COPY_NAME.match(path.name) and path.stem not in keep):
            path.unlink(missing_ok=True)
            removed += 1
    for folder in images_dir.iterdir():
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    if removed:
        logger.info("removed %d stale image copies from %s", removed, images_dir)
    return removed
