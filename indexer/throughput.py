"""The inference plan of an indexing run and its compute limit (the bare forward rate under that plan)."""

from __future__ import annotations

from engine.checkpoint import LoadedModel
from engine.inference_plan import InferencePlan, choose_plan, measure_plan, torch_threads
from indexer.config import IndexConfig

__all__ = ["bare_forward_rate", "plan_for", "torch_threads"]


def plan_for(lm: LoadedModel, config: IndexConfig, *, n_images: int) -> tuple[InferencePlan, dict[str, float]]:
    """The plan the user fixed (any of batch size, streams, threads given), else the fastest measured one."""
    if config.batch_size is None and config.streams is None and config.torch_threads is None:
        return choose_plan(lm.model, input_size=lm.input_size, device=lm.device, n_images=n_images)
    streams = config.streams or 1
    batch = config.batch_size or (4 if streams > 1 else 16)
    return InferencePlan(batch_size=batch, streams=streams, threads=config.torch_threads), {}


def bare_forward_rate(lm: LoadedModel, plan: InferencePlan, *, seconds: float = 5.0) -> float:
    """Images/s of `lm.model` on random (batch, 3, S, S) channels_last batches under `plan`: no decoding, no I/O."""
    return measure_plan(lm.model, plan, input_size=lm.input_size, device=lm.device, seconds=seconds)
