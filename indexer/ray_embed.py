"""`engine index --cluster`: decoding and forward passes on a Ray Data actor pool; commits stay here.

The driver (this process) scans, hashes and plans as always. Ray Data streams the planned paths in
order through a pool of actors that each load the model once (one actor per GPU, else one per
`torch_threads` CPU cores, default 1) and return (index, vector, error) rows. The driver assembles
them into chunks of `commit_every` and commits each through the one existing writer
(`embed_loop.commit_chunk`), in plan order. So the single-process guarantees hold unchanged: a
killed run loses at most the uncommitted chunk, the next run's plan skips committed rows (never
re-embedded), and a file is inserted once. Workers read images and the model by path: a
multi-node cluster needs them on shared storage, and the engine installed on every node.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from db.records import Labels
from engine.base.errors import EngineError
from engine.base.progress import NullProgress, Progress
from engine.base.runtime import cpu_cores
from engine.inference.embedding import EmbeddingResult
from engine.model.checkpoint import LoadedModel
from indexer.config import IndexConfig
from indexer.embed_loop import EmbedStats, commit_chunk, warn_if_damaged
from indexer.change_plan import Work
from indexer.ray_processes import local_ray_processes, reap
from indexer.writer import IndexWriter

logger = logging.getLogger(__name__)

LOCAL_OBJECT_STORE = 512 * 2**20  # paths in, vectors out: images are decoded inside the actors
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise EngineError("--cluster needs Ray: pip install 'artwork-engine[distributed]'") from None
    return ray


@contextlib.contextmanager
def ray_session(cluster: str, *, cpus: int | None = None) -> Iterator[Any]:
    """"ray": start a local Ray with `cpus` CPUs (default: this machine's cores); "auto" or
    "ray://HOST:PORT": join a running cluster. Always shut down (disconnect) at the end; a session
    the caller had already started is used as it is and left running."""
    ray = import_ray()
    if ray.is_initialized():  # the caller's own session: use it, leave it running
        yield ray
        return
    if cluster == "ray":
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        options = dict(address="local", num_cpus=cpus or cpu_cores(), object_store_memory=LOCAL_OBJECT_STORE,
                       runtime_env={"env_vars": {"PYTHONPATH": _pythonpath()}})
    else:
        options = dict(address=cluster)
    try:
        ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False, **options)
    except Exception as exc:  # ConnectionError, RuntimeError, ValueError... from a cluster we cannot reach
        raise EngineError(f"cannot start or join Ray at {cluster!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    try:
        yield ray
    finally:
        started = local_ray_processes() if cluster == "ray" else {}  # ours to stop: the local cluster we started
        ray.shutdown()
        killed = reap(started)
        if killed:
            logger.warning("%d Ray process(es) outlived ray.shutdown() by 30 s and were killed", len(killed))


def _pythonpath() -> str:
    return os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)


def embed_on_cluster(
    lm: LoadedModel, work: Sequence[Work], *, labels: dict[str, Labels], writer: IndexWriter,
    config: IndexConfig, progress: Progress | None = None,
) -> tuple[EmbedStats, dict]:
    """Embed `work` on Ray (see the module doc); -> (stats, {"cluster", "actors", ...})."""
    stats = EmbedStats()
    if not work:
        return stats, {"cluster": config.cluster}
    if lm.path is None:
        raise EngineError("--cluster needs a model file (the actors load it by path)")
    start = time.perf_counter()
    with ray_session(config.cluster, cpus=config.cluster_cpus) as ray, \
            (progress or NullProgress()).task("embedding", len(work)) as task:
        pool = actor_pool(ray.cluster_resources(), threads=config.torch_threads)
        batches = _embedded_batches(ray, lm, [w.file.path for w in work], pool, batch_size=config.batch_size or 16)
        first: list[float] = []
        for lo, hi, result in assembled_chunks(_marking_first(batches, first), len(work), config.commit_every):
            commit_chunk(writer, work[lo:hi], result, labels=labels, stats=stats)
            task.advance(hi - lo)
    stats.seconds = time.perf_counter() - start
    warn_if_damaged(lm, stats)
    return stats, {"cluster": config.cluster, **pool, "batch_size": config.batch_size or 16, **_rates(start, first, len(work))}


def _marking_first(batches: Iterator[dict], marks: list[float]) -> Iterator[dict]:
    """Pass `batches` through, noting when the first arrived and its size."""
    for batch in batches:
        if not marks:
            marks.extend([time.perf_counter(), len(batch["index"])])
        yield batch


def _rates(start: float, first: list[float], total: int) -> dict:
    """startup_s: Ray start and actors loading the model, until the first embeddings came back;
    steady_images_per_second: the rows after that first batch over the time after it."""
    if not first:
        return {"startup_s": None, "steady_images_per_second": None}
    after = time.perf_counter() - first[0]
    steady = (total - first[1]) / after if after > 0 and total > first[1] else None
    return {"startup_s": round(first[0] - start, 2), "steady_images_per_second": round(steady, 2) if steady else None}


def actor_pool(resources: dict, *, threads: int | None) -> dict:
    """One actor per GPU, decoding in DataLoader workers on its share of the CPUs (written for GPU
    clusters, not run here: this machine has none); else one actor per `threads` (default 1) CPUs,
    decoding in-process and running that many torch threads."""
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    if gpus:
        share = max(1, cpus // gpus)
        return {"actors": gpus, "cpus_per_actor": share, "gpus_per_actor": 1, "decode_workers": min(8, share - 1)}
    per = threads or 1
    return {"actors": max(1, cpus // per), "cpus_per_actor": per, "gpus_per_actor": 0, "decode_workers": 0}


def _embedded_batches(ray, lm: LoadedModel, paths: list[str], pool: dict, *, batch_size: int) -> Iterator[dict]:
    """Ray Data pipeline: rows {"index", "path"} -> actor batches {"index", "vector", "error"}, in order."""
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # chunks complete in plan order: memory stays bounded
    context.enable_progress_bars = False  # progress is the driver's one bar
    blocks = max(1, min(len(paths) // batch_size, 8 * pool["actors"]))  # enough blocks to keep every actor busy
    dataset = ray.data.from_items([{"index": i, "path": p} for i, p in enumerate(paths)], override_num_blocks=blocks)
    per_call = batch_size * max(1, 4 * pool["decode_workers"])  # a GPU actor's decoding workers start once per call
    embedded = dataset.map_batches(
        RayEmbedder, batch_size=per_call, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=pool["actors"]),
        fn_constructor_kwargs={"model_path": str(lm.path), "threads": pool["cpus_per_actor"], "batch_size": batch_size,
                               "workers": pool["decode_workers"]},
        num_cpus=pool["cpus_per_actor"], num_gpus=pool["gpus_per_actor"],
    )
    try:
        yield from embedded.iter_batches(batch_size=None, batch_format="numpy")
    except Exception as exc:  # an actor failed for good (Ray already retried): one line, committed chunks stay
        raise EngineError(f"embedding on Ray failed: {_reason(exc)}; committed rows are kept, run `engine index` again") from None


def _reason(exc: Exception) -> str:
    """The actor's own EngineError line when Ray's report carries one, else Ray's first line (colours removed)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    ours = re.search(r"EngineError: (.+)", text)
    if ours:
        return ours.group(1).strip()
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def assembled_chunks(batches: Iterator[dict], total: int, size: int) -> Iterator[tuple[int, int, EmbeddingResult]]:
    """Rows arriving in any order -> (lo, hi, result of work[lo:hi]) for consecutive chunks of `size`,
    each yielded once all its rows are in (so commits follow plan order whatever Ray's order)."""
    rows: dict[int, tuple[np.ndarray, str]] = {}
    lo = 0
    for batch in batches:
        for index, vector, error in zip(batch["index"], batch["vector"], batch["error"]):
            rows[int(index)] = (vector, str(error))
        while lo < total and all(i in rows for i in range(lo, min(lo + size, total))):
            hi = min(lo + size, total)
            yield lo, hi, _result([rows.pop(i) for i in range(lo, hi)])
            lo = hi
    if lo < total:
        raise EngineError(f"Ray returned {lo} of {total} embeddings; run `engine index` again to finish")


def _result(rows: list[tuple[np.ndarray, str]]) -> EmbeddingResult:
    ok = [k for k, (_, error) in enumerate(rows) if not error]
    vectors = np.stack([rows[k][0] for k in ok]).astype(np.float32) if ok else np.zeros((0, 0), np.float32)
    return EmbeddingResult(vectors=vectors, ok=ok, errors=[(k, error) for k, (_, error) in enumerate(rows) if error])


class RayEmbedder:
    """A Ray Data actor: loads the model once, then embeds batches of paths exactly as `embed_paths` does."""

    def __init__(self, model_path: str, threads: int, batch_size: int, workers: int = 0) -> None:
        import torch

        from engine.model.checkpoint import load_model

        torch.set_num_threads(threads)
        # Ray sets CUDA_VISIBLE_DEVICES to the actor's GPU, if it was given one
        self.lm = load_model(model_path, device="cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size, self.workers = batch_size, workers

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from engine.inference.embedding import embed_paths
        from engine.inference.forward_plan import InferencePlan

        paths = [str(p) for p in batch["path"]]
        result = embed_paths(self.lm, paths, num_workers=self.workers, plan=InferencePlan(batch_size=self.batch_size))
        vectors = np.zeros((len(paths), self.lm.embedding_dim), np.float32)
        if result.ok:
            vectors[result.ok] = result.vectors
        errors = np.array([""] * len(paths), dtype=object)
        for i, reason in result.errors:
            errors[i] = reason
        return {"index": np.asarray(batch["index"]), "vector": vectors, "error": errors}
