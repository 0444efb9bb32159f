"""The recipes benchmarks/accuracy.py can cross-validate, by name (one per ablation row)."""

from __future__ import annotations

from dataclasses import replace

from engine.evaluate.cv_recipes import HeadRecipe, MixRecipe, ProjectionRecipe, TrunkRecipe
from engine.model.backbones import get_spec
from engine.model.network import NetworkConfig
from engine.model.projection import ProjectionConfig
from engine.train.config import TrainConfig


def _default(network: NetworkConfig, **overrides) -> HeadRecipe:
    return HeadRecipe("default", TrainConfig(network=network, **overrides))


RECIPES = {
    # the untrained baseline of `engine evaluate`: the trunk's global pool
    "trunk": lambda n: TrunkRecipe("trunk", width=get_spec(n.backbone).feature_dim),
    "trunk_ms": lambda n: TrunkRecipe("trunk_ms", standardize=True),
    "default": lambda n: _default(n),
    "default_sel": lambda n: replace(_default(n), name="default_sel", selection="roc_auc+map_at_r"),
    "wccn": lambda n: ProjectionRecipe("wccn", ProjectionConfig(), train_views=(0, 1)),
    "wccn256": lambda n: ProjectionRecipe("wccn256", ProjectionConfig(pca_dims=256), train_views=(0, 1)),
    "lda": lambda n: ProjectionRecipe("lda", ProjectionConfig(lda_dims=128), train_views=(0, 1)),
    "mix_trunk_default": lambda n: MixRecipe("mix_trunk_default", (TrunkRecipe("t", standardize=True), _default(n))),
    "mix_wccn_default": lambda n: MixRecipe("mix_wccn_default", (ProjectionRecipe("w", train_views=(0, 1)), _default(n))),
}


def needed_views(name: str, available: int) -> None:
    """Every recipe trains on views 0 and 1 at most; TTA adds view 2 (checked by the caller)."""
    if available < 2:
        raise SystemExit(f"recipe {name} needs 2 cached views, got {available}")
