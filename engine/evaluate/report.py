"""`evaluate --report DIR`: metrics.json, config.json and the figures of one evaluation."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engine.base.atomic import atomic_write_json
from engine.base.errors import EngineError
from engine.evaluate.data import Embedded
from engine.evaluate.plots import plot_histogram, plot_neighbours, plot_reliability, plot_roc
from engine.base.vectors import l2_normalize

logger = logging.getLogger(__name__)


def write_report(report_dir: Path, result: dict, embedded: Embedded, details: dict, *, config) -> Path:
    """Write every artefact into `report_dir` (created) and return it."""
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EngineError(f"cannot create report folder {report_dir}: {exc.strerror}; pass another --report DIR") from exc
    blocks = {"trained": result["calibration"]}
    if result.get("baseline"):
        blocks["baseline"] = result["baseline"]["calibration"]
    plot_roc(details, report_dir / "roc.png")
    plot_histogram(details, report_dir / "similarity_histogram.png")
    plot_reliability(blocks, report_dir / "reliability.png")
    grid = neighbour_grid(embedded, key="trained", queries=config.grid_queries, k=config.grid_neighbours, seed=config.seed)
    plot_neighbours(grid, report_dir / "neighbours.png")
    atomic_write_json(report_dir / "metrics.json", {**result, "report": str(report_dir), "neighbours": grid})
    logger.info("report written to %s", report_dir)
    return report_dir


def neighbour_grid(embedded: Embedded, *, key: str, queries: int, k: int, seed: int) -> list[dict]:
    """Nearest paintings (self and duplicates excluded) of one query painting from each of a few artists."""
    rows = embedded.rows
    labels = np.asarray(rows.labels, dtype=object)
    groups = np.asarray(rows.groups, dtype=object)
    unit = l2_normalize(embedded.vectors[key], dtype=np.float64)
    rng = np.random.default_rng(seed)
    artists = sorted(set(rows.labels))
    chosen = rng.permutation(len(artists))[:queries]
    grid = []
    for a in sorted(chosen):
        q = int(rng.choice(np.flatnonzero(labels == artists[a])))
        sims = unit @ unit[q]
        sims[groups == groups[q]] = -np.inf
        nearest = np.argsort(-sims, kind="stable")[:k]
        grid.append({
            "path": rows.paths[q], "artist": rows.labels[q],
            "neighbours": [{"path": rows.paths[n], "artist": rows.labels[n], "similarity": float(sims[n])} for n in nearest if np.isfinite(sims[n])],
        })
    return grid
