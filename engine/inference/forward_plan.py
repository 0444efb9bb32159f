"""How to run a model's forward pass fast on this machine: batch size, concurrent streams, threads.

On a GPU one big batch is best. On a few CPU cores it is not: on 2 cores the EfficientNet-Lite
trunks (depthwise convolutions, small feature maps) run a batch of 64 *slower* per image than a
batch of 1-4, and torch's intra-op threads scale poorly over their many small ops, while two
forwards at once (one intra-op thread each, sharing the model) give ~1.5x the images/s of one
2-thread forward (efficientnet_lite0: 58 vs 38 images/s). For resnet34 (big convolutions) the
single 2-thread forward wins. So the plan is measured, not guessed: `choose_plan` times each
candidate's bare forward for a moment and keeps the fastest.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from engine.base.config import require
from engine.base.runtime import cpu_cores, torch_threads

logger = logging.getLogger(__name__)

TUNE_MIN_IMAGES = 256  # below this a job is over before tuning (a few seconds) could pay off


@dataclass(frozen=True)
class InferencePlan:
    """`streams` forwards of `batch_size` images run at once, with `threads` intra-op threads
    (None: torch's current setting) while the plan runs."""

    batch_size: int = 16
    streams: int = 1
    threads: int | None = None

    def __post_init__(self) -> None:
        require([(self.batch_size >= 1 and self.streams >= 1 and (self.threads is None or self.threads >= 1),
                  f"invalid inference plan {self}: batch size, streams and threads must be >= 1")])

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def label(self) -> str:
        return f"batch {self.batch_size} x {self.streams} streams x {self.threads} threads"


SMALL_JOB_IMAGES = 16  # at most one batch: a query, a verify


def small_job_plan(n_images: int, device: torch.device) -> InferencePlan:
    """A job of at most SMALL_JOB_IMAGES images on the CPU: one batch with ONE intra-op thread.

    A short-lived process pays each op's first call, and every op of a single small forward waits
    for all its threads: with the other core busy (a shared machine, a server answering two
    requests) efficientnet_lite0 on one image took 0.8-3 s with 2 threads against 0.08 s with one
    (fresh process, load average 19 on 2 cores); on an idle machine a second thread saves at most
    a few tens of ms. Larger jobs keep `default_plan`'s batch and torch's thread count.
    """
    if device.type == "cuda" or n_images > SMALL_JOB_IMAGES:
        return InferencePlan(batch_size=max(1, min(n_images, default_plan(device).batch_size * 4)))
    return InferencePlan(batch_size=max(1, n_images), threads=1)


def default_plan(device: torch.device) -> InferencePlan:
    """Without measuring: one big batch on a GPU, a moderate one on the CPU."""
    return InferencePlan(batch_size=64) if device.type == "cuda" else InferencePlan(batch_size=16)


def cpu_candidates(cores: int) -> tuple[InferencePlan, ...]:
    """One forward on every core, or one single-thread forward per core (2-4 streams)."""
    whole = InferencePlan(batch_size=16, streams=1, threads=cores)
    if cores < 2:
        return (whole,)
    streams = min(cores, 4)
    return whole, InferencePlan(batch_size=4, streams=streams, threads=max(1, cores // streams))


def steady_plan(device: torch.device, *, cores: int | None = None) -> InferencePlan:
    """A plan fixed by the machine alone (no timing), for results that must repeat exactly: the
    intra-op thread count changes float rounding (~1e-7), so a timed choice could make cached
    training features differ between two runs. On a multi-core CPU: one single-thread stream per core."""
    if device.type == "cuda":
        return InferencePlan(batch_size=64)
    candidates = cpu_candidates(cores or cpu_cores())
    return candidates[-1]


def measure_plan(model: nn.Module, plan: InferencePlan, *, input_size: int, device: torch.device, seconds: float) -> float:
    """Images/s of the bare forward under `plan` on random channels_last batches (one warm-up each),
    run as the product runs it: one stream in the calling thread, several on threads of their own."""
    if plan.streams == 1:
        return _measure_inline(model, plan, input_size=input_size, device=device, seconds=seconds)
    return _measure_streams(model, plan, input_size=input_size, device=device, seconds=seconds)


def _measure_streams(model: nn.Module, plan: InferencePlan, *, input_size: int, device: torch.device, seconds: float) -> float:
    done = [0] * plan.streams
    ready = threading.Barrier(plan.streams + 1)  # time from when every stream has warmed up
    failures: list[BaseException] = []

    def stream(i: int) -> None:
        try:
            x = _random_batch(plan, input_size, device)
            with torch.inference_mode():
                model(x)
                ready.wait()
                done[i] = _forwards_for(model, x, seconds, device)
        except BaseException as exc:  # re-raised in the caller's thread below
            failures.append(exc)
            ready.abort()

    with torch_threads(plan.threads):
        workers = [threading.Thread(target=stream, args=(i,), daemon=True) for i in range(plan.streams)]
        for w in workers:
            w.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            ready.wait()
        start = time.perf_counter()
        for w in workers:
            w.join()
    if failures:
        raise failures[0]
    return sum(done) / (time.perf_counter() - start)


def _measure_inline(model: nn.Module, plan: InferencePlan, *, input_size: int, device: torch.device, seconds: float) -> float:
    x = _random_batch(plan, input_size, device)
    with torch_threads(plan.threads), torch.inference_mode():
        model(x)
        start = time.perf_counter()
        done = _forwards_for(model, x, seconds, device)
        return done / (time.perf_counter() - start)


def _random_batch(plan: InferencePlan, input_size: int, device: torch.device) -> torch.Tensor:
    return torch.randn(plan.batch_size, 3, input_size, input_size, device=device).contiguous(memory_format=torch.channels_last)


def _forwards_for(model: nn.Module, x: torch.Tensor, seconds: float, device: torch.device) -> int:
    """Forward `x` again and again (at least once) for `seconds`; returns the images processed."""
    done, stop = 0, time.perf_counter() + seconds
    while not done or time.perf_counter() < stop:
        model(x)
        done += len(x)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return done


def choose_plan(
    model: nn.Module, *, input_size: int, device: torch.device, n_images: int, seconds: float = 1.0,
    candidates: tuple[InferencePlan, ...] | None = None,
) -> tuple[InferencePlan, dict[str, float]]:
    """(fastest plan, {plan: images/s measured}); no measuring on a GPU or for small jobs."""
    if device.type == "cuda" or n_images < TUNE_MIN_IMAGES:
        return default_plan(device), {}
    candidates = candidates or cpu_candidates(cpu_cores())
    if len(candidates) == 1:
        return candidates[0], {}
    rates = dict.fromkeys(candidates, 0.0)
    for _ in range(2):  # interleaved rounds, best of each: a process speeds up in its first minute
        for plan in candidates:
            rate = measure_plan(model, plan, input_size=input_size, device=device, seconds=seconds / 2)
            rates[plan] = max(rates[plan], rate)
    best = max(rates, key=rates.get)
    measured = {p.label: round(r, 2) for p, r in rates.items()}
    logger.info("inference plan: %s (images/s measured: %s)", best.label, measured)
    return best, measured
