"""Embed image files with a loaded model: batched, decoded in DataLoader workers, bad files reported.

embed_paths -> EmbeddingResult(vectors (N_ok, D) float32, ok indices, errors [(index, reason)]).
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from engine.model.checkpoint import LoadedModel
from engine.inference.datasets import ImagePathDataset, split_failures
from engine.data.imageio import DEFAULT_MAX_PIXELS, decode_rgb, load_rgb
from engine.base.runtime import cpu_cores, torch_threads
from engine.inference.forward_plan import InferencePlan
from engine.base.progress import NullProgress, Progress

logger = logging.getLogger(__name__)


@dataclass
class EmbeddingResult:
    vectors: np.ndarray  # (N_ok, D) float32
    ok: list[int] = field(default_factory=list)  # indices into the input paths, in the order of `vectors`
    errors: list[tuple[int, str]] = field(default_factory=list)  # (index, reason tag)


def embed_paths(
    lm: LoadedModel,
    paths: Sequence[str | Path],
    *,
    batch_size: int = 64,
    num_workers: int | None = None,
    progress: Progress | None = None,
    plan: InferencePlan | None = None,
) -> EmbeddingResult:
    """Embed every decodable image of `paths` with `lm` (eval preprocessing); `plan` overrides `batch_size`."""
    dataset = ImagePathDataset(paths, lm.transform, input_size=lm.input_size, draft_size=decode_side(lm))
    return forward_dataset(
        lm.model, dataset, device=lm.device, out_dim=lm.embedding_dim,
        batch_size=batch_size, num_workers=num_workers, progress=progress, description="embedding", plan=plan,
    )


def embed_image(lm: LoadedModel, path: str | Path) -> np.ndarray:
    """One image -> (D,) float32; raises ImageLoadError for an undecodable file."""
    return _embed_decoded(lm, load_rgb(path, draft_size=decode_side(lm)))


def embed_image_bytes(lm: LoadedModel, data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """`embed_image` for an encoded image in memory (an HTTP upload); ImageLoadError when undecodable or over `max_pixels`."""
    return _embed_decoded(lm, decode_rgb(data, max_pixels=max_pixels, draft_size=decode_side(lm)))


def _embed_decoded(lm: LoadedModel, image) -> np.ndarray:
    return _forward(lm.model, lm.transform(image).unsqueeze(0), lm.device)[0]


def decode_side(lm: LoadedModel) -> int:
    """The side images are decoded at for `lm` (JPEG draft / reduce target): its resize before the crop."""
    return int(lm.preprocessing.get("resize", lm.input_size)) if lm.preprocessing else lm.input_size


def default_workers(n_items: int, batch_size: int) -> int:
    """No worker processes for a single batch; else leave one core to the model."""
    if n_items <= batch_size:
        return 0
    return min(8, max(1, cpu_cores() - 1))


def forward_dataset(
    module: nn.Module,
    dataset: Dataset,
    *,
    device: torch.device,
    out_dim: int,
    batch_size: int = 64,
    num_workers: int | None = None,
    progress: Progress | None = None,
    description: str = "embedding",
    plan: InferencePlan | None = None,
) -> EmbeddingResult:
    """Run `module` over an `ImagePathDataset`-like dataset; failed items are reported, not fatal.

    `plan` (batch size, concurrent streams, threads) overrides `batch_size`; see engine.inference.forward_plan.
    """
    plan = plan or InferencePlan(batch_size=batch_size)
    load = loader_batch(plan)
    workers = default_workers(len(dataset), load) if num_workers is None else num_workers
    loader = DataLoader(
        dataset, batch_size=load, shuffle=False, num_workers=workers,
        pin_memory=device.type == "cuda", persistent_workers=False,
    )
    chunks, ok, errors = [], [], []
    with (progress or NullProgress()).task(description, len(dataset)) as task, torch_threads(plan.threads):
        for indices, failed, vectors in _forwarded(module, loader, device, plan=plan):
            errors.extend(failed)
            if indices:
                chunks.append(vectors)
                ok.extend(indices)
            task.advance(len(indices) + len(failed))
    vectors = np.concatenate(chunks) if chunks else np.zeros((0, out_dim), np.float32)
    if errors:
        logger.info("%d of %d images could not be read", len(errors), len(dataset))
    return EmbeddingResult(vectors=vectors, ok=ok, errors=errors)


def loader_batch(plan: InferencePlan) -> int:
    """Images per decoded batch. With several streams one decoded batch feeds every stream twice:
    handing a batch over from a worker process costs ~8 ms of the main thread (it holds the GIL the
    streams need), too much per batch of 4."""
    return plan.batch_size if plan.streams == 1 else plan.batch_size * plan.streams * 2


def _forwarded(module: nn.Module, loader: Iterable, device: torch.device, *, plan: InferencePlan) -> Iterator[tuple]:
    """(ok indices, failures, vectors) per decoded batch, in loader order; `plan.streams` forwards of
    `plan.batch_size` images run at once on threads sharing `module` (torch releases the GIL in its ops)."""
    if plan.streams == 1:
        yield from (_forward_batch(module, batch, device) for batch in loader)
        return
    with ThreadPoolExecutor(plan.streams, thread_name_prefix="forward") as pool:
        pending: deque[tuple[list[int], list, list[Future]]] = deque()
        for batch in loader:
            images, indices, failed = split_failures(batch)
            parts = [pool.submit(_forward, module, images[i : i + plan.batch_size], device)
                     for i in range(0, len(indices), plan.batch_size)]
            pending.append((indices, failed, parts))
            if len(pending) >= 2:  # bounded: decoded batches do not pile up in memory
                yield _gathered(*pending.popleft())
        while pending:
            yield _gathered(*pending.popleft())


def _gathered(indices: list[int], failed: list, parts: list[Future]) -> tuple[list[int], list, np.ndarray | None]:
    return indices, failed, np.concatenate([p.result() for p in parts]) if parts else None


def _forward_batch(module: nn.Module, batch, device: torch.device) -> tuple[list[int], list, np.ndarray | None]:
    images, indices, failed = split_failures(batch)
    return indices, failed, _forward(module, images, device) if indices else None


def _forward(module: nn.Module, images: torch.Tensor, device: torch.device) -> np.ndarray:
    images = images.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast("cuda", dtype=torch.float16) if device.type == "cuda" else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        out = module(images)
    return out.float().cpu().numpy().astype(np.float32, copy=False)
