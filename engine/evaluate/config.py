"""`EvaluateConfig`: the sampling and metric settings of `engine evaluate` (a light module: edges import it for defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvaluateConfig:
    """Sampling and metric settings; `per_artist_cap` 0 = ceil(2 * pairs / artists)."""

    seed: int = 0
    per_artist_cap: int = 0
    triplets: int = 5000
    enrol_fraction: float = 0.5
    knn: int = 10
    bootstrap: int = 1000
    bins: int = 10
    batch_size: int | None = None  # images per forward; None: engine.inference.forward_plan.steady_plan (the plan that fills the training feature cache)
    baseline: bool = True
    baseline_weights: str = "imagenet"
    grid_queries: int = 6
    grid_neighbours: int = 5
    device: str | None = None
