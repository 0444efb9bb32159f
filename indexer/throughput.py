"""The compute limit of indexing: the model's bare forward rate on an in-memory batch, and torch threads."""

from __future__ import annotations

import contextlib
import time
from typing import Iterator

import torch

from engine.checkpoint import LoadedModel


def bare_forward_rate(lm: LoadedModel, *, batch_size: int = 64, seconds: float = 5.0) -> float:
    """Images/s of `lm.model` on a random (batch_size, 3, S, S) channels_last batch: no decoding, no I/O.

    Same preprocessing-free forward as `embed_paths` (inference_mode, channels_last); one warm-up batch.
    """
    size = lm.input_size
    batch = torch.randn(batch_size, 3, size, size).to(lm.device).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        lm.model(batch)
        done, start = 0, time.perf_counter()
        while True:
            lm.model(batch)
            done += batch_size
            if lm.device.type == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return done / elapsed


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with `n` intra-op threads (None: unchanged)."""
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
