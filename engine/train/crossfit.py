"""Cross-fitted calibration pairs: score the training artists with heads that never saw them.

The training artists are cut into J artist-disjoint groups (seeded). Head j trains as the model's
head does (same config, loss, epochs and best-epoch selection on the val artists) on every
training artist outside group j; then it embeds group j and scores balanced pairs within it.
The J groups' pairs together are held-out pairs over all training artists
(engine.calibrate.held_out), which `engine train` pools with its val pairs for calibration.
Frozen mode only: each head costs (J-1)/J of a head fit, seconds on cached features.
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from engine.base.errors import EngineError
from engine.calibrate.held_out import HeldOutPairs
from engine.base.vectors import cosine_scores
from engine.metrics.pair_sampling import draw_pairs
from engine.train.config import TrainConfig
from engine.train.data import Split
from engine.train.head_fit import fit_head

logger = logging.getLogger(__name__)

HeadBuilder = Callable[[np.ndarray], nn.Module]  # clean-view features (N, F) of the artists it trains on -> head


def artist_folds(artists: Sequence[str], *, folds: int, seed: int) -> list[list[str]]:
    """Distinct artists shuffled by `seed`, cut into `folds` groups whose sizes differ by at most 1."""
    names = np.array(sorted(set(str(a) for a in artists)), dtype=object)
    if len(names) < folds:
        raise EngineError(f"{len(names)} artists cannot make {folds} artist-disjoint folds; use fewer --folds")
    shuffled = np.random.default_rng(seed).permutation(names)
    return [sorted(part.tolist()) for part in np.array_split(shuffled, folds)]


def crossfit_pairs(
    build_head: HeadBuilder,
    config: TrainConfig,
    train_feats: torch.Tensor,
    train: Split,
    val_feats: torch.Tensor,
    val: Split,
    *,
    folds: int,
) -> HeldOutPairs | None:
    """Held-out pairs of every training artist, from `folds` heads each trained without its group
    (fewer when there are too few artists: see usable_folds; None when not even 2 are possible).

    train_feats: (V, N, F) cached views of `train`; val_feats: (N_val, F) of `val` (best-epoch selection)."""
    artists = np.asarray(train.artists, dtype=object)
    folds = usable_folds(len(set(train.artists)), folds)
    if folds < 2:
        logger.info("too few training artists (%d) to cross-fit a calibration: val pairs alone", len(set(train.artists)))
        return None
    # the heads are small: they train on the CPU whatever device the features were computed on
    train_feats, val_feats = train_feats.float().cpu(), val_feats.float().cpu()
    scores, same = [], []
    for k, group in enumerate(artist_folds(train.artists, folds=folds, seed=config.seed + 17)):
        held = np.isin(artists, group)
        head = _fit_without(build_head, config, train_feats, train, val_feats, val, held)
        s, y = _group_pairs(head, train_feats[0, torch.from_numpy(np.flatnonzero(held))], train.subset(held), config)
        scores.append(s)
        same.append(y)
        logger.info("cross-fitted head %d/%d: %d held-out pairs of %d artists", k + 1, folds, len(s), len(group))
    return HeldOutPairs(np.concatenate(scores), np.concatenate(same), artists=len(set(train.artists)), folds=folds)


def usable_folds(artists: int, folds: int) -> int:
    """Groups need 2 artists each (for different-artist pairs): min(folds, artists // 2)."""
    return min(folds, artists // 2)


def _fit_without(build_head, config, train_feats, train: Split, val_feats, val: Split, held: np.ndarray) -> nn.Module:
    keep = torch.from_numpy(np.flatnonzero(~held))
    sub = _relabelled(train.subset(~held))
    feats = train_feats[:, keep]
    torch.manual_seed(config.seed)
    head = build_head(feats[0].float().cpu().numpy())
    return fit_head(head, config, feats, sub, val_feats, val, selection=config.selection).head


def _relabelled(split: Split) -> Split:
    """Contiguous labels 0..A-1 (a subset of artists leaves gaps; the losses index classes by label)."""
    _, labels = np.unique(split.labels, return_inverse=True)
    return Split(split.paths, split.artists, labels.astype(np.int64), split.groups, split.sources, split.styles)


@torch.no_grad()
def _group_pairs(head: nn.Module, feats: torch.Tensor, group: Split, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    head.eval()
    emb = head(feats).float().cpu().numpy()
    pairs = draw_pairs(group.artists, group.groups, n_pairs=config.val_pairs, per_artist_cap=0, seed=config.seed)
    return cosine_scores(emb, pairs.i, pairs.j), pairs.same
