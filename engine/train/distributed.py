"""Training on several processes (`torchrun`): the process group, each rank's share of the batch plan,
the global-batch loss, rank-0-only work, and small collectives.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE and MASTER_ADDR/PORT (also across nodes
through its rendezvous); without them, or with WORLD_SIZE=1, every helper here is the single-process
identity. Backend: NCCL on CUDA (one GPU per local rank), gloo on CPU.

Equivalence: W ranks x B images per step compute the same update as one process on the W*B global
batch: the plan is drawn for W*B and split (`rank_batches`), mining and the loss see the gathered
global batch (`global_batch_loss`), and DDP averages the gradients. BatchNorm statistics are the
exception on CPU: torch's SyncBatchNorm is CUDA-only, so on gloo each rank normalises its own slice.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from engine.base.errors import EngineError
from engine.model.checkpoint import fingerprint
from engine.train.config import TrainConfig
from engine.train.steps import epoch_batches

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Rank 0 validates and writes while the others wait at their next collective: allow for a long validation.
COLLECTIVE_TIMEOUT = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def ranks_from_env(environ: Mapping[str, str] = os.environ) -> Ranks:
    """What torchrun told this process (single process when the variables are absent)."""
    try:
        world = int(environ.get("WORLD_SIZE", "1"))
        return Ranks(int(environ.get("RANK", "0")), world, int(environ.get("LOCAL_RANK", "0")),
                     int(environ.get("LOCAL_WORLD_SIZE", str(world))))
    except ValueError:
        raise EngineError("RANK/WORLD_SIZE/LOCAL_RANK are not integers; launch with torchrun") from None


def current() -> Ranks:
    """The ranks of the initialised process group, else a single process."""
    if not (dist.is_available() and dist.is_initialized()):
        return Ranks()
    env = ranks_from_env()
    return Ranks(dist.get_rank(), dist.get_world_size(), env.local_rank, env.local_world_size)


def backend_for(device: str) -> str:
    return "nccl" if device.startswith("cuda") else "gloo"


def local_device(device: str, ranks: Ranks) -> str:
    """One GPU per local rank: "cuda" -> "cuda:LOCAL_RANK"; CPU unchanged."""
    return f"cuda:{ranks.local_rank}" if ranks.distributed and device == "cuda" else device


@contextlib.contextmanager
def process_group(device: str) -> Iterator[Ranks]:
    """Join torchrun's process group for the block (a group already joined is reused, not closed)."""
    ranks = ranks_from_env()
    if not ranks.distributed or dist.is_initialized():
        yield current()
        return
    backend = backend_for(device)
    if backend == "nccl":
        torch.cuda.set_device(ranks.local_rank)
    import_dynamo_first()
    try:
        dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)  # env:// rendezvous from torchrun
    except (RuntimeError, ValueError) as exc:
        raise EngineError(f"cannot join the torchrun process group ({backend}): {str(exc).splitlines()[0]}") from None
    logger.info("rank %d of %d (%s)", ranks.rank, ranks.world_size, backend)
    try:
        yield current()
        dist.barrier()  # no rank leaves while a peer is still inside a collective (not after an error: peers may be gone)
    finally:
        dist.destroy_process_group()


def import_dynamo_first() -> None:
    """Import torch._dynamo before a process group exists, so that destroying the group frees it.

    DistributedDataParallel imports torch._dynamo lazily, at its first construction. Imported while
    a group is live, torch._dynamo keeps a reference to that group, so `destroy_process_group` no
    longer frees it and gloo's worker threads outlive it. A worker still releasing the last
    collective's tensors at interpreter teardown then needs the GIL; CPython ends such a thread with
    a forced unwind through a noexcept C++ frame: std::terminate, "terminate called without an
    active exception", exit -6. Imported first, the group is freed by `destroy_process_group` (the
    pybind holder releases the GIL and joins the workers) and the process exits normally.
    """
    import torch._dynamo  # noqa: F401  (the import is the point)


def rank_batches(config: TrainConfig, labels: np.ndarray, *, epoch: int) -> list[list[int]]:
    """This rank's share of the epoch's plan; the single-process plan when not distributed.

    The global plan is `epoch_batches` for W x batch_size (P x K batches of W*P artists, or W x
    batch_size random triplets), identical on every rank (seeded by seed and epoch); rank r takes the
    r-th of W equal slices of each batch, so ranks see different images and their union is the batch
    one process would train on with W x batch_size.
    """
    ranks = current()
    if not ranks.distributed:
        return epoch_batches(config, labels, epoch=epoch)
    plan = epoch_batches(replace(config, batch_size=config.batch_size * ranks.world_size), labels, epoch=epoch)
    parts = 3 if config.sampling == "random_triplets" else 1
    return [batch_share(batch, ranks.rank, ranks.world_size, parts=parts) for batch in plan]


def batch_share(batch: Sequence[int], rank: int, world_size: int, *, parts: int = 1) -> list[int]:
    """The rank-th of `world_size` equal slices of each of `parts` consecutive blocks of `batch`
    (parts=3: [anchors; positives; negatives]). A tail that does not divide evenly is dropped: every
    rank's share has one size, which all_gather needs."""
    block = len(batch) // parts
    size = block // world_size
    if size < (1 if parts == 3 else 2):
        raise EngineError(f"a batch of {len(batch)} cannot be split over {world_size} ranks; raise --batch-size")
    share: list[int] = []
    for p in range(parts):
        start = p * block + rank * size
        share.extend(int(i) for i in batch[start : start + size])
    return share


def global_batch_loss(loss_fn: nn.Module) -> tuple[nn.Module, float]:
    """-> (loss, scale): under DDP, in-batch mining and the loss see every rank's embeddings.

    pytorch-metric-learning's DistributedMinerWrapper / DistributedLossWrapper all-gather the
    embeddings (gradients flow through this rank's own rows) and return W x the global-batch loss, so
    DDP's gradient mean is the global-batch gradient; `scale` (1/W) turns the value back into the loss.
    Explicit triplets need no gathering: the mean of equal-sized rank means is the global mean.
    """
    ranks = current()
    inner = getattr(loss_fn, "loss", None)
    if not ranks.distributed or not hasattr(loss_fn, "miner") or inner is None:
        return loss_fn, 1.0
    if any(True for _ in loss_fn.parameters()):  # proxies live outside DDP: their gradients would not be averaged
        raise EngineError("proxy-based losses (proxy_anchor, normalized_softmax) are not supported under torchrun; train on one process")
    from pytorch_metric_learning.utils.distributed import DistributedLossWrapper, DistributedMinerWrapper

    loss_fn.loss = DistributedLossWrapper(inner)
    if loss_fn.miner is not None:
        loss_fn.miner = DistributedMinerWrapper(loss_fn.miner)
    return loss_fn, 1.0 / ranks.world_size


def wrap_model(model: nn.Module, device: torch.device) -> tuple[nn.Module, nn.Module]:
    """-> (model to save and validate, module to train through); both `model` in a single process.

    On CUDA, BatchNorm becomes SyncBatchNorm (statistics over the global batch; same state_dict keys)."""
    if not current().distributed:
        return model, model
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return model, DistributedDataParallel(model, device_ids=[device.index])
    return model, DistributedDataParallel(model)


def from_main(fn: Callable[[], T]) -> T:
    """Run `fn` on rank 0 only and hand its result (or its error, as EngineError) to every rank."""
    ranks = current()
    if not ranks.distributed:
        return fn()
    payload: list[Any] = [None]
    error: BaseException | None = None
    if ranks.is_main:
        try:
            payload = [("ok", fn())]
        except Exception as exc:  # the others must not wait for a result that never comes
            error, payload = exc, [("error", str(exc))]
    dist.broadcast_object_list(payload, src=0)
    if error is not None:
        raise error
    kind, value = payload[0]
    if kind == "error":
        raise EngineError(f"rank 0 failed: {value}")
    return value


def gather_objects(obj: T) -> list[T]:
    """Every rank's `obj` (picklable), in rank order, on every rank."""
    ranks = current()
    if not ranks.distributed:
        return [obj]
    out: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(out, obj)
    return out


def mean_over_ranks(value: float) -> float:
    values = gather_objects(float(value))
    return float(np.mean(values))


def weights_in_sync(model: nn.Module) -> str:
    """The weights' fingerprint, checked to be the same on every rank (EngineError if not).

    Buffers (BatchNorm running statistics) first take rank 0's values: DDP broadcasts them before
    each forward, so after the last one every rank holds its own slice's update."""
    if current().distributed:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)
    digests = gather_objects(fingerprint(model.state_dict()))
    if len(set(digests)) > 1:
        raise EngineError(f"ranks ended with different weights ({len(set(digests))} distinct); do not use this model")
    return digests[0]


def run_config(config: TrainConfig, ranks: Ranks = Ranks()) -> TrainConfig:
    """The config this process runs, built once: validated, with what 'auto' means on this machine fixed
    (stored in the checkpoint as resolved): device (CUDA when present), mode (finetune on CUDA, else frozen),
    threads (this machine's cores); under torchrun the ranks on one machine split its cores (threads =
    cores / local ranks, workers one less) and each local rank takes its own GPU ("cuda" -> "cuda:LOCAL_RANK")."""
    from engine.base.runtime import cpu_cores

    config = config.validate()
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError("--device cuda requested but no CUDA GPU is available; drop --device")
    mode = config.mode if config.mode != "auto" else ("finetune" if device.startswith("cuda") else "frozen")
    cores = max(1, cpu_cores() // ranks.local_world_size) if ranks.distributed else cpu_cores()
    workers = config.workers
    if ranks.distributed and workers is None:
        workers = min(8, cores - 1)
    return replace(config, device=local_device(device, ranks), mode=mode, threads=config.threads or cores,
                   workers=workers).validate()
