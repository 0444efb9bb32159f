"""Trunk features of every painting of one or more prepared sets, for cross-validation.

Wraps the frozen-mode feature cache (engine.train.features): each view is computed once per
trunk and reused by every fold, seed and ablation. View 0 is the clean eval preprocessing,
views 1.. are the augmentations of `augment` (seeded per image and view, as in training).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from engine.base.errors import EngineError
from engine.data.manifest import read_manifest
from engine.data.source_names import source_folders, source_names
from engine.model.augment import AugmentConfig
from engine.model.backbones import get_spec
from engine.model.network import NetworkConfig, build_pooled_trunk
from engine.data.hashing import file_sha256
from engine.train.features import cached_features
from engine.train.frozen import pooling_id
from engine.train.tail import CutCapture, cut_cache_id

# A deterministic mirror image: the test-time-augmentation view (view 1 of this config).
HFLIP = AugmentConfig(center_crop=True, vflip=0.0, hflip=1.0, rotation=0.0, color_jitter=0.0, perspective=0.0)


@dataclass(frozen=True)
class FeatureSet:
    """features (V, N, F) float32; per painting: artist, duplicate group, collection index (which --data
    set), path, and source (the name of the folder `engine prepare` read it from: artdata, wikiart ...;
    None: the collection index as text)."""

    features: np.ndarray
    artists: np.ndarray
    groups: np.ndarray
    collection: np.ndarray
    paths: list[str]
    sources: np.ndarray | None = None
    styles: np.ndarray | None = None  # the manifest's style ("" unknown)

    def take(self, idx: np.ndarray) -> "FeatureSet":
        sources = None if self.sources is None else self.sources[idx]
        styles = None if self.styles is None else self.styles[idx]
        return FeatureSet(self.features[:, idx], self.artists[idx], self.groups[idx], self.collection[idx],
                          [self.paths[i] for i in idx], sources, styles)

    def source_labels(self) -> np.ndarray:
        """(N,) source of each painting (object array of str)."""
        if self.sources is not None:
            return np.asarray(self.sources, dtype=object)
        return np.array([str(c) for c in self.collection], dtype=object)


def prepared_rows(data_dirs: Sequence[str | Path]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All rows of the prepared sets (every split) -> (paths, artists, groups, collection index, source name, style)."""
    paths, artists, groups, collection, folders, styles = [], [], [], [], [], []
    for c, data_dir in enumerate(data_dirs):
        frame = read_manifest(data_dir)
        paths += list(frame["abspath"])
        artists += [str(a) for a in frame["artist"]]
        column = frame["sha256"] if "sha256" in frame.columns else frame["abspath"]
        groups += [f"{c}:{g or p}" for g, p in zip(column, frame["abspath"])]
        collection += [c] * len(frame)
        folders += source_folders(frame, data_dir)
        styles += [str(s) for s in frame["style"]] if "style" in frame.columns else [""] * len(frame)
    names = source_names(folders)
    sources = np.array([names[f] for f in folders], dtype=object)
    return paths, np.array(artists, dtype=object), np.array(groups, dtype=object), np.array(collection), sources, np.array(styles, dtype=object)


def prepared_features(
    data_dirs: Sequence[str | Path],
    network: NetworkConfig,
    *,
    cache_dir: str | Path,
    views: int = 1,
    augment: AugmentConfig = AugmentConfig(),
    device: str = "cpu",
    cut: str | None = None,
) -> FeatureSet:
    """Trunk features (cached) of every readable painting of `data_dirs`; unreadable ones are dropped.

    cut: each row also holds the activation entering that stage (engine.train.tail.CutCapture), for the
    last-stage fine-tuning recipes."""
    if not data_dirs:
        raise EngineError("cross-validation needs at least one prepared dataset (--data DIR)")
    paths, artists, groups, collection, sources, styles = prepared_rows(data_dirs)
    keys = [file_sha256(p) if Path(p).is_file() else f"missing:{p}" for p in paths]
    spec = get_spec(network.backbone)
    trunk = build_pooled_trunk(network)
    for param in trunk.parameters():
        param.requires_grad_(False)
    pooling = pooling_id(network)
    if cut is not None:
        trunk, pooling = CutCapture(trunk, cut), cut_cache_id(pooling, cut)
    feats, ok = cached_features(
        trunk, paths, keys, backbone=spec.name, preprocessing=spec.preprocessing(), augment=augment,
        views=views, cache_dir=Path(cache_dir), pooling=pooling, device=torch.device(device),
    )
    keep = np.flatnonzero(ok)
    full = FeatureSet(feats.numpy(), artists, groups, collection, paths, sources, styles)
    return full.take(keep)
