"""The prepared dataset as training sees it: train and val splits, artists as integer labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.base.errors import EngineError
from engine.data.manifest import read_manifest, select_split
from engine.data.source_names import manifest_sources


@dataclass(frozen=True)
class Split:
    paths: list[str]
    artists: list[str]
    labels: np.ndarray  # (N,) int64 ids into TrainData.artists of that split
    groups: list[str]  # duplicate identity (manifest sha256): no val pair joins two equal groups
    sources: list[str] | None = None  # the collection each painting came from (engine.data.source_names)
    styles: list[str] | None = None  # the manifest's style ("" unknown); the auxiliary target of style_weight

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, keep: np.ndarray) -> "Split":
        idx = np.flatnonzero(keep)
        sources = None if self.sources is None else [self.sources[i] for i in idx]
        styles = None if self.styles is None else [self.styles[i] for i in idx]
        return Split(
            [self.paths[i] for i in idx], [self.artists[i] for i in idx], self.labels[idx], [self.groups[i] for i in idx], sources,
            styles,
        )


@dataclass(frozen=True)
class TrainData:
    train: Split
    val: Split
    data_dir: Path


def load_train_data(data_dir: str | Path) -> TrainData:
    """Read DATA_DIR/manifest.csv; EngineError when a split is unusable for training."""
    data_dir = Path(data_dir)
    frame = read_manifest(data_dir)
    frame["source_name"] = manifest_sources(frame, data_dir)
    train, val = (_split(select_split(frame, name)) for name in ("train", "val"))
    if len(set(train.artists)) < 2:
        raise EngineError(f"{data_dir}: the train split has fewer than 2 artists; prepare more data")
    if len(set(val.artists)) < 2:
        raise EngineError(f"{data_dir}: the val split has fewer than 2 artists; re-run `engine prepare` with a larger --val-fraction")
    return TrainData(train=train, val=val, data_dir=data_dir)


def _split(rows) -> Split:
    artists = [str(a) for a in rows["artist"]]
    names = sorted(set(artists))
    ids = {name: k for k, name in enumerate(names)}
    groups = list(rows["sha256"]) if "sha256" in rows.columns else list(rows["abspath"])
    groups = [g or p for g, p in zip(groups, rows["abspath"])]
    return Split(list(rows["abspath"]), artists, np.array([ids[a] for a in artists], dtype=np.int64), groups, list(rows["source_name"]),
                 [str(s) for s in rows["style"]] if "style" in rows.columns else None)
