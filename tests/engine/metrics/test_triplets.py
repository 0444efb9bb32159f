import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.metrics.triplets import sample_triplets, triplet_accuracy


def test_triplets_are_valid():
    labels = np.array(["a"] * 5 + ["b"] * 3 + ["c"] * 1)
    groups = [str(k) for k in range(9)]
    groups[1] = "0"  # 0 and 1 duplicates: never each other's positive
    trip = sample_triplets(labels, n_triplets=500, seed=0, groups=groups)
    a, p, n = trip.T
    assert np.all(labels[a] == labels[p]) and np.all(a != p)
    assert np.all(labels[a] != labels[n])
    assert not np.any(np.isin(a, [0, 1]) & np.isin(p, [0, 1]))
    assert not np.any(a == 8)  # c has no positive


def test_sampling_is_uniform():
    labels = ["b"] * 4 + ["a"] * 3 + ["c"] * 5  # unsorted on purpose
    trip = sample_triplets(labels, n_triplets=60_000, seed=1)
    a, p, n = trip.T
    assert np.allclose(np.bincount(a, minlength=12) / len(a), 1 / 12, atol=0.005)
    pos_of_0 = np.bincount(p[a == 0], minlength=12)[[1, 2, 3]]
    assert np.allclose(pos_of_0 / pos_of_0.sum(), 1 / 3, atol=0.03)
    neg_of_0 = np.bincount(n[a == 0], minlength=12)[4:]
    assert np.allclose(neg_of_0 / neg_of_0.sum(), 1 / 8, atol=0.02)


def test_accuracy_matches_brute_force_on_hand_made_embedding():
    # two clusters on a line plus one misplaced "b" painting sitting inside cluster a
    emb = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [0.15]])
    labels = ["a", "a", "a", "b", "b", "b"]
    trip = sample_triplets(labels, n_triplets=2000, seed=0)
    expected = np.mean([abs(emb[x] - emb[y])[0] < abs(emb[x] - emb[z])[0] for x, y, z in trip])
    assert triplet_accuracy(emb, labels, n_triplets=2000, seed=0) == pytest.approx(expected)
    assert 0.3 < expected < 1.0
    separated = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    assert triplet_accuracy(separated, labels, n_triplets=300) == 1.0


def test_needs_two_artists():
    with pytest.raises(EngineError):
        triplet_accuracy(np.zeros((3, 2)), ["a"] * 3)
