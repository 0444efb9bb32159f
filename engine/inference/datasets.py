"""Torch datasets over image files: decoding happens here, i.e. inside DataLoader workers.

A file that cannot be decoded never crashes a batch: the item carries its error tag and a zero
tensor, and the consumer drops it (`split_failures`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from engine.model.augment import Transform
from engine.base.errors import ImageLoadError
from engine.data.imageio import load_rgb


class ImagePathDataset(Dataset):
    """Item i -> (i, (3,S,S) tensor, error tag or "").

    `seeds`: when given, torch's RNG is seeded with seeds[i] before the transform, so a random
    augmentation of one image is the same in every run, worker and order.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        transform: Transform,
        *,
        input_size: int,
        draft_size: int | None = None,
        seeds: Sequence[int] | None = None,
    ) -> None:
        self.paths = [str(p) for p in paths]
        self.transform = transform
        self.input_size = input_size
        self.draft_size = draft_size
        self.seeds = seeds

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor, str]:
        try:
            image = load_rgb(self.paths[i], draft_size=self.draft_size)
        except ImageLoadError as exc:
            return i, torch.zeros(3, self.input_size, self.input_size), exc.reason
        if self.seeds is None:
            return i, self.transform(image), ""
        with torch.random.fork_rng(devices=[]):  # leave the caller's RNG stream untouched
            torch.manual_seed(int(self.seeds[i]))
            return i, self.transform(image), ""


def split_failures(batch: tuple) -> tuple[torch.Tensor, list[int], list[tuple[int, str]]]:
    """A collated (indices, images, errors) batch -> (good images, their indices, [(index, tag)])."""
    indices, images, errors = batch
    indices = [int(i) for i in indices]
    good = [k for k, err in enumerate(errors) if not err]
    failed = [(indices[k], err) for k, err in enumerate(errors) if err]
    if len(good) == len(indices):
        return images, indices, failed
    return images[good], [indices[k] for k in good], failed


def view_seed(key: str, view: int) -> int:
    """A stable 63-bit seed for (image key, view number)."""
    digest = hashlib.sha256(f"{key}:{view}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class LabelledImageDataset(Dataset):
    """Item i -> ((3,S,S) augmented tensor, label id); for fine-tuning with a batch sampler."""

    def __init__(self, paths: Sequence[str], labels: np.ndarray, transform: Transform, *, draft_size: int | None) -> None:
        self.paths = list(paths)
        self.labels = np.asarray(labels)
        self.transform = transform
        self.draft_size = draft_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = load_rgb(self.paths[i], draft_size=self.draft_size)
        return self.transform(image), int(self.labels[i])
