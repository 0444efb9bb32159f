"""Which collection each prepared painting came from: the folder `engine prepare` read it from
(the manifest's `source` column holds the original file), named by the part that tells folders apart."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import pandas as pd

GENERIC_FOLDERS = ("train", "test", "images", "paintings")


def source_names(folders: Sequence[str]) -> dict[str, str]:
    """{folder: short name}: the last path part that tells the folders apart, skipping the parts they share
    and generic ones (../shared/artdata/train and ../shared/wikiart/train -> artdata, wikiart); the full
    folder where short names would collide."""
    distinct = sorted(set(folders))
    split = [Path(f).parts for f in distinct]
    depth = 0
    while all(depth + 1 < len(p) for p in split) and (
        (len(split) > 1 and len({p[-1 - depth] for p in split}) == 1) or all(p[-1 - depth] in GENERIC_FOLDERS for p in split)
    ):
        depth += 1
    names = {f: p[-1 - depth] if p else f for f, p in zip(distinct, split)}
    return names if len(set(names.values())) == len(names) else {f: f for f in distinct}


def source_folders(frame: pd.DataFrame, data_dir: str | Path) -> list[str]:
    """Per manifest row: the folder its original file was in (the prepared folder itself where the
    manifest has no `source` column or the row has no source)."""
    originals = frame["source"] if "source" in frame.columns else [""] * len(frame)
    here = str(Path(data_dir).resolve())
    return [os.path.dirname(os.path.normpath(str(o))) if o else here for o in originals]


def manifest_sources(frame: pd.DataFrame, data_dir: str | Path) -> list[str]:
    """Per manifest row: the short name of its source folder (source_names over the manifest's folders)."""
    folders = source_folders(frame, data_dir)
    names = source_names(folders)
    return [names[f] for f in folders]
