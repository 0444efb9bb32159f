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


def test_ordered_fraction_by_hand_ties_fail():
    from engine.metrics.triplets import ordered_fraction

    emb = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, -1.0], [3.0, 4.0]])
    triplets = np.array([[0, 1, 2],   # 1 == 1: a tie fails
                         [0, 1, 3],   # 1 < 5
                         [1, 0, 3],   # 1 < sqrt(4 + 16)
                         [3, 2, 1]])  # sqrt(9 + 25) > sqrt(4 + 16): fails
    assert ordered_fraction(emb, triplets) == 0.5
    assert ordered_fraction(emb.astype(np.float32).tolist(), triplets[1:3]) == 1.0


def test_every_triplet_asked_for_comes_when_there_are_no_duplicates():
    labels = ["a"] * 3 + ["b"] * 2 + ["c"]
    trip = sample_triplets(labels, n_triplets=777, seed=5)
    assert trip.shape == (777, 3) and trip.dtype == np.int64
    assert set(trip[:, 0].tolist()) == {0, 1, 2, 3, 4}  # c (one painting) never anchors
    assert not np.array_equal(trip, sample_triplets(labels, n_triplets=777, seed=6))
    assert np.array_equal(trip, sample_triplets(labels, n_triplets=777, seed=5))


def test_an_artist_whose_paintings_are_one_duplicate_group_never_anchors():
    labels = ["a", "a", "a", "b", "b"]
    groups = ["g", "g", "g", "h", "i"]  # a's three files are one painting
    trip = sample_triplets(labels, n_triplets=300, seed=0, groups=groups)
    assert set(trip[:, 0].tolist()) == {3, 4} and len(trip) == 300
    assert set(trip[:, 2].tolist()) == {0, 1, 2}
    near_duplicates = ["a", "a", "a", "b", "b"]
    groups = ["g", "g", "x", "h", "h"]  # b's two files are one painting; a has 2 distinct ones
    trip = sample_triplets(near_duplicates, n_triplets=400, seed=1, groups=groups)
    assert set(trip[:, 0].tolist()) == {0, 1, 2}
    assert all({a, p} & {2} for a, p in trip[:, :2].tolist())  # never 0 with 1 (the same painting)
    assert len(trip) == 400  # positives that were the anchor's duplicate are drawn again


@pytest.mark.parametrize("labels, groups", [(["a", "a", "a"], None), ([], None), (["a", "a", "b"], ["g", "g", "h"])])
def test_too_few_artists_or_paintings_is_one_message(labels, groups):
    with pytest.raises(EngineError) as info:
        sample_triplets(labels, n_triplets=10, seed=0, groups=groups)
    assert str(info.value) == "triplets need at least 2 artists and one artist with 2 distinct paintings"


def test_distances_are_taken_in_float64_whatever_the_embedding_dtype():
    from engine.metrics.triplets import ordered_fraction

    emb = np.array([[100], [-100], [0]], dtype=np.int8)  # 100 - (-100) overflows int8
    assert ordered_fraction(emb, np.array([[0, 2, 1]])) == 1.0  # d(a, p) = 100 < d(a, n) = 200


def test_accuracy_uses_the_documented_defaults_and_the_duplicate_groups():
    from engine.metrics.triplets import ordered_fraction

    rng = np.random.default_rng(0)
    labels = [f"a{k % 3}" for k in range(30)]
    emb = rng.normal(size=(30, 4)) + 0.7 * np.eye(4)[[k % 3 for k in range(30)]]
    assert triplet_accuracy(emb, labels) == ordered_fraction(emb, sample_triplets(labels, n_triplets=5000, seed=0))
    # paintings 0 and 3 (artist a0) are one painting: identical vectors would always "win" as each other's positive
    groups = [str(k) for k in range(30)]
    groups[3] = "0"
    emb[3] = emb[0]
    want = ordered_fraction(emb, sample_triplets(labels, n_triplets=2000, seed=1, groups=groups))
    assert triplet_accuracy(emb, labels, n_triplets=2000, seed=1, groups=groups) == want
    assert want != ordered_fraction(emb, sample_triplets(labels, n_triplets=2000, seed=1))
