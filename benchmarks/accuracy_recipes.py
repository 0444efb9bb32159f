"""The recipes benchmarks/accuracy.py can cross-validate, by name (one per ablation row)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from benchmarks.crossval.recipes import HeadRecipe, MixRecipe, ProjectionRecipe, TrunkRecipe
from engine.model.backbones import get_spec
from engine.model.heads import ProjectedHead
from engine.model.network import NetworkConfig, build_pooled_trunk
from engine.model.pooling import feature_blocks
from engine.model.projection import ProjectionConfig
from engine.train.config import TrainConfig
from engine.train.losses import LossConfig
from engine.train.frozen import new_head
from engine.train.tail import TailEmbedder, TailTrunk, cut_shape


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
    trunk = build_pooled_trunk(replace(network, weights="none"), pretrained=False)
    return tuple(w for _, w in feature_blocks(trunk, get_spec(network.backbone).input_size))


def _old_default(network: NetworkConfig, name: str = "default", **overrides) -> HeadRecipe:
    """The default before issue 13: BatchNorm + linear head from random init, semi-hard triplet, best epoch by val AUC."""
    overrides = {"loss": _loss("triplet"), "selection": "roc_auc", "calibration_folds": 0, **overrides}
    return HeadRecipe(name, TrainConfig(network=replace(network, head="linear"), **overrides))


def _tail(name: str, network: NetworkConfig, *, train_from: str | None = None, **overrides) -> HeadRecipe:
    """Issue 28: the default recipe with the trunk's stages from CUT on trained with the head, on cached rows of the
    activation entering CUT (accuracy.py --finetune-from CUT); calibrated on the inner val pairs alone."""
    config = TrainConfig(network=replace(NetworkConfig(), backbone=network.backbone, pooling=network.pooling),
                         calibration_folds=0, **overrides)

    def build(width: int, config: TrainConfig, train) -> TailEmbedder:
        spec = get_spec(config.network.backbone)
        trunk = build_pooled_trunk(config.network)
        blocks = feature_blocks(trunk, spec.input_size)
        tail = TailTrunk(trunk, cut=TAIL_CUT, blocks=blocks, map_shape=cut_shape(trunk, TAIL_CUT, spec.input_size), train_from=train_from)
        head = new_head(tail.width, config.network, np.ascontiguousarray(train.features[0][:, :tail.width]))
        return TailEmbedder(tail, head, tail_lr_scale=config.trunk_lr_scale)

    return HeadRecipe(name, config, build=build)


TAIL_EPOCHS = 12  # best epochs of the default fell at 4-8 of 20; an epoch of tail_b6 costs ~12x one of the head
TAIL_CUT = "blocks.6"  # the cut the tail recipes' rows are cached at (accuracy.py --finetune-from)

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
    # issue 28: the default trained on 4 cached views per painting (the clean one and 3 augmentations): engine train --views 4
    "new_default_views4": lambda n: HeadRecipe("new_default_views4", TrainConfig(
        network=replace(NetworkConfig(), backbone=n.backbone, pooling=n.pooling), views=4), train_views=(0, 1, 2, 3)),
    # issue 28, the first lever: blocks.6 + conv_head (+ bn2) fine-tuned with the head (tail lr = lr x 0.1, the default)
    "tail_b6": lambda n: _tail("tail_b6", n, epochs=TAIL_EPOCHS),
    # the same with conv_head (+ bn2) alone trained: blocks.6 runs frozen
    "tail_head": lambda n: _tail("tail_head", n, train_from="conv_head", epochs=TAIL_EPOCHS),
    # tail_head with the tail at the head's lr
    "tail_head_lr1": lambda n: _tail("tail_head_lr1", n, train_from="conv_head", epochs=TAIL_EPOCHS, trunk_lr_scale=1.0),
}
TAIL_RECIPES = tuple(name for name in RECIPES if name.startswith("tail_"))


def needed_views(recipe, available: int) -> None:
    """The cached views a recipe trains on (its train_views; 0 and 1 for the others) must be loaded (accuracy.py --views)."""
    views = max(getattr(recipe, "train_views", (0, 1)) + (1,)) + 1
    if available < views:
        raise SystemExit(f"recipe {recipe.name} needs {views} cached views, got {available}: pass --views {views}")


def needed_cut(name: str, cut: str | None) -> None:
    """The tail_* recipes read rows cached at TAIL_CUT; the others read pooled features (the trunk's global pool reads either)."""
    if name in TAIL_RECIPES and cut != TAIL_CUT:
        raise SystemExit(f"recipe {name} needs --finetune-from {TAIL_CUT}")
    if cut is not None and name not in TAIL_RECIPES and name != "trunk":
        raise SystemExit(f"recipe {name} reads pooled features: run it without --finetune-from")
