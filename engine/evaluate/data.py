"""Inputs of `evaluate`: the split's rows, the models, and their embeddings of those rows.

Model loading, embedding and calibration storage go through `load_trained`, `load_untrained`,
`embed_rows` and `store_calibration` (thin wrappers over engine.model.checkpoint / engine.inference.embedding)
so that tests can swap in small fakes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engine.base.errors import EngineError
from engine.data.manifest import select_split

logger = logging.getLogger(__name__)

GROUP_COLUMNS = ("dup_group", "sha256", "path")  # first present one identifies duplicate paintings


@dataclass(frozen=True)
class SplitRows:
    """Paintings of one split: abspath, artist and duplicate-group per row."""

    name: str
    paths: list[str]
    labels: list[str]
    groups: list[str]

    @property
    def artists(self) -> int:
        return len(set(self.labels))


@dataclass
class Embedded:
    """Rows that every model embedded: vectors (N, D) per model key, aligned with `rows`."""

    rows: SplitRows
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)


def rows_of(frame: pd.DataFrame, split: str) -> SplitRows:
    """The rows of `split` ("test", "val" or "all") as a SplitRows."""
    part = select_split(frame, split)
    column = next(c for c in GROUP_COLUMNS if c in part.columns)
    groups = [g or p for g, p in zip(part[column].astype(str), part["path"].astype(str))]
    return SplitRows(split, list(part["abspath"]), list(part["artist"].astype(str)), groups)


def check_rows(rows: SplitRows, data_dir: Path) -> None:
    if rows.artists < 2:
        raise EngineError(
            f"split {rows.name!r} of {data_dir} has {rows.artists} artist(s); evaluation needs at least 2 "
            "(re-run `engine prepare` with a larger --test-fraction/--val-fraction, or use --split all)"
        )


def load_trained(path: Path, *, device: str | None = None):
    """engine.model.checkpoint.load_model (lazy import: torch only when a model is actually needed)."""
    from engine.model.checkpoint import load_model

    return load_model(path, device=device)


def load_untrained(backbone: str, *, weights: str = "imagenet", device: str | None = None):
    from engine.model.checkpoint import load_baseline

    return load_baseline(backbone, weights=weights, device=device)


def store_calibration(path: Path, *, threshold: float, calibration: dict, metrics: dict, attribution: dict | None = None) -> None:
    """engine.model.checkpoint.update_calibration: atomic rewrite of model.pt."""
    from engine.model.checkpoint import update_calibration

    update_calibration(path, threshold=threshold, calibration=calibration, metrics=metrics, attribution=attribution)


def embed_rows(lm, paths: list[str], *, batch_size: int | None, progress=None):
    """engine.inference.embedding.embed_paths -> EmbeddingResult (vectors, ok, errors).

    `batch_size` None: the machine's steady plan (on 2 cores two single-thread streams of 4 images; the demo's
    evaluation embedded in 13 s instead of 22 s with one batch of 64), fixed so that two evaluations agree."""
    from engine.inference.embedding import embed_paths
    from engine.inference.forward_plan import InferencePlan, steady_plan

    plan = InferencePlan(batch_size=batch_size) if batch_size else steady_plan(lm.device)
    return embed_paths(lm, paths, plan=plan, progress=progress)


def embed_all(rows: SplitRows, models: dict[str, object], *, batch_size: int | None, progress=None) -> Embedded:
    """Embed `rows` with every model; keep the rows all of them decoded (same pairs for everyone)."""
    results = {key: embed_rows(lm, rows.paths, batch_size=batch_size, progress=progress) for key, lm in models.items()}
    common = sorted(set.intersection(*(set(r.ok) for r in results.values())))
    skipped = _skipped(rows, results, set(common))
    kept = SplitRows(rows.name, [rows.paths[k] for k in common], [rows.labels[k] for k in common], [rows.groups[k] for k in common])
    vectors = {}
    for key, result in results.items():
        position = {index: n for n, index in enumerate(result.ok)}
        vectors[key] = np.asarray(result.vectors, dtype=np.float32)[[position[k] for k in common]]
    if skipped:
        logger.warning("%d image(s) of split %s could not be read and were left out", len(skipped), rows.name)
    if kept.artists < 2:
        raise EngineError(f"fewer than 2 artists left in split {rows.name!r} after unreadable images; check the dataset")
    return Embedded(kept, vectors, skipped)


def _skipped(rows: SplitRows, results: dict, common: set[int]) -> list[dict]:
    reasons: dict[int, str] = {}
    for result in results.values():
        reasons.update({index: reason for index, reason in result.errors})
    return [{"path": rows.paths[k], "reason": reasons.get(k, "unreadable")} for k in range(len(rows.paths)) if k not in common]
