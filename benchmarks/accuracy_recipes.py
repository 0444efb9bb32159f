"""The recipes benchmarks/accuracy.py can cross-validate, by name (one per ablation row)."""

from __future__ import annotations

from dataclasses import replace

from engine.evaluate.cv_recipes import HeadRecipe, MixRecipe, ProjectionRecipe, TrunkRecipe
from engine.model.backbones import get_spec
from engine.model.heads import ProjectedHead
from engine.model.network import NetworkConfig
from engine.model.projection import ProjectionConfig
from engine.train.config import TrainConfig


def _projected(width: int, config: TrainConfig, train) -> ProjectedHead:
    return ProjectedHead(width, config.network.embedding_dim).fit_init(train.features[0])


def _pca_init(name: str, network: NetworkConfig, *, loss: str = "triplet", **overrides) -> HeadRecipe:
    config = TrainConfig(network=network, **overrides)
    return HeadRecipe(name, config, build=_projected, selection="roc_auc+map_at_r", loss=loss)


def _blocks(network: NetworkConfig) -> tuple[int, ...]:
    from engine.model.network import build_pooled_trunk
    from engine.model.pooling import feature_blocks

    trunk = build_pooled_trunk(replace(network, weights="none"), pretrained=False)
    return tuple(w for _, w in feature_blocks(trunk, get_spec(network.backbone).input_size))


def _default(network: NetworkConfig, **overrides) -> HeadRecipe:
    return HeadRecipe("default", TrainConfig(network=network, **overrides))


RECIPES = {
    # the untrained baseline of `engine evaluate`: the trunk's global pool
    "trunk": lambda n: TrunkRecipe("trunk", width=get_spec(n.backbone).feature_dim),
    "trunk_ms": lambda n: TrunkRecipe("trunk_ms", standardize=True),
    "trunk_ms_sqrt": lambda n: TrunkRecipe("trunk_ms_sqrt", standardize=True, power=0.5),
    "trunk_blocks": lambda n: TrunkRecipe("trunk_blocks", standardize=True, power=0.5, blocks=_blocks(n)),
    "pcaw": lambda n: ProjectionRecipe("pcaw", ProjectionConfig(shrinkage=1.0), train_views=(0, 1)),
    "wccn_s07": lambda n: ProjectionRecipe("wccn_s07", ProjectionConfig(shrinkage=0.7), train_views=(0, 1)),
    "default": lambda n: _default(n),
    "default_sel": lambda n: replace(_default(n), name="default_sel", selection="roc_auc+map_at_r"),
    "ms": lambda n: HeadRecipe("ms", TrainConfig(network=n, lr=1e-3), loss="multi_similarity", selection="roc_auc+map_at_r"),
    "proxy_anchor": lambda n: HeadRecipe("proxy_anchor", TrainConfig(network=n, lr=1e-3), loss="proxy_anchor", selection="roc_auc+map_at_r"),
    "supcon": lambda n: HeadRecipe("supcon", TrainConfig(network=n, lr=1e-3), loss="supcon", selection="roc_auc+map_at_r"),
    "normsoftmax": lambda n: HeadRecipe("normsoftmax", TrainConfig(network=n, lr=1e-3), loss="normalized_softmax", selection="roc_auc+map_at_r"),
    "pca256": lambda n: ProjectionRecipe("pca256", ProjectionConfig(pca_dims=256, whiten=False)),
    "pca512": lambda n: ProjectionRecipe("pca512", ProjectionConfig(pca_dims=512, whiten=False)),
    "pca_init": lambda n: _pca_init("pca_init", n),
    "pca_init_lr3e-5": lambda n: _pca_init("pca_init_lr3e-5", n, lr=3e-5),
    "pca_init_ms": lambda n: _pca_init("pca_init_ms", n, loss="multi_similarity"),
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
