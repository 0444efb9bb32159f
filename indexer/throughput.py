"""The inference plan of an indexing run and its compute limit (the bare forward rate under that plan).

A measured plan is remembered in `HOME/cache/inference_plans.json`, keyed by what its speed depends
on (architecture, input size, device, cores, torch version), so only a home's first large run pays
the few seconds of measuring.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from pathlib import Path

import torch

from engine.base.atomic import atomic_write_json
from engine.model.checkpoint import LoadedModel
from engine.base.errors import EngineError
from engine.base.runtime import cpu_cores
from engine.inference.forward_plan import InferencePlan, choose_plan, measure_plan
from indexer.config import IndexConfig

logger = logging.getLogger(__name__)


def plan_for(lm: LoadedModel, config: IndexConfig, *, n_images: int, cache: Path | None = None) -> tuple[InferencePlan, dict]:
    """(plan, {"source", "measured"}): the plan the user fixed (any of batch size, streams, threads
    given), else one remembered for this model and machine, else a measured one (large CPU jobs), else
    the default. "measured" holds {candidate: images/s} when measured in this call."""
    if config.batch_size is not None or config.streams is not None or config.torch_threads is not None:
        streams = config.streams or 1
        batch = config.batch_size or (4 if streams > 1 else 16)
        return InferencePlan(batch_size=batch, streams=streams, threads=config.torch_threads), _info("options")
    key = plan_key(lm)
    remembered = _read(cache).get(key) if cache else None
    if isinstance(remembered, dict):
        with contextlib.suppress(TypeError, EngineError):  # a damaged entry is measured again
            return InferencePlan(**remembered), _info("remembered")
    plan, rates = choose_plan(lm.model, input_size=lm.input_size, device=lm.device, n_images=n_images)
    if cache and rates:
        _remember(cache, key, plan)
    return plan, _info("measured" if rates else "default", rates)


def _info(source: str, measured: dict | None = None) -> dict:
    return {"source": source, "measured": measured or {}}


def plan_key(lm: LoadedModel) -> str:
    """What the speed depends on: the architecture (its module tree, not its weights), input size, machine."""
    architecture = hashlib.sha256(repr(lm.model).encode()).hexdigest()[:12]
    return f"{lm.backbone}|{architecture}|{lm.input_size}px|{lm.device.type}|{cpu_cores()} cores|torch {torch.__version__}"


def _read(cache: Path) -> dict:
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}  # absent or damaged: measure again
    return data if isinstance(data, dict) else {}


def _remember(cache: Path, key: str, plan: InferencePlan) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(cache, {**_read(cache), key: plan.to_dict()})
    except OSError as exc:  # a cache, not a result: indexing goes on
        logger.warning("could not remember the inference plan in %s (%s)", cache, exc)


def bare_forward_rate(lm: LoadedModel, plan: InferencePlan, *, seconds: float = 5.0) -> float:
    """Images/s of `lm.model` on random (batch, 3, S, S) channels_last batches under `plan`: no decoding, no I/O."""
    return measure_plan(lm.model, plan, input_size=lm.input_size, device=lm.device, seconds=seconds)
