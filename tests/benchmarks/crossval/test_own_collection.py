"""Recalibration on a collection's own painters: halves, what each fit sees, and that a refit mends a bad transfer."""

from __future__ import annotations

import numpy as np
import pytest

import benchmarks.crossval.own_collection as own
from benchmarks.crossval.features import FeatureSet
from benchmarks.crossval.own_collection import artist_halves, own_collection_scores
from engine.base.vectors import l2_normalize


def painters(n: int, per: int, *, spread: float, seed: int, prefix: str) -> tuple[np.ndarray, FeatureSet]:
    """Unit embeddings, one cluster per painter (`spread` sets how alike one painter's works are)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n), per)
    emb = l2_normalize(rng.normal(size=(n, 32))[labels] + spread * rng.normal(size=(len(labels), 32)), dtype=np.float64)
    names = np.array([f"{prefix}{a}" for a in labels], dtype=object)
    groups = np.array([f"{prefix}:{i}" for i in range(len(labels))], dtype=object)
    data = FeatureSet(emb[None].astype(np.float32), names, groups, np.zeros(len(labels), int), [f"{prefix}{i}" for i in range(len(labels))])
    return emb, data


def test_artist_halves_split_the_painters_in_two_disjoint_halves_by_seed():
    artists = np.array([f"a{i % 7}" for i in range(70)], dtype=object)
    first, second = artist_halves(artists, seed=0)
    assert not (first & second).any() and (first | second).all()
    a, b = set(artists[first]), set(artists[second])
    assert not a & b and {len(a), len(b)} == {3, 4}
    again, _ = artist_halves(artists, seed=0)
    assert (again == first).all()
    assert any((artist_halves(artists, seed=s)[0] != first).any() for s in range(1, 6))


def test_too_few_painters_give_no_columns():
    val_emb, val = painters(6, 10, spread=0.8, seed=1, prefix="v")
    emb, part = painters(3, 10, spread=0.8, seed=2, prefix="t")
    assert own_collection_scores(val_emb, val, emb, part, pairs=200, bins=10, seed=0) == {}


def test_each_refit_sees_only_its_half_and_the_fold_fit_only_the_val_painters(monkeypatch):
    val_emb, val = painters(6, 10, spread=0.8, seed=1, prefix="v")
    emb, part = painters(8, 10, spread=0.8, seed=2, prefix="t")
    seen = []
    real = own.calibrate

    def spy(e, pairs, **kw):
        seen.append((kw["source"], set(kw["labels"].tolist()), len(e)))
        return real(e, pairs, **kw)

    monkeypatch.setattr(own, "calibrate", spy)
    out = own_collection_scores(val_emb, val, emb, part, pairs=300, bins=10, seed=0)
    assert [s for s, _, _ in seen] == ["inner val", "own painters", "own painters"]
    assert seen[0][1] == set(val.artists.tolist())
    first, second = artist_halves(part.artists, seed=0)
    assert [seen[1][1], seen[2][1]] == [set(part.artists[first].tolist()), set(part.artists[second].tolist())]
    assert {k for k in out} == {f"own_{m}{s}" for m in ("ece", "open_set_auroc", "known_correct", "unknown_correct")
                                for s in ("", "_before")}


def test_a_refit_on_the_collections_own_painters_mends_a_calibration_from_unlike_painters():
    # val painters paint alike within a painter far more than the collection's do: their threshold is too high
    val_emb, val = painters(8, 12, spread=0.3, seed=1, prefix="v")
    emb, part = painters(10, 12, spread=1.6, seed=2, prefix="t")
    out = own_collection_scores(val_emb, val, emb, part, pairs=600, bins=10, seed=0)
    assert out["own_ece"] < 0.5 * out["own_ece_before"]
    assert out["own_ece_before"] > 0.1
    assert 0.0 <= out["own_known_correct"] <= 1.0 and 0.0 <= out["own_open_set_auroc"] <= 1.0


@pytest.mark.parametrize("seed", [0, 3])
def test_the_columns_are_the_mean_of_both_directions(seed, monkeypatch):
    val_emb, val = painters(6, 10, spread=0.8, seed=1, prefix="v")
    emb, part = painters(8, 10, spread=0.8, seed=2, prefix="t")
    calls = []
    real = own._scores

    def spy(cal, e, data, *args, **kw):
        row = real(cal, e, data, *args, **kw)
        calls.append((kw["suffix"], row))
        return row

    monkeypatch.setattr(own, "_scores", spy)
    out = own_collection_scores(val_emb, val, emb, part, pairs=300, bins=10, seed=seed)
    after = [row for suffix, row in calls if suffix == ""]
    assert len(after) == 2
    assert out["own_ece"] == pytest.approx((after[0]["own_ece"] + after[1]["own_ece"]) / 2)
