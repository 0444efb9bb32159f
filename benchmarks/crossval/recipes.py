"""Recipes the cross-validation compares: each fits on a fold's (train, val) features -> an embedder.

- TrunkRecipe: the untrained trunk (its global pool = the `baseline` of `engine evaluate`, or every
  pooled feature, optionally standardised on the training artists).
- ProjectionRecipe: a closed-form whitening/LDA fitted on the training artists (engine.model.projection).
- HeadRecipe: a head trained as `engine train --mode frozen` trains it (engine.train.head_fit).
- MixRecipe: the unit embeddings of two recipes side by side, cos = w cos_a + (1 - w) cos_b, with w
  chosen on the val artists by val ROC-AUC + MAP@R.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np
import torch

from engine.base.vectors import l2_normalize
from benchmarks.crossval.harness import Embedder
from benchmarks.crossval.features import FeatureSet
from engine.metrics.retrieval import retrieval_metrics
from engine.base.vectors import cosine_scores
from engine.calibrate.platt import best_threshold
from engine.metrics.verification import verification_metrics
from engine.metrics.pair_sampling import draw_pairs
from engine.model.projection import ProjectionConfig, fit_projection
from engine.train.config import TrainConfig
from engine.train.data import Split
from engine.train.crossfit import crossfit_pairs
from engine.train.frozen import new_head
from engine.train.head_fit import fit_head


def as_split(data: FeatureSet) -> Split:
    """The training code's view of a FeatureSet: integer labels per artist."""
    names, labels = np.unique(data.artists.astype(str), return_inverse=True)
    return Split(list(data.paths), [str(a) for a in data.artists], labels.astype(np.int64), [str(g) for g in data.groups],
                 [str(s) for s in data.source_labels()], None if data.styles is None else [str(s) for s in data.styles])


@dataclass(frozen=True)
class TrunkRecipe:
    name: str
    width: int | None = None  # first `width` features only (the global pool); None: all
    standardize: bool = False
    power: float = 1.0  # signed power sign(x) |x|^p first (p = 0.5: the signed square root)
    blocks: tuple[int, ...] = ()  # widths of the pooled parts: each standardised part scaled to unit norm

    def fit(self, train: FeatureSet, val: FeatureSet, *, seed: int) -> Embedder:
        cut = slice(0, self.width)

        def prepared(x: np.ndarray) -> np.ndarray:
            x = x[:, cut]
            return x if self.power == 1.0 else np.sign(x) * np.abs(x) ** self.power

        if not self.standardize:
            return prepared
        base = prepared(train.features[0])
        mean, sd = base.mean(axis=0), base.std(axis=0) + 1e-6
        if not self.blocks:
            return lambda x: (prepared(x) - mean) / sd
        edges = np.cumsum((0,) + tuple(self.blocks))
        return lambda x: np.concatenate(
            [l2_normalize(z, dtype=z.dtype) for z in np.split((prepared(x) - mean) / sd, edges[1:-1], axis=1)], axis=1
        )


@dataclass(frozen=True)
class ProjectionRecipe:
    name: str
    config: ProjectionConfig = ProjectionConfig()
    train_views: tuple[int, ...] = (0,)

    def fit(self, train: FeatureSet, val: FeatureSet, *, seed: int) -> Embedder:
        x = np.concatenate([train.features[v] for v in self.train_views])
        labels = np.tile(as_split(train).labels, len(self.train_views))
        mean, a = fit_projection(x, labels, self.config)
        return lambda feats: (feats - mean) @ a


@dataclass(frozen=True)
class HeadRecipe:
    name: str
    config: TrainConfig = field(default_factory=TrainConfig)
    build: Callable[[int, TrainConfig, FeatureSet], torch.nn.Module] | None = None  # None: the config's EmbeddingHead
    train_views: tuple[int, ...] = (0, 1)
    proxy_loss: str | None = None  # proxy_anchor | normalized_softmax (need the artist count); else config.loss

    def fit(self, train: FeatureSet, val: FeatureSet, *, seed: int) -> Embedder:
        config = replace(self.config, seed=seed)
        torch.manual_seed(seed)
        width = train.features.shape[2]
        # None: as `engine train` builds it (frozen mode)
        head = self.build(width, config, train) if self.build else new_head(width, config.network, train.features[0])
        feats = torch.from_numpy(np.ascontiguousarray(train.features[list(self.train_views)]))
        split = as_split(train)
        loss_fn, scale = None, 1.0
        if self.proxy_loss:
            from engine.train.metric_losses import PROXY_LR_SCALE, metric_loss

            loss_fn = metric_loss(self.proxy_loss, classes=int(split.labels.max()) + 1, dim=config.network.embedding_dim)
            scale = PROXY_LR_SCALE
        val_feats = torch.from_numpy(np.ascontiguousarray(val.features[0]))
        fitted = fit_head(
            head, config, feats, split, val_feats, as_split(val), selection=config.selection, loss_fn=loss_fn, loss_lr_scale=scale,
        ).head

        @torch.no_grad()
        def embedder(x: np.ndarray) -> np.ndarray:
            return fitted(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

        embedder.head = fitted  # the trained head itself (the test that it equals `engine train`'s reads it)

        if config.calibration_folds and not self.build and not self.proxy_loss:  # as `engine train` calibrates (or None)
            embedder.held_out = crossfit_pairs(lambda f: new_head(width, config.network, f), config, feats, split,
                                               val_feats, as_split(val), folds=config.calibration_folds)
        return embedder


@dataclass(frozen=True)
class MixRecipe:
    name: str
    parts: tuple  # (recipe_a, recipe_b)
    weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)  # candidate w (of part a)

    def fit(self, train: FeatureSet, val: FeatureSet, *, seed: int) -> Embedder:
        fa, fb = (part.fit(train, val, seed=seed) for part in self.parts)
        va, vb = (l2_normalize(e, dtype=e.dtype) for e in (fa(val.features[0]), fb(val.features[0])))
        pairs = draw_pairs(val.artists, val.groups, n_pairs=2000, per_artist_cap=0, seed=seed)
        w = max(self.weights, key=lambda w: _val_criterion(mix(va, vb, w), val, pairs))
        return lambda x: mix(*(l2_normalize(e, dtype=e.dtype) for e in (fa(x), fb(x))), w)


def mix(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    """[sqrt(w) a, sqrt(1 - w) b] for unit rows a, b: a unit row whose cosines are w cos_a + (1 - w) cos_b."""
    return np.concatenate([np.sqrt(w) * a, np.sqrt(1 - w) * b], axis=1)


def _val_criterion(emb: np.ndarray, val: FeatureSet, pairs) -> float:
    scores = cosine_scores(emb, pairs.i, pairs.j)
    auc = verification_metrics(scores, pairs.same, threshold=best_threshold(scores, pairs.same))["roc_auc"]
    return auc + retrieval_metrics(emb, val.artists, groups=val.groups)["map_at_r"]
