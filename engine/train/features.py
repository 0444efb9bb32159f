"""Frozen-trunk feature cache: trunk features of V views per image, computed once, reused by every run.

View 0 is the clean eval preprocessing; views 1..V-1 are random augmentations seeded by
(image sha256, view), so a view is the same image in every run. One file per view under
`cache_dir/<key>.pt` = {"keys": [sha256...], "features": (M, F) float16}; the key hashes
backbone + pooling + trunk weights fingerprint + preprocessing + augmentation config + view number.
Files are rewritten atomically every `SAVE_EVERY` images, so an interrupted extraction resumes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from engine.base.atomic import atomic_save
from engine.model.augment import AugmentConfig, eval_transform, train_transform
from engine.model.checkpoint import fingerprint
from engine.base.config import to_plain
from engine.inference.datasets import ImagePathDataset, view_seed
from engine.inference.embedding import forward_dataset
from engine.inference.forward_plan import InferencePlan, steady_plan
from engine.base.progress import Progress

logger = logging.getLogger(__name__)

SAVE_EVERY = 512


def view_key(
    *, backbone: str, trunk_fingerprint: str, preprocessing: dict, augment: AugmentConfig, view: int, pooling: str = "avg"
) -> str:
    recipe = {
        "backbone": backbone,
        "trunk": trunk_fingerprint,
        "preprocessing": preprocessing,
        "augment": to_plain(augment) if view > 0 else "clean",
        "view": view,
    }
    if pooling != "avg":  # plain-pool keys stay as they were before pooling options existed
        recipe["pooling"] = pooling
    blob = json.dumps(recipe, sort_keys=True).encode()
    return f"{backbone}-v{view}-{hashlib.sha256(blob).hexdigest()[:20]}"


def cached_features(
    trunk: nn.Module,
    paths: Sequence[str],
    keys: Sequence[str],
    *,
    backbone: str,
    preprocessing: dict,
    augment: AugmentConfig,
    views: int,
    cache_dir: Path,
    pooling: str = "avg",
    device: torch.device,
    num_workers: int | None = None,
    progress: Progress | None = None,
    plan: InferencePlan | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    """-> (features (V, N, F) float32, ok (N,) bool); rows of unreadable images are zero and not ok.

    `plan` (default: `steady_plan`, the same on every run on this machine) runs the trunk."""
    plan = plan or steady_plan(device)
    trunk = trunk.to(device, memory_format=torch.channels_last).eval()
    trunk_id = fingerprint(trunk.state_dict())
    per_view, ok = [], np.ones(len(paths), dtype=bool)
    for view in range(views):
        key = view_key(
            backbone=backbone, trunk_fingerprint=trunk_id, preprocessing=preprocessing, augment=augment, view=view, pooling=pooling
        )
        transform = eval_transform(preprocessing) if view == 0 else train_transform(preprocessing, augment)
        store = _ViewStore(cache_dir / f"{key}.pt")
        missing = [i for i, k in enumerate(keys) if k not in store.rows]
        if missing:
            logger.info("computing trunk features, view %d/%d: %d images", view + 1, views, len(missing))
        for start in range(0, len(missing), SAVE_EVERY):
            chunk = missing[start : start + SAVE_EVERY]
            dataset = ImagePathDataset(
                [paths[i] for i in chunk], transform, input_size=preprocessing["input_size"],
                draft_size=preprocessing["resize"], seeds=[view_seed(keys[i], view) for i in chunk] if view else None,
            )
            result = forward_dataset(
                trunk, dataset, device=device, out_dim=0, plan=plan, num_workers=num_workers,
                progress=progress, description=f"features view {view + 1}/{views}",
            )
            store.add([keys[chunk[i]] for i in result.ok], result.vectors)
            ok[[chunk[i] for i, _ in result.errors]] = False
            store.save()
        per_view.append(store.lookup(keys, ok))
    return torch.stack(per_view), ok


class _ViewStore:
    """One view's cache file: sha256 -> row of features."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keys: list[str] = []
        self.chunks: list[np.ndarray] = []
        self.rows: dict[str, int] = {}
        if path.is_file():
            self._load()

    def _load(self) -> None:
        try:
            data = torch.load(self.path, map_location="cpu", weights_only=True)
            keys, features = list(data["keys"]), data["features"].float().numpy()
            if len(keys) != len(features):
                raise ValueError("keys/features length mismatch")
        except Exception as exc:  # a damaged cache is only a cache: recompute
            logger.warning("ignoring damaged feature cache %s (%s)", self.path, exc)
            return
        self.add(keys, features)

    def add(self, keys: list[str], features: np.ndarray) -> None:
        for key in keys:
            self.rows[key] = len(self.keys)
            self.keys.append(key)
        if len(keys):
            # round to the stored precision now, so a run from cache equals the run that filled it
            self.chunks.append(np.asarray(features, dtype=np.float16).astype(np.float32))

    def matrix(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros((0, 0), np.float32)

    def save(self) -> None:
        data = {"keys": list(self.keys), "features": torch.from_numpy(self.matrix()).half()}
        atomic_save(self.path, lambda tmp: torch.save(data, tmp))

    def lookup(self, keys: Sequence[str], ok: np.ndarray) -> torch.Tensor:
        matrix = self.matrix()
        out = np.zeros((len(keys), matrix.shape[1] if matrix.size else 0), np.float32)
        for i, key in enumerate(keys):
            if ok[i] and key in self.rows:
                out[i] = matrix[self.rows[key]]
            else:
                ok[i] = False
        return torch.from_numpy(out)
