"""The prepared dataset's `manifest.csv`: one row per kept painting.

Columns: path (relative to the dataset folder), artist, split (train|val|test), sha256, source,
width, height (of the original), title, style, genre, date.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine.base.errors import EngineError

MANIFEST_NAME = "manifest.csv"
REPORT_NAME = "report.json"
SPLITS = ("train", "val", "test")
COLUMNS = ["path", "artist", "split", "sha256", "source", "width", "height", "title", "style", "genre", "date"]


def read_manifest(data_dir: str | Path) -> pd.DataFrame:
    """Load `DATA_DIR/manifest.csv`; adds `abspath`. Raises EngineError when it is not a prepared folder."""
    data_dir = Path(data_dir)
    path = data_dir / MANIFEST_NAME
    if not path.is_file():
        raise EngineError(f"{data_dir} is not a prepared dataset (no {MANIFEST_NAME}); run `engine prepare` first")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"path", "artist", "split"} - set(frame.columns)
    if missing:
        raise EngineError(f"{path} lacks columns {sorted(missing)}; re-run `engine prepare`")
    frame["abspath"] = [str(data_dir / p) for p in frame["path"]]
    return frame


def select_split(frame: pd.DataFrame, split: str) -> pd.DataFrame:
    """Rows of one split (`train`, `val`, `test`) or all of them (`all`)."""
    if split == "all":
        return frame.reset_index(drop=True)
    if split not in SPLITS:
        raise EngineError(f"unknown split {split!r}; use one of {', '.join(SPLITS)} or all")
    rows = frame[frame["split"] == split].reset_index(drop=True)
    if rows.empty:
        raise EngineError(f"split {split!r} is empty in this dataset; re-run `engine prepare` with other fractions")
    return rows
