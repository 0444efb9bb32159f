"""Artist-disjoint cross-validation: fold roles, metrics on generated clusters, the feature cache path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.base.errors import EngineError
from benchmarks.crossval.harness import CrossValConfig, cross_validate, ece_over_folds, embed, make_folds, summarise
from engine.train.crossfit import artist_folds
from benchmarks.crossval.features import FeatureSet, prepared_features
from benchmarks.crossval.recipes import MixRecipe, TrunkRecipe, mix


def clusters(artists: int, per_artist: int, *, dim: int = 16, spread: float = 0.3, seed: int = 0, collection: int = 0) -> FeatureSet:
    """One Gaussian cluster per artist; view 1 is view 0 plus noise (an 'augmentation')."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(artists, dim))
    labels = np.repeat(np.arange(artists), per_artist)
    clean = centres[labels] + spread * rng.normal(size=(len(labels), dim))
    feats = np.stack([clean, clean + 0.05 * rng.normal(size=clean.shape)]).astype(np.float32)
    names = np.array([f"c{collection} artist {a}" for a in labels], dtype=object)
    groups = np.array([f"{collection}:{i}" for i in range(len(labels))], dtype=object)
    return FeatureSet(feats, names, groups, np.full(len(labels), collection), [f"p{i}" for i in range(len(labels))])


def join(a: FeatureSet, b: FeatureSet) -> FeatureSet:
    return FeatureSet(
        np.concatenate([a.features, b.features], axis=1), np.concatenate([a.artists, b.artists]),
        np.concatenate([a.groups, b.groups]), np.concatenate([a.collection, b.collection]), a.paths + b.paths,
    )


def test_artist_folds_partition_the_artists_evenly_and_repeat_by_seed():
    names = [f"a{i}" for i in range(17)]
    folds = artist_folds(names * 3, folds=5, seed=3)
    assert sorted(sum(folds, [])) == sorted(names)
    assert {len(f) for f in folds} <= {3, 4}
    assert folds == artist_folds(names, folds=5, seed=3)
    assert folds != artist_folds(names, folds=5, seed=4)
    with pytest.raises(EngineError, match="fewer --folds"):
        artist_folds(names[:3], folds=5, seed=0)


def test_fold_roles_are_artist_disjoint_and_extra_painters_only_train():
    data = join(clusters(12, 4), clusters(9, 4, seed=1, collection=1))
    folds = make_folds(data.artists, data.collection == 0, config=CrossValConfig(folds=4), seed=0)
    tested = []
    for fold in folds:
        roles = [set(data.artists[idx]) for idx in (fold.train, fold.val, fold.test)]
        assert not (roles[0] & roles[1]) and not (roles[0] & roles[2]) and not (roles[1] & roles[2])
        assert len(fold.train) + len(fold.val) + len(fold.test) == len(data.artists)
        assert set(data.collection[fold.val]) == {0} and set(data.collection[fold.test]) == {0}
        assert set(data.artists[data.collection == 1]) <= roles[0]
        assert len(roles[1]) == 2  # 15% of the 9 non-test artists, at least 2
        tested += sorted(roles[2])
    assert sorted(tested) == sorted(set(data.artists[data.collection == 0]))  # each test artist once


class Spy(TrunkRecipe):
    """The trunk, remembering which artists each fit saw."""

    seen: list

    def fit(self, train, val, *, seed):
        self.seen.append((set(train.artists), set(val.artists)))
        return super().fit(train, val, seed=seed)


def test_cross_validate_never_fits_on_test_artists_and_scores_clusters_high():
    data = join(clusters(10, 6, spread=0.2), clusters(6, 6, seed=2, collection=1))
    spy = Spy("spy")
    object.__setattr__(spy, "seen", [])
    noise = FeatureSet(np.random.default_rng(5).normal(size=data.features.shape).astype(np.float32), *_meta(data))
    config = CrossValConfig(folds=3, pairs=400, triplets=500)
    rows = cross_validate(data, [spy], test_pool=data.collection == 0, config=config, seeds=(0, 1))["spy"]
    assert len(rows) == 6 and len(spy.seen) == 6
    for row, (train_seen, val_seen) in zip(rows, spy.seen):
        fold = make_folds(data.artists, data.collection == 0, config=config, seed=row["seed"])[row["fold"]]
        test_names = set(data.artists[fold.test])
        assert not (test_names & train_seen) and not (test_names & val_seen)
    summary = summarise(rows)
    assert summary["roc_auc"]["mean"] > 0.95 and summary["precision_at_1"]["mean"] > 0.9
    random_rows = cross_validate(noise, [TrunkRecipe("t")], test_pool=data.collection == 0, config=config)["t"]
    assert 0.35 < summarise(random_rows)["roc_auc"]["mean"] < 0.65
    assert 0 <= summary["ece"]["mean"] <= 1 and summary["eer"]["mean"] < 0.1


def _meta(fs):
    return fs.artists, fs.groups, fs.collection, fs.paths


def test_summarise_gives_mean_and_sample_sd():
    rows = [{"seed": 0, "fold": k, "roc_auc": v} for k, v in enumerate([0.6, 0.7, 0.9])]
    out = summarise(rows)["roc_auc"]
    values = [0.6, 0.7, 0.9]
    mean = sum(values) / 3
    assert out["mean"] == pytest.approx(mean)
    assert out["sd"] == pytest.approx((sum((v - mean) ** 2 for v in values) / 2) ** 0.5)
    assert out["n"] == 3


def test_embed_averages_unit_views_and_mix_weights_cosines():
    x = np.random.default_rng(0).normal(size=(3, 2, 5)).astype(np.float32)
    data = FeatureSet(x, np.array(["a", "b"], dtype=object), np.array(["0", "1"], dtype=object), np.zeros(2), ["p", "q"])
    e = embed(lambda f: 2 * f, data, views=(0, 2))
    unit = x / np.linalg.norm(x, axis=2, keepdims=True)
    np.testing.assert_allclose(e, (unit[0] + unit[2]) / 2, rtol=1e-6)
    a, b = unit[0], unit[1]
    m = mix(a, b, 0.3)
    np.testing.assert_allclose(m @ m.T, 0.3 * a @ a.T + 0.7 * b @ b.T, rtol=1e-6, atol=1e-7)


def test_mix_recipe_picks_the_informative_part():
    good = clusters(12, 5, spread=0.2)
    noise = np.random.default_rng(1).normal(size=good.features.shape).astype(np.float32)
    data = FeatureSet(np.concatenate([good.features, noise], axis=2), *_meta(good))
    recipe = MixRecipe("m", (TrunkRecipe("good", width=16), TrunkRecipe("all")), weights=(0.0, 1.0))
    fold = make_folds(data.artists, np.ones(len(data.artists), bool), config=CrossValConfig(folds=3), seed=0)[0]
    embedder = recipe.fit(data.take(fold.train), data.take(fold.val), seed=0)
    out = embedder(data.features[0, :4])
    assert out.shape == (4, 16 + 32)
    np.testing.assert_allclose(out[:, 16:], 0, atol=1e-7)  # w = 1: all weight on the clean part


def test_prepared_features_reads_every_split_once_and_reuses_the_cache(tmp_path):
    from train_kit import TINY, register_tiny, write_dataset

    from engine.model.network import NetworkConfig

    register_tiny()
    data_dir = write_dataset(tmp_path / "data", artists=4, per_artist=3, val_artists=1)
    network = NetworkConfig(backbone=TINY, weights="none")
    torch.manual_seed(0)  # random init: the same trunk both times
    first = prepared_features([data_dir], network, cache_dir=tmp_path / "cache", views=2)
    assert first.features.shape[:2] == (2, 12) and len(set(first.artists)) == 4
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(cached) == 2  # one file per view
    torch.manual_seed(0)
    again = prepared_features([data_dir], network, cache_dir=tmp_path / "cache", views=2)
    np.testing.assert_array_equal(first.features, again.features)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == cached


def test_ece_over_folds_pools_every_fold_and_is_summarised_per_seed():
    # pooled pairs fall in the bins of their own probability: two folds off in different bins stay off;
    # two folds in one bin, off by different amounts, average out
    low = (np.full(100, 0.3), np.arange(100) < 50)
    high = (np.full(100, 0.7), np.arange(100) < 50)
    assert ece_over_folds([low, high], bins=10) == pytest.approx(0.2)  # bins 3 and 7: |0.3-0.5|, |0.7-0.5|
    assert ece_over_folds([low, (np.full(100, 0.3), np.arange(100) < 30)], bins=10) == pytest.approx(0.1)
    rows = [{"seed": 0, "fold": 0, "ece": 0.1}, {"seed": 0, "fold": 1, "ece": 0.3, "ece_over_folds": 0.05},
            {"seed": 1, "fold": 0, "ece": 0.2}, {"seed": 1, "fold": 1, "ece": 0.2, "ece_over_folds": 0.07}]
    out = summarise(rows)
    assert out["ece"]["n"] == 4 and out["ece_over_folds"]["n"] == 2
    assert out["ece_over_folds"]["mean"] == pytest.approx(0.06)


def test_cross_validate_reports_ece_over_folds_on_each_seeds_last_row():
    rng = np.random.default_rng(0)
    artists = np.repeat([f"a{k}" for k in range(9)], 10).astype(object)
    centres = rng.standard_normal((9, 16))
    feats = (np.repeat(centres, 10, axis=0) + 0.7 * rng.standard_normal((90, 16)))[None].astype(np.float32)
    data = FeatureSet(feats, artists, np.array([f"g{k}" for k in range(90)], dtype=object), np.zeros(90, int),
                      [f"p{k}" for k in range(90)])
    rows = cross_validate(data, [TrunkRecipe("t")], test_pool=np.ones(90, bool),
                          config=CrossValConfig(folds=3, pairs=300, triplets=200), seeds=(0,))["t"]
    assert [("ece_over_folds" in r) for r in rows] == [False, False, True]
    assert 0 <= rows[-1]["ece_over_folds"] <= 1 and "probability" not in rows[0]


def test_extra_painters_can_join_every_inner_val_instead():
    data = join(clusters(12, 4), clusters(9, 4, seed=1, collection=1))
    extra = set(data.artists[data.collection == 1])
    plain = make_folds(data.artists, data.collection == 0, config=CrossValConfig(folds=4), seed=0)
    as_val = make_folds(data.artists, data.collection == 0, config=CrossValConfig(folds=4, extra_role="val"), seed=0)
    for a, b in zip(plain, as_val):
        assert np.array_equal(a.test, b.test)  # the same test artists
        assert set(data.artists[b.val]) == set(data.artists[a.val]) | extra
        assert set(data.artists[b.train]) == set(data.artists[a.train]) - extra
    with pytest.raises(EngineError, match="extra role"):
        CrossValConfig(extra_role="test").validate()


def test_a_head_recipe_cross_fits_its_calibration_as_engine_train_does():
    from benchmarks.crossval.recipes import HeadRecipe
    from engine.calibrate.held_out import HeldOutPairs
    from engine.model.network import NetworkConfig
    from engine.train.config import TrainConfig

    data = clusters(14, 6, dim=32)
    train, val = data.take(np.flatnonzero(np.isin(data.artists, np.unique(data.artists)[:10]))), \
        data.take(np.flatnonzero(np.isin(data.artists, np.unique(data.artists)[10:])))
    config = TrainConfig(network=NetworkConfig(embedding_dim=8), epochs=2, batch_size=16, val_pairs=200, val_triplets=100)
    embedder = HeadRecipe("h", config).fit(train, val, seed=0)
    assert isinstance(embedder.held_out, HeldOutPairs) and (embedder.held_out.artists, embedder.held_out.folds) == (10, 3)
    assert embedder(val.features[0]).shape == (len(val.artists), 8)
    plain = HeadRecipe("h0", TrainConfig(network=NetworkConfig(embedding_dim=8), epochs=2, batch_size=16, calibration_folds=0))
    assert not hasattr(plain.fit(train, val, seed=0), "held_out")


# --- threshold, calibration and ECE of a fold against references written here (tests/kits/calibration_reference_kit.py) ---

def _fold_set(emb: np.ndarray, names: np.ndarray, tag: str) -> FeatureSet:
    """A FeatureSet carrying the given embeddings as its only view (score_fold reads artists and groups)."""
    n = len(names)
    return FeatureSet(emb[None].astype(np.float32), names, np.array([f"{tag}{k}" for k in range(n)], dtype=object),
                      np.zeros(n, int), [f"{tag}{k}" for k in range(n)])


def _drawn(data: FeatureSet, config: CrossValConfig, seed: int):
    """The pairs the fold scores: the sampler is an input here, not what is checked."""
    from engine.metrics.pair_sampling import draw_pairs

    return draw_pairs(data.artists, data.groups, n_pairs=config.pairs, per_artist_cap=config.per_artist_cap, seed=seed)


def _reference_fold(val_emb, val, test_emb, test, *, config, seed, held_out=None) -> dict:
    """Threshold, anchored slope, test accuracy and ECE of a fold, by brute force: threshold and slope from the
    val pairs (pooled with the held-out pairs, each source half the weight, when given), scored on the test pairs."""
    from calibration_reference_kit import brute_slope, brute_threshold, hand_ece, pair_cosines, sigmoid

    vp, tp = _drawn(val, config, seed), _drawn(test, config, seed)
    s, y = pair_cosines(val_emb, vp.i, vp.j), vp.same
    w = np.ones(len(s))
    if held_out is not None:
        w = np.concatenate([np.full(len(s), 0.5 / len(s)), np.full(len(held_out.scores), 0.5 / len(held_out.scores))])
        s, y = np.concatenate([s, held_out.scores]), np.concatenate([y, held_out.same])
    t = brute_threshold(s, y, w)
    a = brute_slope(s, y, t, weights=w)
    ts = pair_cosines(test_emb, tp.i, tp.j)
    return {"threshold": t, "a": a, "accuracy": float(np.mean((ts >= t) == tp.same)),
            "ece": hand_ece(sigmoid(a * (ts - t)), tp.same, bins=config.bins), "test_scores": ts, "test_same": tp.same}


FOLD_CONFIG = CrossValConfig(folds=3, pairs=60, triplets=50, knn=3)


def _val_and_test(test_diff, test_margin):
    from calibration_reference_kit import constructed_embeddings

    val_emb, val_names = constructed_embeddings(4, 6, diff=(0.57, 0.63), margin=(0.18, 0.22), seed=1)  # same 0.75-0.85
    test_emb, test_names = constructed_embeddings(4, 6, diff=test_diff, margin=test_margin, seed=2, offset=10)
    return val_emb, _fold_set(val_emb, val_names, "v"), test_emb, _fold_set(test_emb, test_names, "t")


def test_score_fold_fits_threshold_and_calibration_on_val_pairs_not_test_pairs():
    """Val pairs: same 0.75-0.85, different 0.57-0.63; test pairs: same 0.35-0.45, different 0.17-0.23.
    The val threshold (~0.7) calls every test pair different (accuracy 0.5); one fit on the test pairs
    would separate them (accuracy 1)."""
    from benchmarks.crossval.harness import score_fold
    from calibration_reference_kit import brute_threshold

    val_emb, val, test_emb, test = _val_and_test((0.17, 0.23), (0.18, 0.22))
    row, (prob, same) = score_fold(val_emb, val, test_emb, test, config=FOLD_CONFIG, seed=0)
    ref = _reference_fold(val_emb, val, test_emb, test, config=FOLD_CONFIG, seed=0)
    leaked = brute_threshold(ref["test_scores"], ref["test_same"])
    assert 0.63 < ref["threshold"] < 0.75 and 0.23 < leaked < 0.35  # the two fits provably differ
    assert ref["accuracy"] == 0.5 and np.mean((ref["test_scores"] >= leaked) == ref["test_same"]) == 1.0
    assert row["accuracy"] == pytest.approx(ref["accuracy"])
    assert row["ece"] == pytest.approx(ref["ece"], abs=1e-4)
    np.testing.assert_array_equal(same, ref["test_same"])


def test_score_fold_ece_is_against_the_true_labels():
    """Test same-artist pairs (0.8-0.9) sit far above the val threshold, different ones (0.47-0.53) below:
    the true labels make the probabilities nearly right; inverted labels would make them nearly all wrong."""
    from benchmarks.crossval.harness import score_fold
    from calibration_reference_kit import hand_ece, sigmoid

    val_emb, val, test_emb, test = _val_and_test((0.47, 0.53), (0.33, 0.37))
    row, _ = score_fold(val_emb, val, test_emb, test, config=FOLD_CONFIG, seed=0)
    ref = _reference_fold(val_emb, val, test_emb, test, config=FOLD_CONFIG, seed=0)
    inverted = hand_ece(sigmoid(ref["a"] * (ref["test_scores"] - ref["threshold"])), ~ref["test_same"])
    assert ref["ece"] < 0.3 < inverted
    assert row["ece"] == pytest.approx(ref["ece"], abs=1e-4)
    assert row["accuracy"] == pytest.approx(ref["accuracy"]) == 1.0


def _held_out():
    """Held-out pairs: same 0.66-0.74, different 0.40-0.55, i.e. a best pooled cut between the val pairs'
    highest different cosine (< 0.63) and 0.66, below the val-only one (~0.69)."""
    from engine.calibrate.held_out import HeldOutPairs

    scores = np.concatenate([np.linspace(0.66, 0.74, 41), np.linspace(0.40, 0.55, 37)])
    return HeldOutPairs(scores, np.arange(len(scores)) < 41, artists=12, folds=3)


def test_score_fold_pools_the_recipes_held_out_pairs():
    """Test same pairs at 0.63-0.73: the pooled threshold (~0.645) calls most of them same, the val-only
    one (~0.69) about half; the ECE follows the pooled slope."""
    from benchmarks.crossval.harness import score_fold

    val_emb, val, test_emb, test = _val_and_test((0.47, 0.53), (0.16, 0.20))
    held_out = _held_out()
    row, _ = score_fold(val_emb, val, test_emb, test, config=FOLD_CONFIG, seed=0, held_out=held_out)
    pooled = _reference_fold(val_emb, val, test_emb, test, config=FOLD_CONFIG, seed=0, held_out=held_out)
    alone = _reference_fold(val_emb, val, test_emb, test, config=FOLD_CONFIG, seed=0)
    assert 0.63 < pooled["threshold"] < 0.66 < alone["threshold"]
    assert pooled["accuracy"] - alone["accuracy"] > 0.1 and abs(pooled["ece"] - alone["ece"]) > 0.05
    assert row["accuracy"] == pytest.approx(pooled["accuracy"])
    assert row["ece"] == pytest.approx(pooled["ece"], abs=1e-4)


def _weak_held_out():
    """Held-out pairs of heads that rank poorly (same 0.45-0.90, different 0.35-0.80): pooled with them,
    the slope drops and the test probabilities move towards 0.5."""
    from engine.calibrate.held_out import HeldOutPairs

    rng = np.random.default_rng(7)
    scores = np.concatenate([rng.uniform(0.45, 0.90, 41), rng.uniform(0.35, 0.80, 37)])
    return HeldOutPairs(scores, np.arange(len(scores)) < 41, artists=12, folds=3)


class _CarriesHeldOut:
    """A recipe whose embedder is the identity and, as a HeadRecipe's, carries cross-fitted held-out pairs."""

    name = "held"

    def fit(self, train, val, *, seed):
        def embedder(features):
            return features

        embedder.held_out = _weak_held_out()
        return embedder


def test_cross_validate_passes_the_embedders_held_out_pairs_to_each_fold():
    from calibration_reference_kit import constructed_embeddings

    emb, names = constructed_embeddings(9, 5, diff=(0.57, 0.63), margin=(0.18, 0.22), seed=3)
    data = _fold_set(emb, names, "p")
    pool = np.ones(len(names), bool)
    rows = cross_validate(data, [_CarriesHeldOut()], test_pool=pool, config=FOLD_CONFIG, seeds=(0,))["held"]
    assert len(rows) == 3
    for row in rows:
        fold = make_folds(data.artists, pool, config=FOLD_CONFIG, seed=0)[row["fold"]]
        val, test = data.take(fold.val), data.take(fold.test)
        args = (val.features[0].astype(np.float64), val, test.features[0].astype(np.float64), test)
        pooled = _reference_fold(*args, config=FOLD_CONFIG, seed=0, held_out=_weak_held_out())
        alone = _reference_fold(*args, config=FOLD_CONFIG, seed=0)
        assert pooled["a"] < alone["a"] / 2 and pooled["ece"] - alone["ece"] > 0.05  # the held-out pairs make a difference here
        assert row["ece"] == pytest.approx(pooled["ece"], abs=1e-4)


# --- what cross_validate hands to the recipe, the embedder, `extra` and `on_row`; config checks; summarise edges ---

class _Recorder:
    """A recipe whose embedder is the identity; it remembers the seed of each fit and every array it embeds."""

    name = "rec"

    def __init__(self):
        self.seeds, self.embedded = [], []

    def fit(self, train, val, *, seed):
        self.seeds.append(seed)

        def embedder(features):
            self.embedded.append(np.array(features))
            return features

        return embedder


def _two_view_data():
    data = clusters(9, 5, spread=0.3)
    flipped = data.features.copy()
    flipped[1] = -flipped[0] + 0.3 * np.random.default_rng(4).normal(size=flipped[0].shape)  # view 1 far from view 0
    return FeatureSet(flipped.astype(np.float32), *_meta(data))


def test_cross_validate_hands_seed_views_extra_and_progress_their_arguments():
    data = _two_view_data()
    pool = np.ones(len(data.artists), bool)
    config = CrossValConfig(folds=3, pairs=60, triplets=50, knn=3)
    recorder, extras, reported = _Recorder(), [], []

    def extra(val_emb, val, test_emb, test, seed):
        extras.append((val_emb, val, test_emb, test, seed))
        return {"extra_column": 1000 * seed + len(test.artists)}

    rows = cross_validate(data, [recorder], test_pool=pool, config=config, seeds=(3, 4), eval_views=(0, 1), extra=extra,
                          on_row=lambda name, row: reported.append((name, dict(row))))["rec"]
    assert recorder.seeds == [3, 3, 3, 4, 4, 4]
    assert len(recorder.embedded) == 4 * 6  # two views of val and of test, each fold
    assert [(name, row["fold"], row["seed"]) for name, row in reported] == [("rec", r["fold"], r["seed"]) for r in rows]
    assert all(row["extra_column"] == 1000 * row["seed"] + len(e[3].artists) for row, e in zip(rows, extras))
    for k, (row, (val_emb, val, test_emb, test, seed)) in enumerate(zip(rows, extras)):
        fold = make_folds(data.artists, pool, config=config, seed=row["seed"])[row["fold"]]
        assert seed == row["seed"] and list(val.artists) == list(data.artists[fold.val])
        assert list(test.artists) == list(data.artists[fold.test])
        for emb, part, calls in ((val_emb, data.take(fold.val), recorder.embedded[4 * k:4 * k + 2]),
                                 (test_emb, data.take(fold.test), recorder.embedded[4 * k + 2:4 * k + 4])):
            np.testing.assert_array_equal(calls[0], part.features[0])
            np.testing.assert_array_equal(calls[1], part.features[1])
            unit = part.features.astype(np.float64) / np.linalg.norm(part.features.astype(np.float64), axis=2, keepdims=True)
            np.testing.assert_allclose(emb, (unit[0] + unit[1]) / 2, rtol=1e-12)  # float64 mean of both unit views
            assert emb.dtype == np.float64


def _free_platt(scores, same):
    """argmin over (a, b) of the NLL of sigmoid(a s + b) with Platt's smoothed targets (scipy, not the product's Newton)."""
    from scipy.optimize import minimize

    from calibration_reference_kit import platt_smoothed

    t = platt_smoothed(same)

    def nll(theta):
        z = theta[0] * scores + theta[1]
        return float(np.sum(t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z)))

    return minimize(nll, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}).x


def _noisy_with_twins(seed=5):
    """6 artists of 8 paintings whose same- and different-artist cosines overlap (0.55-0.80 and 0.55-0.70, around
    the val threshold), the first 4 of each duplicated (same vector, same group): the duplicate groups and the
    config's knobs all change the metrics here."""
    from calibration_reference_kit import constructed_embeddings

    emb, names = constructed_embeddings(6, 8, diff=(0.55, 0.7), margin=(0.0, 0.1), seed=seed, offset=10)
    base = _fold_set(emb, names, "t")
    twins = np.flatnonzero(np.arange(len(base.artists)) % 8 < 4)
    idx = np.concatenate([np.arange(len(base.artists)), twins])
    return base.take(idx)


def test_score_fold_passes_the_configs_knobs_and_the_duplicate_groups_to_every_metric():
    from benchmarks.crossval.harness import score_fold
    from calibration_reference_kit import hand_ece, pair_cosines
    from engine.metrics.attribution import attribution_metrics
    from engine.metrics.pair_sampling import draw_pairs
    from engine.metrics.retrieval import retrieval_metrics
    from engine.metrics.triplets import triplet_accuracy

    config = CrossValConfig(folds=3, pairs=80, triplets=60, knn=2, enrol_fraction=0.3, bins=4, per_artist_cap=5)
    val_emb, val, _, _ = _val_and_test((0.17, 0.23), (0.18, 0.22))
    test = _noisy_with_twins()
    test_emb = test.features[0].astype(np.float64)
    row, _ = score_fold(val_emb, val, test_emb, test, config=config, seed=2)
    again, _ = score_fold(val_emb, val, test_emb, test, config=config, seed=2)
    assert row == again  # reproducible: every random draw is seeded
    assert set(row) == set(METRICS_OF_A_FOLD)
    # the metrics (each checked against sklearn / brute force in tests/engine/metrics) with the config's arguments
    attribution = attribution_metrics(test_emb, test.artists, k=2, fraction=0.3, seed=2, groups=test.groups)
    retrieval = retrieval_metrics(test_emb, test.artists, groups=test.groups)
    triplets = triplet_accuracy(test_emb, test.artists, n_triplets=60, seed=2, groups=test.groups)
    assert (row["top1"], row["centroid_top1"]) == (attribution["top1"], attribution["centroid_top1"])
    assert (row["precision_at_1"], row["map_at_r"]) == (retrieval["precision_at_1"], retrieval["map_at_r"])
    assert row["triplet_accuracy"] == triplets
    # ... and those arguments make a difference on this data, so a dropped one would show
    wrong_attribution = [attribution_metrics(test_emb, test.artists, **kw) for kw in (
        dict(fraction=0.3, seed=2, groups=test.groups), dict(k=2, seed=2, groups=test.groups), dict(k=2, fraction=0.3, seed=2))]
    assert all((w["top1"], w["centroid_top1"]) != (attribution["top1"], attribution["centroid_top1"]) for w in wrong_attribution)
    assert retrieval_metrics(test_emb, test.artists)["precision_at_1"] > retrieval["precision_at_1"]  # twins find each other
    assert retrieval_metrics(test_emb, test.artists)["map_at_r"] != retrieval["map_at_r"]
    assert triplet_accuracy(test_emb, test.artists, seed=2, groups=test.groups) != triplets
    assert triplet_accuracy(test_emb, test.artists, n_triplets=60, seed=2) != triplets
    # ECE of both calibrations in 4 bins over the test pairs drawn with the cap of 5 and the groups
    ref = _reference_fold(val_emb, val, test_emb, test, config=config, seed=2)
    assert row["ece"] == pytest.approx(ref["ece"], abs=1e-4)
    anchored = 1 / (1 + np.exp(-ref["a"] * (ref["test_scores"] - ref["threshold"])))
    assert abs(hand_ece(anchored, ref["test_same"], bins=10) - ref["ece"]) > 1e-3
    vp = draw_pairs(val.artists, val.groups, n_pairs=80, per_artist_cap=5, seed=2)
    a, b = _free_platt(pair_cosines(val_emb, vp.i, vp.j), vp.same)
    free_ece = hand_ece(1 / (1 + np.exp(-(a * ref["test_scores"] + b))), ref["test_same"], bins=4)
    assert row["ece_free"] == pytest.approx(free_ece, abs=1e-4)
    assert abs(hand_ece(1 / (1 + np.exp(-(a * ref["test_scores"] + b))), ref["test_same"], bins=10) - free_ece) > 1e-3
    uncapped = draw_pairs(test.artists, test.groups, n_pairs=80, per_artist_cap=0, seed=2)
    no_groups = draw_pairs(test.artists, None, n_pairs=80, per_artist_cap=5, seed=2)
    assert len(uncapped.i) > len(ref["test_same"]) and bool(np.any(test.groups[no_groups.i] == test.groups[no_groups.j]))


METRICS_OF_A_FOLD = ("roc_auc", "accuracy", "eer", "triplet_accuracy", "top1", "centroid_top1", "precision_at_1",
                     "map_at_r", "ece", "ece_free", "band_coverage", "band_accuracy")


def test_ece_over_folds_uses_the_given_bins():
    from calibration_reference_kit import hand_ece

    rng = np.random.default_rng(0)
    parts = [(rng.uniform(size=50), rng.uniform(size=50) < 0.6) for _ in range(2)]
    pooled = (np.concatenate([p for p, _ in parts]), np.concatenate([y for _, y in parts]))
    assert ece_over_folds(parts, bins=3) == pytest.approx(hand_ece(*pooled, bins=3))
    assert abs(hand_ece(*pooled, bins=3) - hand_ece(*pooled, bins=10)) > 1e-3


def test_make_folds_sizes_the_inner_val_by_fraction_and_refuses_too_few_training_artists():
    names = np.repeat([f"a{k}" for k in range(12)], 2).astype(object)
    pool = np.ones(len(names), bool)
    for fold in make_folds(names, pool, config=CrossValConfig(folds=4, inner_val_fraction=0.5), seed=0):
        assert len(set(names[fold.val])) == 4 and len(set(names[fold.train])) == 5  # round(0.5 * 9) = round(4.5) = 4
    six = names[:12]  # 6 artists, 3 folds: 4 others, 2 val, exactly 2 train
    for fold in make_folds(six, pool[:12], config=CrossValConfig(folds=3), seed=0):
        assert len(set(six[fold.train])) == 2 and len(set(six[fold.val])) == 2
    with pytest.raises(EngineError, match=r"^too few artists outside the test fold for inner val and training; use fewer --folds$"):
        make_folds(names[:8], pool[:8], config=CrossValConfig(folds=2), seed=0)  # 4 artists: 2 others, all needed for val


def test_make_folds_reads_a_0_1_test_pool_as_a_mask():
    data = join(clusters(12, 4), clusters(9, 4, seed=1, collection=1))
    as_bool = make_folds(data.artists, data.collection == 0, config=CrossValConfig(folds=4, extra_role="val"), seed=0)
    as_int = make_folds(data.artists, (data.collection == 0).astype(int), config=CrossValConfig(folds=4, extra_role="val"), seed=0)
    for a, b in zip(as_bool, as_int):
        assert all(np.array_equal(x, y) for x, y in ((a.train, b.train), (a.val, b.val), (a.test, b.test)))


def test_summarise_skips_seed_fold_and_text_and_gives_sd_0_for_one_row():
    rows = [{"seed": 0, "fold": 0, "recipe": "t", "roc_auc": 0.7}]
    assert summarise(rows) == {"roc_auc": {"mean": 0.7, "sd": 0.0, "n": 1}}
    two = summarise(rows + [{"seed": 1, "fold": 1, "recipe": "t", "roc_auc": 0.9}])["roc_auc"]
    assert two["sd"] == pytest.approx(0.2 / 2 ** 0.5) and two["n"] == 2


@pytest.mark.parametrize("field, good, bad, message", [
    ("folds", 2, 1, r"^--folds must be >= 2, got 1$"),
    ("inner_val_fraction", 0.99, 1.0, r"^inner val fraction must be in \(0, 1\), got 1.0$"),
    ("inner_val_fraction", 0.01, 0.0, r"^inner val fraction must be in \(0, 1\), got 0.0$"),
    ("extra_role", "val", "test", r"^extra role must be train or val, got 'test'$"),
])
def test_config_validation_bounds(field, good, bad, message):
    assert CrossValConfig(**{field: good}).validate() == CrossValConfig(**{field: good})
    with pytest.raises(EngineError, match=message):
        CrossValConfig(**{field: bad}).validate()


def test_score_fold_reports_the_uncertain_band_on_the_test_pairs():
    """band_coverage and band_accuracy: the band fitted with the fold's calibration, applied to its test pairs."""
    from benchmarks.crossval.harness import score_fold
    from engine.calibrate.band import band_rates
    from engine.calibrate.fit import calibrate

    val_emb, val, test_emb, test = _val_and_test((0.47, 0.53), (0.16, 0.20))
    row, (prob, same) = score_fold(val_emb, val, test_emb, test, config=FOLD_CONFIG, seed=0)
    band = calibrate(val_emb, _drawn(val, FOLD_CONFIG, 0), source="inner val").calibration["band"]
    want = band_rates(prob, same, band)
    assert (row["band_coverage"], row["band_accuracy"]) == (want["coverage"], want["accuracy"])
    assert 0 < row["band_coverage"] <= 1


# --- folds over several sources: stratified by source, scored per source (issue 28) ---

def _two_sources(seed: int = 0) -> FeatureSet:
    """Source "a": 10 tight artists; source "b": 20 loose artists (a harder source, so per-source numbers differ)."""
    a, b = clusters(10, 5, spread=0.2, seed=seed), clusters(20, 5, spread=1.2, seed=seed + 1, collection=1)
    data = join(a, b)
    return FeatureSet(data.features, data.artists, data.groups, np.zeros(len(data.artists), int), data.paths,
                      np.where(data.collection == 0, "a", "b").astype(object))


def test_stratified_folds_test_every_source_in_every_fold_and_each_artist_once():
    data = _two_sources()
    sources = data.source_labels()
    config = CrossValConfig(folds=5)
    folds = make_folds(data.artists, np.ones(len(data.artists), bool), config=config, seed=3, strata=sources)
    tested = {"a": [], "b": []}
    for fold in folds:
        roles = [set(data.artists[idx]) for idx in (fold.train, fold.val, fold.test)]
        assert not (roles[0] & roles[1]) and not (roles[0] & roles[2]) and not (roles[1] & roles[2])
        assert len(fold.train) + len(fold.val) + len(fold.test) == len(data.artists)
        for s, total in (("a", 10), ("b", 20)):
            test_s = set(data.artists[fold.test][sources[fold.test] == s])
            val_s = set(data.artists[fold.val][sources[fold.val] == s])
            assert len(test_s) == total // 5  # every source cut into the 5 folds on its own
            assert len(val_s) == max(2, round(0.15 * (total - total // 5)))  # each source's share of inner val
            tested[s] += sorted(test_s)
    for s in "ab":
        assert sorted(tested[s]) == sorted(set(data.artists[sources == s]))
    # brute force: with one stratum the folds are those of the unstratified cut
    plain = make_folds(data.artists, np.ones(len(data.artists), bool), config=config, seed=3)
    one = make_folds(data.artists, np.ones(len(data.artists), bool), config=config, seed=3, strata=np.full(len(sources), "x"))
    for p, o in zip(plain, one):
        assert all(np.array_equal(getattr(p, r), getattr(o, r)) for r in ("train", "val", "test"))


def test_an_artist_in_two_sources_belongs_to_its_most_frequent_one():
    from benchmarks.crossval.harness import artist_strata

    artists = np.array(["x", "x", "x", "y", "z", "z"], dtype=object)
    strata = np.array(["a", "b", "b", "a", "a", "b"], dtype=object)
    assert artist_strata(artists, strata) == {"a": ["y", "z"], "b": ["x"]}  # z: a tie, the first source in order
    assert artist_strata(artists, None) == {"": ["x", "y", "z"]}


def test_transfer_fold_trains_on_one_source_and_tests_on_all_of_the_other():
    from benchmarks.crossval.harness import transfer_fold

    data = _two_sources()
    sources = data.source_labels()
    fold = transfer_fold(data.artists, sources, train_source="a", test_source="b", config=CrossValConfig(), seed=0)
    assert set(sources[fold.train]) == set(sources[fold.val]) == {"a"} and set(sources[fold.test]) == {"b"}
    assert len(fold.test) == np.sum(sources == "b") and len(fold.train) + len(fold.val) == np.sum(sources == "a")
    assert len(set(data.artists[fold.val])) == 2 and not set(data.artists[fold.val]) & set(data.artists[fold.train])
    with pytest.raises(EngineError, match="two different sources"):
        transfer_fold(data.artists, sources, train_source="a", test_source="a", config=CrossValConfig(), seed=0)


def _brute_auc(scores: np.ndarray, same: np.ndarray) -> float:
    pos, neg = scores[same], scores[~same]
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def test_by_source_scores_each_sources_test_painters_alone_with_the_folds_one_calibration():
    from benchmarks.crossval.harness import score_fold
    from calibration_reference_kit import pair_cosines

    data = _two_sources()
    sources = data.source_labels()
    config = CrossValConfig(folds=2, pairs=300, triplets=200, knn=3)
    pool = np.ones(len(data.artists), bool)
    rows = cross_validate(data, [TrunkRecipe("t")], test_pool=pool, config=config, by_source=True,
                          folds=lambda seed: make_folds(data.artists, pool, config=config, seed=seed, strata=sources))["t"]
    assert len(rows) == 2
    for row in rows:
        fold = make_folds(data.artists, pool, config=config, seed=0, strata=sources)[row["fold"]]
        val, test = data.take(fold.val), data.take(fold.test)
        val_emb = embed(lambda x: x, val)  # the trunk recipe's unit embeddings
        for s in "ab":
            part = test.take(np.flatnonzero(test.source_labels() == s))
            emb = embed(lambda x: x, part)
            pairs = _drawn(part, config, 0)
            assert row[f"{s}/roc_auc"] == pytest.approx(_brute_auc(pair_cosines(emb, pairs.i, pairs.j), pairs.same), abs=1e-9)
            alone, _ = score_fold(val_emb, val, emb, part, config=config, seed=0)  # the fold's val of both sources calibrates
            assert {k: row[f"{s}/{k}"] for k in alone} == pytest.approx(alone)
        for metric in ("roc_auc", "precision_at_1", "ece"):
            assert row[f"mean/{metric}"] == pytest.approx((row[f"a/{metric}"] + row[f"b/{metric}"]) / 2)
        assert row["a/roc_auc"] - row["b/roc_auc"] > 0.05  # the tight source scores apart from the loose one
    last = rows[-1]
    assert {"ece_over_folds", "a/ece_over_folds", "b/ece_over_folds"} <= set(last)
    assert last["mean/ece_over_folds"] == pytest.approx((last["a/ece_over_folds"] + last["b/ece_over_folds"]) / 2)
    summary = summarise(rows)
    assert summary["mean/roc_auc"]["n"] == 2 and "a/roc_auc" in summary


def test_cross_validate_adds_the_own_collection_columns_to_every_test_part_when_asked():
    data = join(clusters(12, 6, spread=0.4), clusters(12, 6, seed=2, collection=1, spread=0.4))
    pool = np.ones(len(data.artists), bool)
    folds = lambda seed: make_folds(data.artists, pool, config=config, seed=seed, strata=data.source_labels())  # noqa: E731
    config = CrossValConfig(folds=2, pairs=300, triplets=300)
    plain = cross_validate(data, [TrunkRecipe("t")], folds=folds, config=config, by_source=True)["t"]
    rows = cross_validate(data, [TrunkRecipe("t")], folds=folds, config=config, by_source=True, own_collection=True)["t"]
    for row, before in zip(rows, plain):
        for prefix in ("", "0/", "1/", "mean/"):
            assert 0 <= row[prefix + "own_ece"] <= 1 and 0 <= row[prefix + "own_ece_before"] <= 1
        assert {k: v for k, v in row.items() if "own_" not in k} == before  # the other columns are untouched
    assert not any("own_" in k for k in plain[0])
