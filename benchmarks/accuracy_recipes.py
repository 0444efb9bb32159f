"""The recipes benchmarks/accuracy.py can cross-validate, by name (one per ablation row)."""

from __future__ import annotations

from dataclasses import replace

from benchmarks.crossval.recipes import HeadRecipe, MixRecipe, ProjectionRecipe, TrunkRecipe
from engine.model.backbones import get_spec
from engine.model.heads import ProjectedHead
from engine.model.network import NetworkConfig
from engine.model.projection import ProjectionConfig
from engine.train.config import TrainConfig
from engine.train.losses import LossConfig


def _projected(sqrt: bool):
    def build(width: int, config: TrainConfig, train) -> ProjectedHead:
        return ProjectedHead(width, config.network.embedding_dim, signed_sqrt=sqrt).fit_init(train.features[0])

    return build


def _loss(kind: str) -> LossConfig:
    return LossConfig(kind=kind)


def _pca_init(name: str, network: NetworkConfig, *, loss: str = "triplet", sqrt: bool = False, **overrides) -> HeadRecipe:
    config = TrainConfig(network=network, loss=_loss(loss), selection="roc_auc+map_at_r", **overrides)
    return HeadRecipe(name, config, build=_projected(sqrt))


def _pca_init_proxy(name: str, network: NetworkConfig, loss: str) -> HeadRecipe:
    config = TrainConfig(network=network, loss=_loss("triplet"), selection="roc_auc+map_at_r")
    return HeadRecipe(name, config, build=_projected(False), proxy_loss=loss)


def _blocks(network: NetworkConfig) -> tuple[int, ...]:
    from engine.model.network import build_pooled_trunk
    from engine.model.pooling import feature_blocks

    trunk = build_pooled_trunk(replace(network, weights="none"), pretrained=False)
    return tuple(w for _, w in feature_blocks(trunk, get_spec(network.backbone).input_size))


def _old_default(network: NetworkConfig, name: str = "default", **overrides) -> HeadRecipe:
    """The default before issue 13: BatchNorm + linear head from random init, semi-hard triplet, best epoch by val AUC."""
    overrides = {"loss": _loss("triplet"), "selection": "roc_auc", "calibration_folds": 0, **overrides}
    return HeadRecipe(name, TrainConfig(network=replace(network, head="linear"), **overrides))


RECIPES = {
    # the untrained baseline of `engine evaluate`: the trunk's global pool
    "trunk": lambda n: TrunkRecipe("trunk", width=get_spec(n.backbone).feature_dim),
    "trunk_ms": lambda n: TrunkRecipe("trunk_ms", standardize=True),
    "trunk_ms_sqrt": lambda n: TrunkRecipe("trunk_ms_sqrt", standardize=True, power=0.5),
    "trunk_blocks": lambda n: TrunkRecipe("trunk_blocks", standardize=True, power=0.5, blocks=_blocks(n)),
    "pcaw": lambda n: ProjectionRecipe("pcaw", ProjectionConfig(shrinkage=1.0), train_views=(0, 1)),
    "wccn_s07": lambda n: ProjectionRecipe("wccn_s07", ProjectionConfig(shrinkage=0.7), train_views=(0, 1)),
    "default": lambda n: _old_default(n),
    "default_sel": lambda n: _old_default(n, "default_sel", selection="roc_auc+map_at_r"),
    # the library's default recipe as `engine train` runs it (engine/train/config.py, engine/model/network.py)
    "new_default": lambda n: HeadRecipe("new_default", TrainConfig(network=replace(NetworkConfig(), backbone=n.backbone, pooling=n.pooling))),
    # the same with 6 cross-fitted calibration heads (each trained on 5/6 of the training artists)
    "new_default_cal6": lambda n: HeadRecipe("new_default_cal6", TrainConfig(
        network=replace(NetworkConfig(), backbone=n.backbone, pooling=n.pooling), calibration_folds=6)),
    # the same, calibrated on the inner val pairs alone (before cross-fitted calibration)
    "new_default_valcal": lambda n: HeadRecipe("new_default_valcal", TrainConfig(
        network=replace(NetworkConfig(), backbone=n.backbone, pooling=n.pooling), calibration_folds=0)),
    # issue 28: the default with the sources balanced in the P x K sampler (each source's artists drawn as often in total)
    "new_default_balanced": lambda n: HeadRecipe("new_default_balanced", TrainConfig(
        network=replace(NetworkConfig(), backbone=n.backbone, pooling=n.pooling), balance_sources=True)),
    # issue 28: the default with an auxiliary cross-entropy over the painting's style (weight 0.5, 0.1)
    "new_default_style05": lambda n: HeadRecipe("new_default_style05", TrainConfig(
        network=replace(NetworkConfig(), backbone=n.backbone, pooling=n.pooling), style_weight=0.5)),
    "new_default_style01": lambda n: HeadRecipe("new_default_style01", TrainConfig(
        network=replace(NetworkConfig(), backbone=n.backbone, pooling=n.pooling), style_weight=0.1)),
    "mix_trunk_new_default": lambda n: MixRecipe("mix_trunk_new_default", (
        TrunkRecipe("t", standardize=True, power=0.5),
        HeadRecipe("d", TrainConfig(network=replace(NetworkConfig(), backbone=n.backbone, pooling=n.pooling))))),
    "pca256": lambda n: ProjectionRecipe("pca256", ProjectionConfig(pca_dims=256, whiten=False)),
    "pca512": lambda n: ProjectionRecipe("pca512", ProjectionConfig(pca_dims=512, whiten=False)),
    "pca_init": lambda n: _pca_init("pca_init", n),
    "pca_init_ms": lambda n: _pca_init("pca_init_ms", n, loss="multi_similarity"),
    "pca_init_ms_d512": lambda n: _pca_init("pca_init_ms_d512", replace(n, embedding_dim=512), loss="multi_similarity"),
    "pca_init_proxy_anchor": lambda n: _pca_init_proxy("pca_init_proxy_anchor", n, "proxy_anchor"),
    "pca_init_normsoftmax": lambda n: _pca_init_proxy("pca_init_normsoftmax", n, "normalized_softmax"),
    "pca_init_supcon": lambda n: _pca_init("pca_init_supcon", n, loss="supcon"),
    "pca_init_supcon_sqrt": lambda n: _pca_init("pca_init_supcon_sqrt", n, loss="supcon", sqrt=True),
    "pca_init_ms_sqrt": lambda n: _pca_init("pca_init_ms_sqrt", n, loss="multi_similarity", sqrt=True),
    "pca_init_ms_sqrt_lr3e-4": lambda n: _pca_init("pca_init_ms_sqrt_lr3e-4", n, loss="multi_similarity", sqrt=True, lr=3e-4),
    "wccn": lambda n: ProjectionRecipe("wccn", ProjectionConfig(), train_views=(0, 1)),
    "lda": lambda n: ProjectionRecipe("lda", ProjectionConfig(lda_dims=128), train_views=(0, 1)),
    "mix_trunk_default": lambda n: MixRecipe("mix_trunk_default", (TrunkRecipe("t", standardize=True), _old_default(n))),
}


def needed_views(name: str, available: int) -> None:
    """Every recipe trains on views 0 and 1 at most; TTA adds view 2 (checked by the caller)."""
    if available < 2:
        raise SystemExit(f"recipe {name} needs 2 cached views, got {available}")
