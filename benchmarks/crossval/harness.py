"""Artist-disjoint K-fold cross-validation of an embedding recipe on cached trunk features.

Folds: the artists of the *test pool* (e.g. one collection's) are shuffled by seed and cut into K
groups. Fold k tests on group k; its inner val artists (threshold, calibration, model selection)
are `inner_val_fraction` of the other test-pool artists; every other artist, extra collections
included, trains (or, with extra_role="val", the extra collections join every fold's inner val). No artist is in two roles of one fold, so every number is on unseen painters.

A recipe maps (train, val) FeatureSets to an embedder `(N, F) features -> (N, D) embeddings`; one
that cross-fits its calibration (as `engine train` does) sets `embedder.held_out` (HeldOutPairs).
Scores per fold are those of `engine evaluate` (engine.metrics); `summarise` gives the
mean and sample sd over folds x seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

from engine.base.errors import EngineError
from engine.base.vectors import l2_normalize
from engine.metrics.calibration_error import expected_calibration_error
from engine.calibrate.platt import fit_calibration, probability
from benchmarks.crossval.features import FeatureSet
from benchmarks.crossval.own_collection import own_collection_scores
from engine.calibrate.held_out import HeldOutPairs
from engine.metrics.attribution import attribution_metrics
from engine.metrics.retrieval import retrieval_metrics
from engine.metrics.triplets import triplet_accuracy
from engine.base.vectors import cosine_scores
from engine.metrics.verification import verification_metrics
from engine.calibrate.fit import calibrate
from engine.calibrate.band import band_rates
from engine.metrics.pair_sampling import draw_pairs
from engine.train.crossfit import artist_folds

Embedder = Callable[[np.ndarray], np.ndarray]
METRICS = (
    "roc_auc", "accuracy", "eer", "triplet_accuracy", "top1", "centroid_top1", "precision_at_1", "map_at_r", "ece",
)


class Recipe(Protocol):
    name: str

    def fit(self, train: FeatureSet, val: FeatureSet, *, seed: int) -> Embedder: ...


@dataclass(frozen=True)
class CrossValConfig:
    folds: int = 5
    inner_val_fraction: float = 0.15  # of the non-test artists of the test pool
    pairs: int = 2000
    per_artist_cap: int = 0  # 0: twice an artist's fair share (as `engine evaluate`)
    triplets: int = 5000
    knn: int = 10
    enrol_fraction: float = 0.5
    bins: int = 10
    extra_role: str = "train"  # paintings outside the test pool: train in every fold, or join every fold's inner val


    def validate(self) -> "CrossValConfig":
        if self.folds < 2:
            raise EngineError(f"--folds must be >= 2, got {self.folds}")
        if not 0 < self.inner_val_fraction < 1:
            raise EngineError(f"inner val fraction must be in (0, 1), got {self.inner_val_fraction}")
        if self.extra_role not in ("train", "val"):
            raise EngineError(f"extra role must be train or val, got {self.extra_role!r}")
        return self


@dataclass(frozen=True)
class Fold:
    """Painting indices of one fold's three artist-disjoint roles."""

    index: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def make_folds(
    artists: np.ndarray, test_pool: np.ndarray, *, config: CrossValConfig, seed: int, strata: np.ndarray | None = None
) -> list[Fold]:
    """Folds over the artists where `test_pool` (N,) is True; the other paintings always train.

    strata (N,): each painting's source; when given, every source's pool artists are cut into the K groups
    on their own (fold k tests on group k of each source) and each source gives its share of inner val
    artists, so every fold tests on and calibrates with painters of every source."""
    artists = np.asarray(artists, dtype=object)
    pool = np.asarray(test_pool, dtype=bool)
    by_stratum = artist_strata(artists[pool], None if strata is None else np.asarray(strata, dtype=object)[pool])
    groups = {s: artist_folds(names, folds=config.folds, seed=seed) for s, names in by_stratum.items()}
    rng = np.random.default_rng([seed, 1])
    out = []
    for k in range(config.folds):
        test_names, val_names = [], []
        for s, names in by_stratum.items():
            test_names += groups[s][k]
            val_names += _inner_val(names, set(groups[s][k]), config, rng)
        test = np.isin(artists, test_names)
        val = np.isin(artists, val_names) | (config.extra_role == "val") & ~pool
        out.append(Fold(k, np.flatnonzero(~test & ~val), np.flatnonzero(val), np.flatnonzero(test)))
    return out


def artist_strata(artists: np.ndarray, strata: np.ndarray | None) -> dict[str, list[str]]:
    """{stratum: its distinct artists, sorted}; an artist found in several strata belongs to its most
    frequent one (ties: the first in sorted order). strata None: one stratum of every artist."""
    if strata is None:
        return {"": sorted(set(artists.tolist()))}
    counts: dict[str, dict[str, int]] = {}
    for a, s in zip(artists.tolist(), strata.tolist()):
        counts.setdefault(a, {}).setdefault(str(s), 0)
        counts[a][str(s)] += 1
    out: dict[str, list[str]] = {}
    for a in sorted(counts):
        home = max(sorted(counts[a]), key=lambda s: counts[a][s])
        out.setdefault(home, []).append(a)
    return dict(sorted(out.items()))


def _inner_val(names: list[str], test_names: set[str], config: CrossValConfig, rng: np.random.Generator) -> list[str]:
    rest = [a for a in names if a not in test_names]
    n_val = max(2, round(config.inner_val_fraction * len(rest)))
    if len(rest) - n_val < 2:
        raise EngineError("too few artists outside the test fold for inner val and training; use fewer --folds")
    return rng.permutation(np.array(rest, dtype=object))[:n_val].tolist()


def transfer_fold(
    artists: np.ndarray, strata: np.ndarray, *, train_source: str, test_source: str, config: CrossValConfig, seed: int
) -> Fold:
    """Train (and inner val: `inner_val_fraction` of its artists) on one source alone, test on every painter
    of another; paintings of any other source take no part."""
    artists, strata = np.asarray(artists, dtype=object), np.asarray(strata, dtype=object)
    if train_source == test_source or not {train_source, test_source} <= set(strata.tolist()):
        raise EngineError(f"transfer needs two different sources among {sorted(set(strata.tolist()))}, "
                          f"got {train_source!r} -> {test_source!r}")
    names = sorted(set(artists[strata == train_source].tolist()))
    val_names = _inner_val(names, set(), config, np.random.default_rng([seed, 1]))
    home = strata == train_source
    val = home & np.isin(artists, val_names)
    test = (strata == test_source) & ~np.isin(artists, names)  # an artist of both sources never tests on what it trained
    return Fold(0, np.flatnonzero(home & ~val), np.flatnonzero(val), np.flatnonzero(test))


def embed(embedder: Embedder, data: FeatureSet, *, views: Sequence[int] = (0,)) -> np.ndarray:
    """Mean of the unit embeddings of the given views (test-time augmentation when several)."""
    total = None
    for v in views:
        e = l2_normalize(embedder(data.features[v]), dtype=np.float64)
        total = e if total is None else total + e
    return total / len(views)


def score_fold(
    val_emb: np.ndarray, val: FeatureSet, test_emb: np.ndarray, test: FeatureSet, *, config: CrossValConfig, seed: int,
    held_out: HeldOutPairs | None = None,
) -> tuple[dict, tuple[np.ndarray, np.ndarray]]:
    """All CV metrics of one fold: threshold and calibration from the val artists (pooled with the
    recipe's `held_out` pairs of its training artists when it has them), scored on the test artists.
    -> (row, (probability (P,), same (P,)) of the test pairs, for ece_over_folds).

    ece: of the anchored Platt rule `engine train` stores; ece_free: of a free Platt fit on the val pairs alone;
    band_coverage, band_accuracy: verify's uncertain band (fitted with that calibration) on the test pairs:
    the share answered same/different and the accuracy of those answers (engine.calibrate.band)."""
    val_pairs = fold_pairs(val, config, seed)
    cal = calibrate(val_emb, val_pairs, source="inner val", held_out=held_out)
    free = fit_calibration(cosine_scores(val_emb, val_pairs.i, val_pairs.j), val_pairs.same)
    pairs = fold_pairs(test, config, seed)
    scores = cosine_scores(test_emb, pairs.i, pairs.j)
    verification = verification_metrics(scores, pairs.same, threshold=cal.threshold)
    attribution = attribution_metrics(
        test_emb, test.artists, k=config.knn, fraction=config.enrol_fraction, seed=seed, groups=test.groups
    )
    retrieval = retrieval_metrics(test_emb, test.artists, groups=test.groups)
    prob = probability(scores, cal.calibration)
    band = band_rates(prob, pairs.same, cal.calibration.get("band"))
    return {
        "roc_auc": verification["roc_auc"], "accuracy": verification["accuracy"], "eer": verification["eer"],
        "triplet_accuracy": triplet_accuracy(test_emb, test.artists, n_triplets=config.triplets, seed=seed, groups=test.groups),
        "top1": attribution["top1"], "centroid_top1": attribution["centroid_top1"],
        "precision_at_1": retrieval["precision_at_1"], "map_at_r": retrieval["map_at_r"],
        "ece": expected_calibration_error(prob, pairs.same, bins=config.bins),
        "ece_free": expected_calibration_error(probability(scores, free), pairs.same, bins=config.bins),
        "band_coverage": band["coverage"], "band_accuracy": band["accuracy"],
    }, (prob, pairs.same)


def fold_pairs(data: FeatureSet, config: CrossValConfig, seed: int):
    """The balanced pairs a fold scores (config.pairs of them, the default per-artist cap)."""
    return draw_pairs(data.artists, data.groups, n_pairs=config.pairs, per_artist_cap=config.per_artist_cap, seed=seed)


def summarise(rows: Sequence[dict]) -> dict:
    """{metric: {"mean", "sd", "n"}} over fold rows (sd: sample sd, 0 for a single row); a metric
    some rows lack (None), such as ece_over_folds, is summarised over the rows that have it."""
    out = {}
    keys = list(dict.fromkeys(k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and k not in ("fold", "seed")))
    for key in keys:
        values = np.array([r[key] for r in rows if r.get(key) is not None], dtype=np.float64)
        sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        out[key] = {"mean": float(values.mean()), "sd": sd, "n": int(len(values))}
    return out


def cross_validate(
    data: FeatureSet,
    recipes: Sequence[Recipe],
    *,
    test_pool: np.ndarray | None = None,
    config: CrossValConfig = CrossValConfig(),
    seeds: Sequence[int] = (0,),
    eval_views: Sequence[int] = (0,),
    extra: Callable[[np.ndarray, FeatureSet, np.ndarray, FeatureSet, int], dict] | None = None,
    on_row: Callable[[str, dict], None] | None = None,
    by_source: bool = False,
    folds: Callable[[int], list[Fold]] | None = None,
    own_collection: bool = False,
) -> dict[str, list[dict]]:
    """{recipe name: one row of metrics per (seed, fold)}; `extra(val_emb, val, test_emb, test, seed)`
    adds columns (e.g. open-set attribution), `on_row(name, row)` reports progress.

    by_source: each source's test painters are also scored on their own ("<source>/<metric>" columns, with
    the fold's one threshold and calibration) and "mean/<metric>" is the mean over the sources.
    folds(seed): the folds to run (default: make_folds over `test_pool`).
    own_collection: also the "own_*" columns of benchmarks.crossval.own_collection (each test part's painters
    in two halves, the calibration refitted on one half and scored on the other)."""
    config.validate()
    if folds is None:
        if test_pool is None:
            raise EngineError("cross_validate needs a test pool or the folds")
        folds = lambda seed: make_folds(data.artists, test_pool, config=config, seed=seed)  # noqa: E731
    rows: dict[str, list[dict]] = {r.name: [] for r in recipes}
    for seed in seeds:
        pooled: dict[str, dict[str, list]] = {r.name: {} for r in recipes}
        for fold in folds(seed):
            train, val, test = data.take(fold.train), data.take(fold.val), data.take(fold.test)
            parts = _test_parts(test, by_source)
            for recipe in recipes:
                embedder = recipe.fit(train, val, seed=seed)
                val_emb, test_emb = embed(embedder, val, views=eval_views), embed(embedder, test, views=eval_views)
                held_out = getattr(embedder, "held_out", None)  # a HeadRecipe's cross-fitted calibration pairs
                row = {"seed": seed, "fold": fold.index}
                for prefix, idx in parts.items():
                    part, part_emb = (test, test_emb) if idx is None else (test.take(idx), test_emb[idx])
                    scores, scored_pairs = score_fold(val_emb, val, part_emb, part, config=config, seed=seed, held_out=held_out)
                    if extra is not None:
                        scores.update(extra(val_emb, val, part_emb, part, seed))
                    if own_collection:
                        scores.update(own_collection_scores(val_emb, val, part_emb, part, pairs=config.pairs, bins=config.bins,
                                                            seed=seed, held_out=held_out))
                    row.update({prefix + k: v for k, v in scores.items()})
                    pooled[recipe.name].setdefault(prefix, []).append(scored_pairs)
                if by_source:
                    row.update(source_mean(row, [p for p in parts if p]))
                rows[recipe.name].append(row)
                if on_row is not None:
                    on_row(recipe.name, row)
        for name, by_prefix in pooled.items():  # the seed's last row carries it: every test artist's pairs at once
            for prefix, scored in by_prefix.items():
                rows[name][-1][prefix + "ece_over_folds"] = ece_over_folds(scored, bins=config.bins)
            if by_source:
                rows[name][-1].update(source_mean(rows[name][-1], [p for p in by_prefix if p], keys=("ece_over_folds",)))
    return rows


def _test_parts(test: FeatureSet, by_source: bool) -> dict[str, np.ndarray | None]:
    """{column prefix: indices into the fold's test set}: "" is all of it (None); with by_source one
    "<source>/" part per source, in sorted order."""
    parts: dict[str, np.ndarray | None] = {"": None}
    if by_source:
        labels = test.source_labels()
        for source in sorted(set(labels.tolist())):
            parts[f"{source}/"] = np.flatnonzero(labels == source)
    return parts


def source_mean(row: dict, prefixes: Sequence[str], *, keys: Sequence[str] | None = None) -> dict:
    """{"mean/<metric>": mean over the source prefixes} of every metric each source has in `row`."""
    if not prefixes:
        return {}
    metrics = keys if keys is not None else [k[len(prefixes[0]):] for k in row if k.startswith(prefixes[0])]
    out = {}
    for metric in metrics:
        values = [row.get(p + metric) for p in prefixes]
        if all(isinstance(v, (int, float)) for v in values):
            out["mean/" + metric] = float(np.mean(values))
    return out


def ece_over_folds(parts: Sequence[tuple[np.ndarray, np.ndarray]], *, bins: int) -> float:
    """ECE of the (probability, same) pairs of every fold of a seed together: how far the stated
    probability is off over all test artists (each fold's own ECE sees 7 of them, whose spread
    around any one calibration adds to it)."""
    return expected_calibration_error(np.concatenate([p for p, _ in parts]), np.concatenate([y for _, y in parts]), bins=bins)
