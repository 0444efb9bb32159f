"""Training configuration: one frozen dataclass and two recipes (what "auto" means at run time: engine.train.distributed.run_config)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace

from engine.model.augment import AugmentConfig
from engine.base.config import require
from engine.base.errors import EngineError
from engine.train.losses import LossConfig
from engine.model.network import NetworkConfig

RECIPES = ("default", "reference")
MODES = ("auto", "frozen", "finetune")
SAMPLINGS = ("pk", "random_triplets")


@dataclass(frozen=True)
class TrainConfig:
    recipe: str = "default"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    mode: str = "auto"  # auto: frozen on CPU, finetune on CUDA
    epochs: int = 20
    batch_size: int = 64  # images per batch (P x K); triplets per batch with random_triplets
    per_artist: int = 4  # K in P x K batches
    sampling: str = "pk"  # pk: in-batch mining | random_triplets: the reference design
    loss: LossConfig = field(default_factory=lambda: LossConfig(kind="supcon"))  # chosen by the CV (BENCHMARKS.md, Accuracy)
    optimizer: str = "adamw"  # adamw | adam
    lr: float = 1e-4
    weight_decay: float = 1e-4
    trunk_lr_scale: float = 0.1  # finetune: the pretrained trunk learns at lr * scale
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    views: int = 2  # frozen mode: cached trunk views per training image (view 0 = unaugmented)
    seed: int = 0
    workers: int | None = None  # DataLoader workers; None: cores - 1
    threads: int | None = None  # torch CPU threads; None: all cores
    device: str | None = None  # None: cuda when present
    amp: bool = True  # mixed precision on CUDA
    max_steps_per_epoch: int | None = None
    val_pairs: int = 2000
    per_artist_cap: int = 500  # at most this many val pairs anchored on one artist (5 val artists x 500 >= 2000)
    val_triplets: int = 5000
    feature_cache: str | None = None  # frozen mode cache folder; None: HOME/cache/features
    selection: str = "roc_auc+map_at_r"  # the best epoch maximises val ROC-AUC + MAP@R (or "roc_auc" alone)
    # frozen mode: J heads, each trained without a J-th of the artists, score held-out pairs of every
    # training artist for calibration with the val pairs (engine.train.crossfit); 0: val pairs only
    calibration_folds: int = 3
    # P x K sampling: draw the artists of each source (the folder `engine prepare` read them from) as often in
    # total as those of any other source, instead of uniformly over artists (issue 28's CV: BENCHMARKS.md)
    balance_sources: bool = False
    # frozen mode: weight of the auxiliary cross-entropy over the painting's style (manifest `style`) on the
    # embedding (engine.train.style_loss); 0: artist loss alone
    style_weight: float = 0.0

    def validate(self) -> "TrainConfig":
        self.network.validate()
        self.loss.validate()
        checks = [
            (self.recipe in RECIPES, f"unknown recipe {self.recipe!r}; use one of {', '.join(RECIPES)}"),
            (self.mode in MODES, f"unknown mode {self.mode!r}; use frozen or finetune"),
            (self.sampling in SAMPLINGS, f"unknown sampling {self.sampling!r}; use pk or random_triplets"),
            (self.optimizer in ("adam", "adamw"), f"unknown optimizer {self.optimizer!r}; use adam or adamw"),
            (self.epochs >= 1, f"--epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 4, f"--batch-size must be >= 4, got {self.batch_size}"),
            (self.sampling != "pk" or 2 <= self.per_artist <= self.batch_size // 2,
             f"--per-artist must be in 2..batch_size/2, got {self.per_artist}"),
            (self.lr > 0, f"--lr must be > 0, got {self.lr}"),
            (self.style_weight >= 0, f"--style-weight must be >= 0, got {self.style_weight}"),
            (self.views >= 1, f"--views must be >= 1, got {self.views}"),
            (self.selection in ("roc_auc", "roc_auc+map_at_r"), f"unknown selection {self.selection!r}; use roc_auc or roc_auc+map_at_r"),
            (self.max_steps_per_epoch is None or self.max_steps_per_epoch >= 1, "--max-steps-per-epoch must be >= 1"),
            (self.calibration_folds == 0 or self.calibration_folds >= 2,
             f"--calibration-folds must be 0 (val pairs only) or >= 2, got {self.calibration_folds}"),
        ]
        require(checks)
        return self


def reference_config() -> TrainConfig:
    """The reference design as published: ResNet34 fine-tuned, random triplets, unnormalised 256-d,
    Euclidean triplet margin 5, Adam lr 6e-6, batch 64, 14 epochs, its augmentation list."""
    return TrainConfig(
        recipe="reference",
        network=NetworkConfig(
            backbone="resnet34", weights="imagenet", embedding_dim=256, head="linear", normalize=False,
            pooling="avg", input_norm=False,
        ),
        mode="finetune", epochs=14, batch_size=64, sampling="random_triplets", calibration_folds=0,
        loss=LossConfig(kind="triplet", margin=5.0, miner="all"), optimizer="adam", lr=6e-6, weight_decay=0.0,
        trunk_lr_scale=1.0, augment=AugmentConfig.reference(),
    )


def make_config(recipe: str = "default", **overrides) -> TrainConfig:
    """The recipe's config with `overrides` (None values ignored); network/loss/augment fields by name."""
    base = reference_config() if recipe == "reference" else TrainConfig(recipe=recipe)
    groups = {"network": NetworkConfig, "loss": LossConfig, "augment": AugmentConfig}
    nested = {name: {} for name in groups}
    top = {}
    for key, value in overrides.items():
        if value is None:
            continue
        owner = next((g for g, cls in groups.items() if key in {f.name for f in dataclasses.fields(cls)}), None)
        (nested[owner] if owner else top)[key] = value
    for name, values in nested.items():
        if values:
            top[name] = replace(getattr(base, name), **values)
    try:
        return replace(base, **top).validate()
    except TypeError as exc:
        raise EngineError(f"bad training option: {exc}") from None


