import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.prepare.dedup import Candidate, duplicate_groups, hamming_pairs, resolve_duplicates


def brute_force(hashes, threshold):
    ints = [int(h) for h in hashes]
    return {(i, j) for i in range(len(ints)) for j in range(i + 1, len(ints))
            if bin(ints[i] ^ ints[j]).count("1") <= threshold}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=40), st.integers(0, 64), st.integers(0, 3))
def test_hamming_pairs_match_brute_force(values, threshold, flips):
    # add close relatives so that small thresholds find something
    values = values + [v ^ ((1 << flips) - 1) for v in values[:5]]
    hashes = np.array(values, dtype=np.uint64)
    assert set(hamming_pairs(hashes, threshold)) == brute_force(hashes, threshold)


def test_hamming_pairs_in_blocks(monkeypatch):
    import engine.prepare.dedup as dedup

    monkeypatch.setattr(dedup, "BLOCK_ELEMENTS", 7)
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, 60, dtype=np.uint64)
    hashes[10] = hashes[50] ^ np.uint64(0b101)
    assert set(hamming_pairs(hashes, 20)) == brute_force(hashes, 20)
    assert (10, 50) in set(hamming_pairs(hashes, 2))


def cand(sha, phash, artist="A", pixels=100, source=None):
    return Candidate(sha, f"{phash:016x}", artist, pixels, source or f"{sha}.jpg")


def test_groups_are_connected_components():
    items = [cand("a", 0b0), cand("b", 0b11), cand("c", 0b1111), cand("d", 2**64 - 1), cand("e", 2**64 - 1)]
    assert sorted(map(sorted, duplicate_groups(items, threshold=2))) == [[0, 1, 2], [3, 4]]
    assert duplicate_groups(items, threshold=-1) == []
    same_sha = [cand("a", 0), cand("a", 2**64 - 1)]
    assert duplicate_groups(same_sha, threshold=-1) == [[0, 1]]


def test_resolve_keeps_largest_copy_and_names_reasons():
    items = [cand("a", 0, pixels=100), cand("a", 0, pixels=100, source="z.jpg"), cand("b", 1, pixels=400), cand("c", 0xFFFF_FFFF_0000_0000)]
    drops = resolve_duplicates(items, threshold=4)
    assert drops == {0: ("near_duplicate", "copy of b.jpg"), 1: ("near_duplicate", "copy of b.jpg")}
    exact = resolve_duplicates(items[:2], threshold=4)
    assert exact == {1: ("duplicate", "copy of a.jpg")}


def test_conflicting_artists_drop_the_whole_group():
    items = [cand("a", 0, "Monet"), cand("b", 1, "Manet"), cand("c", 3, "Monet"), cand("d", 0xFFFF_FFFF_0000_0000, "Manet")]
    drops = resolve_duplicates(items, threshold=2)
    assert set(drops) == {0, 1, 2}
    assert {reason for reason, _ in drops.values()} == {"conflicting_duplicate"}
