"""Recalibration on a collection's own painters (issue 28, part 3): does a threshold, Platt calibration and
open-set rule refitted on some labelled painters of one collection serve that collection's other painters
better than the rule fitted on the training side's val painters?

Per test part of a fold (a source's test painters): its painters are cut into two artist-disjoint halves
(seeded). The calibration is refitted on one half's pairs and paintings with `engine.calibrate.fit.calibrate`
(the fit `engine evaluate` and `engine calibrate` run) and scored on the other half, against the fold's own
calibration (the same function on the inner val, pooled with the recipe's cross-fitted pairs, as
`score_fold` and `accuracy.py`'s open-set columns fit it) scored on the same half. Both directions, averaged.
"""

from __future__ import annotations

import numpy as np

from benchmarks.crossval.features import FeatureSet
from engine.base.vectors import cosine_scores
from engine.calibrate.fit import Calibrated, calibrate
from engine.calibrate.held_out import HeldOutPairs
from engine.calibrate.platt import probability
from engine.evaluate.open_set import open_set_metrics
from engine.metrics.calibration_error import expected_calibration_error
from engine.metrics.pair_sampling import draw_pairs

MIN_PAINTERS = 4  # two per half: a half needs different-painter pairs and an "unknown" painter
HALF_SEED = 31


def artist_halves(artists: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two boolean masks over the paintings: the painters shuffled by `seed`, cut in two (sizes differ by at most 1)."""
    names = np.array(sorted(set(str(a) for a in artists)), dtype=object)
    shuffled = np.random.default_rng(seed + HALF_SEED).permutation(names)
    first = set(shuffled[: len(shuffled) // 2].tolist())
    mask = np.array([str(a) in first for a in artists])
    return mask, ~mask


def own_collection_scores(
    val_emb: np.ndarray, val: FeatureSet, part_emb: np.ndarray, part: FeatureSet, *, pairs: int, bins: int, seed: int,
    held_out: HeldOutPairs | None = None,
) -> dict:
    """{"own_*" columns}; {} when the part has fewer than MIN_PAINTERS painters.

    own_ece / own_ece_before: ECE of verify's probability on the scored half, refitted on the other half / the fold's;
    own_open_set_auroc(_before), own_known_correct(_before), own_unknown_correct(_before): the open-set rule's."""
    if len(set(part.artists.tolist())) < MIN_PAINTERS:
        return {}
    fold = _fit(val_emb, val, pairs=pairs, seed=seed, source="inner val", held_out=held_out)
    halves = artist_halves(part.artists, seed=seed)
    rows = []
    for fit_mask, score_mask in (halves, halves[::-1]):
        fit_idx, score_idx = np.flatnonzero(fit_mask), np.flatnonzero(score_mask)
        own = _fit(part_emb[fit_idx], part.take(fit_idx), pairs=pairs, seed=seed, source="own painters")
        scored, emb = part.take(score_idx), part_emb[score_idx]
        sampled = _pairs(scored, pairs=pairs, seed=seed)
        cosines = cosine_scores(emb, sampled.i, sampled.j)
        rows.append({**_scores(own, emb, scored, sampled, cosines, bins=bins, seed=seed, suffix=""),
                     **_scores(fold, emb, scored, sampled, cosines, bins=bins, seed=seed, suffix="_before")})
    return {key: float(np.nanmean([r[key] for r in rows])) for key in rows[0]}


def _pairs(data: FeatureSet, *, pairs: int, seed: int):
    return draw_pairs(data.artists, data.groups, n_pairs=pairs, per_artist_cap=0, seed=seed)


def _fit(emb: np.ndarray, data: FeatureSet, *, pairs: int, seed: int, source: str, held_out: HeldOutPairs | None = None) -> Calibrated:
    return calibrate(emb, _pairs(data, pairs=pairs, seed=seed), source=source, labels=data.artists, groups=data.groups,
                     seed=seed, held_out=held_out)


def _scores(cal: Calibrated, emb: np.ndarray, data: FeatureSet, sampled, cosines: np.ndarray, *, bins: int, seed: int,
            suffix: str) -> dict:
    """`cal`'s columns on one scored half: its pairs `sampled` (with their `cosines`) and its paintings."""
    prob = probability(cosines, cal.calibration)
    open_set = open_set_metrics(emb, data.artists, calibration=cal.attribution, seed=seed, groups=data.groups)
    return {
        "own_ece" + suffix: expected_calibration_error(prob, sampled.same, bins=bins),
        "own_open_set_auroc" + suffix: open_set["auroc"],
        "own_known_correct" + suffix: open_set["known_correct"],
        "own_unknown_correct" + suffix: open_set["unknown_correct"],
    }
