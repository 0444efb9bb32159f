import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.base.errors import EngineError
from engine.prepare.split import (
    assert_artist_disjoint,
    cap_per_artist,
    rare_artists,
    split_artists,
    split_sizes,
    validate_fractions,
)

fractions = st.floats(0.0, 0.45)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), fractions, fractions)
def test_split_sizes(n, val, test):
    n_train, n_val, n_test = split_sizes(n, val_fraction=val, test_fraction=test)
    assert n_train + n_val + n_test == n and min(n_train, n_val, n_test) >= 0
    if n >= 1:
        assert n_train >= 1
    if n >= 3:
        assert (n_val >= 1) == (val > 0) and (n_test >= 1) == (test > 0)
    if n >= 20:
        assert abs(n_val - val * n) <= 1 and abs(n_test - test * n) <= 1


def test_35_artists_at_15_percent():
    assert split_sizes(35, val_fraction=0.15, test_fraction=0.15) == (25, 5, 5)


def test_split_deterministic_disjoint_and_stable():
    artists = [f"artist{i}" for i in range(30)]
    a = split_artists(artists, val_fraction=0.2, test_fraction=0.2, seed=1)
    assert a == split_artists(list(reversed(artists)) + artists[:3], val_fraction=0.2, test_fraction=0.2, seed=1)
    assert a != split_artists(artists, val_fraction=0.2, test_fraction=0.2, seed=2)
    assert sorted(a.values()).count("test") == 6 and set(a.values()) == {"train", "val", "test"}
    # the split is a function of the artist: reused rows can never straddle splits
    assert_artist_disjoint([x for x in artists for _ in range(3)], [a[x] for x in artists for _ in range(3)])


def test_three_artists_fill_every_split():
    assert sorted(split_artists(["a", "b", "c"], val_fraction=0.01, test_fraction=0.01, seed=0).values()) == [
        "test", "train", "val"]


def test_disjointness_violation_raises():
    with pytest.raises(AssertionError, match="both"):
        assert_artist_disjoint(["a", "b", "a"], ["train", "val", "test"])


def test_cap_per_artist_is_deterministic_subsample():
    artists = ["big"] * 10 + ["small"] * 2
    keys = [f"k{i}" for i in range(12)]
    over = cap_per_artist(artists, keys, max_per_artist=3, seed=0)
    assert len(over) == 7 and all(artists[i] == "big" for i in over)
    assert over == cap_per_artist(artists, keys, max_per_artist=3, seed=0)
    assert over != cap_per_artist(artists, keys, max_per_artist=3, seed=5)
    # the subsample depends on the items' keys, not on their order
    order = list(reversed(range(12)))
    over_reversed = cap_per_artist([artists[i] for i in order], [keys[i] for i in order], max_per_artist=3, seed=0)
    assert {keys[order[i]] for i in over_reversed} == {keys[i] for i in over}


def test_rare_artists():
    assert rare_artists(["a", "a", "b"], min_per_artist=2) == {"b"}


@pytest.mark.parametrize("val, test", [(-0.1, 0.1), (0.5, 0.5), (1.0, 0.0), (0.2, 0.9)])
def test_bad_fractions(val, test):
    with pytest.raises(EngineError):
        validate_fractions(val, test)
