"""Gather `FileFacts` for every candidate: from the cache when still valid, else in worker processes."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Iterator, Sequence

from engine.base.errors import EngineError
from engine.prepare.cache import FactsCache
from engine.prepare.worker import (
    POLICY_REASONS,
    WRITE_FAILED,
    DecodeJob,
    FileFacts,
    policy_reason,
    process_file,
)
from engine.base.progress import NullProgress, Progress
from engine.base.runtime import cpu_cores
from engine.data.sources import SourceItem


def default_workers() -> int:
    return max(1, min(cpu_cores(), 32))


def judge(facts: FileFacts, *, min_side: int, max_pixels: int) -> tuple[str, str]:
    """(reason, detail) to drop the file under the current options; ('', '') to keep it."""
    if facts.reason and facts.reason not in POLICY_REASONS:
        return facts.reason, facts.detail
    reason, detail = policy_reason(facts.width, facts.height, min_side=min_side, max_pixels=max_pixels)
    if reason:
        return reason, detail
    if not facts.decoded:
        return "error", "not decoded"
    return "", ""


def collect_facts(
    items: Sequence[SourceItem],
    *,
    cache: FactsCache,
    job: DecodeJob,
    workers: int,
    progress: Progress | None = None,
) -> tuple[list[FileFacts], int]:
    """(facts per item, number of files decoded this run); `job` is the template (its source is replaced)."""
    facts: list[FileFacts | None] = [None] * len(items)
    stats = [_stat(item.path) for item in items]
    with (progress or NullProgress()).task("Preparing images", len(items)) as task:
        todo = []
        for i, item in enumerate(items):
            hit = cache.lookup(str(item.path), stats[i]) if stats[i] else None
            if hit is not None and _reusable(hit, job):
                facts[i] = hit
                cache.store(str(item.path), stats[i], hit)
                task.advance(1)
            else:
                todo.append(i)
        jobs = [_job_for(job, items[i].path) for i in todo]
        try:
            for i, result in zip(todo, run_jobs(jobs, workers=workers)):
                if result.reason == WRITE_FAILED:
                    raise OSError(result.detail)
                facts[i] = result
                cache.store(str(items[i].path), stats[i], result)
                task.advance(1)
        except BrokenProcessPool:
            raise EngineError(
                "a decoding process crashed (a malformed image or out of memory); files done so far are cached: "
                "re-run, or use --workers 1 to find the file"
            ) from None
    return facts, len(todo)  # type: ignore[return-value]


def run_jobs(jobs: list[DecodeJob], *, workers: int) -> Iterator[FileFacts]:
    """`process_file` over `jobs`, in order; in-process when workers == 1."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(process_file, jobs)
        return
    # forkserver: a parent that already holds torch/OpenMP threads must not be forked.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
    chunk = max(1, min(32, len(jobs) // (workers * 8)))
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context)
    try:
        yield from pool.map(process_file, jobs, chunksize=chunk)
    finally:  # on an error or interrupt, drop the queued work instead of finishing it
        pool.shutdown(wait=True, cancel_futures=True)


def _reusable(facts: FileFacts, job: DecodeJob) -> bool:
    if facts.decoded:
        return os.path.isfile(os.path.join(job.images_dir, facts.sha256[:2], f"{facts.sha256}.jpg"))
    if facts.reason in POLICY_REASONS:
        # Still rejected by the current limits? Then no decode is needed to know it.
        return bool(policy_reason(facts.width, facts.height, min_side=job.min_side, max_pixels=job.max_pixels)[0])
    return True


def _job_for(template: DecodeJob, path: Path) -> DecodeJob:
    return dataclasses.replace(template, source=str(path))


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None
