"""Embed planned files batch by batch, committing each batch with its vectors (the unit a crash can lose)."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from db.records import Labels, NewPainting
from engine.model.checkpoint import LoadedModel
from engine.inference.embedding import EmbeddingResult, embed_paths
from engine.inference.forward_plan import InferencePlan
from engine.base.progress import NullProgress, Progress, Task
from indexer.config import IndexConfig
from indexer.change_plan import Work
from indexer.scan import image_size
from indexer.writer import IndexWriter
from engine.base.vectors import l2_normalize

logger = logging.getLogger(__name__)

NON_FINITE = "non_finite_embedding"  # the model returned NaN/inf: never stored


@dataclass
class EmbedStats:
    embedded: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    added: int = 0
    updated: int = 0

    @property
    def images_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def embed_and_insert(
    lm: LoadedModel, work: Sequence[Work], *, labels: dict[str, Labels], writer: IndexWriter,
    config: IndexConfig, plan: InferencePlan | None = None, progress: Progress | None = None,
) -> EmbedStats:
    """Embed `work` in chunks of `config.commit_every` (forward passes per `plan`); each chunk is one catalog transaction."""
    stats = EmbedStats()
    if not work:
        return stats
    start = time.perf_counter()
    with (progress or NullProgress()).task("embedding", len(work)) as task:
        for chunk in _chunks(list(work), config.commit_every):
            result = embed_paths(
                lm, [w.file.path for w in chunk], plan=plan or InferencePlan(batch_size=config.batch_size or 16),
                num_workers=config.num_workers, progress=_OneBar(task),
            )
            commit_chunk(writer, chunk, result, labels=labels, stats=stats)
    stats.seconds = time.perf_counter() - start
    warn_if_damaged(lm, stats)
    return stats


def commit_chunk(writer: IndexWriter, chunk: Sequence[Work], result: EmbeddingResult, *, labels: dict[str, Labels],
                 stats: EmbedStats) -> None:
    """One transaction for `chunk` embedded as `result`: unreadable and NaN/inf rows skipped, the rest stored unit-length."""
    stats.skipped.extend((chunk[i].file.path, reason) for i, reason in result.errors)
    vectors = l2_normalize(result.vectors)
    finite = np.isfinite(vectors).all(axis=1)
    stats.skipped.extend((chunk[i].file.path, NON_FINITE) for i, ok in zip(result.ok, finite) if not ok)
    done = [chunk[i] for i, ok in zip(result.ok, finite) if ok]
    insert_vectors(writer, done, vectors[finite], labels, stats)
    stats.embedded += len(done)


def warn_if_damaged(lm: LoadedModel, stats: EmbedStats) -> None:
    if stats.embedded == 0 and any(reason == NON_FINITE for _, reason in stats.skipped):
        logger.warning("the model gave NaN/inf for every image: %s is probably damaged; re-train or restore it", lm.path)


def insert_vectors(writer: IndexWriter, work: Sequence[Work], vectors: np.ndarray, labels: dict[str, Labels], stats: EmbedStats) -> None:
    """One transaction: rows for `work` with `vectors` (n, D), replacing the rows they supersede."""
    items = [new_painting(w, v, labels.get(w.file.path, Labels())) for w, v in zip(work, vectors)]
    replaces = [w.replaces for w in work if w.replaces is not None]
    writer.insert(items, replaces=replaces)
    stats.updated += len(replaces)
    stats.added += len(work) - len(replaces)


def new_painting(work: Work, vector: np.ndarray, labels: Labels) -> NewPainting:
    width, height = image_size(work.file.path)
    f = work.file
    return NewPainting(f.path, work.sha256, f.size, f.mtime_ns, width, height, labels, vector)


class _OneBar:
    """A `Progress` whose every task is the caller's bar, so chunked embedding shows one bar."""

    def __init__(self, task: Task) -> None:
        self._task = task

    @contextlib.contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        yield self._task


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_copies(writer: IndexWriter, work: Sequence[Work], *, labels: dict[str, Labels], config: IndexConfig) -> EmbedStats:
    """Files whose content is already in the catalog: new rows reuse the stored vector (no embedding)."""
    stats = EmbedStats()
    stored = writer.store.vectors_by_sha(w.sha256 for w in work)
    for chunk in _chunks(list(work), config.commit_every):
        insert_vectors(writer, chunk, np.stack([stored[w.sha256] for w in chunk]), labels, stats)
    return stats
