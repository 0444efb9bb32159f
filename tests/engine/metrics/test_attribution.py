import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.metrics.attribution import attribution_metrics, enrol_split, rank_artists


def test_enrol_split_is_deterministic_disjoint_and_keeps_duplicates_together():
    labels = ["a"] * 6 + ["b"] * 4 + ["c"]
    groups = [str(k) for k in range(11)]
    groups[1] = groups[0]
    enrolled, queries = enrol_split(labels, seed=0, groups=groups)
    assert set(enrolled) | set(queries) == set(range(11)) and not set(enrolled) & set(queries)
    assert (0 in enrolled) == (1 in enrolled)
    assert 10 in enrolled  # c: single painting, distractor only
    lab = np.array(labels)
    assert sum(lab[queries] == "b") == 2 and sum(lab[enrolled] == "b") == 2
    assert np.array_equal(enrolled, enrol_split(labels, seed=0, groups=groups)[0])


def test_rank_artists_vote_rule_by_hand():
    # one query; gallery sims and artists: votes with k=3 -> a: .9, b: .8 + .7 = 1.5 -> b first
    sims = np.array([[0.9, 0.8, 0.7, 0.6, -0.2]])
    gallery = np.array(["a", "b", "b", "c", "d"], dtype=object)
    artists = np.array(["a", "b", "c", "d"], dtype=object)
    ranked = artists[rank_artists(sims, gallery, artists, k=3)[0]]
    assert list(ranked) == ["b", "a", "c", "d"]  # c, d have no vote: by best similarity
    assert list(artists[rank_artists(sims, gallery, artists, k=1)[0]]) == ["a", "b", "c", "d"]


def _brute(emb, labels, enrolled, queries, k, top):
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    top1 = topk = cen = 0
    artists = sorted(set(labels[enrolled]))
    for q in queries:
        sims = {g: unit[q] @ unit[g] for g in enrolled}
        near = sorted(enrolled, key=lambda g: -sims[g])[:k]
        score = {a: (sum(max(sims[g], 0) for g in near if labels[g] == a), max(sims[g] for g in enrolled if labels[g] == a)) for a in artists}
        order = sorted(artists, key=lambda a: score[a], reverse=True)
        top1 += order[0] == labels[q]
        topk += labels[q] in order[:top]
        cents = {a: unit[[g for g in enrolled if labels[g] == a]].mean(axis=0) for a in artists}
        cen += max(artists, key=lambda a: unit[q] @ cents[a] / np.linalg.norm(cents[a])) == labels[q]
    n = len(queries)
    return top1 / n, topk / n, cen / n


def test_metrics_match_brute_force():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 8, 90)
    labels = np.array([f"artist{c}" for c in codes], dtype=object)
    emb = rng.normal(size=(90, 8)) + 1.2 * np.eye(8)[codes]
    m = attribution_metrics(emb, labels, k=5, top=3, seed=2)
    enrolled, queries = enrol_split(labels, seed=2)
    top1, top3, cen = _brute(emb, labels, enrolled, queries, 5, 3)
    assert (m["top1"], m["top3"], m["centroid_top1"]) == pytest.approx((top1, top3, cen))
    assert 0 < m["top1"] <= m["top3"] <= 1
    assert m["queries"] == len(queries)


def test_perfect_clusters_and_errors():
    emb = np.repeat(np.eye(3), 4, axis=0) + 0.01 * np.arange(12)[:, None]
    labels = [c for c in "abc" for _ in range(4)]
    m = attribution_metrics(emb, labels)
    assert m["top1"] == m["top5"] == m["centroid_top1"] == 1.0
    with pytest.raises(EngineError):
        attribution_metrics(emb[:4], labels[:4])


@pytest.mark.parametrize("n, fraction, enrolled", [(4, 0.5, 2), (3, 0.9, 2), (5, 0.1, 1), (5, 0.5, 2), (7, 0.5, 4), (2, 0.5, 1)])
def test_enrol_split_counts_by_hand(n, fraction, enrolled):
    # round(fraction * n) kept within [1, n - 1]: at least one painting enrolled and one queried
    labels = ["a"] * n + ["b"] * 2
    got, queries = enrol_split(labels, fraction=fraction, seed=3)
    lab = np.array(labels)
    assert sum(lab[got] == "a") == enrolled and sum(lab[queries] == "a") == n - enrolled
    assert got.dtype == np.int64 and list(got) == sorted(got)


def test_enrol_split_depends_on_the_seed_and_enrols_a_lone_painting():
    labels = ["a"] * 10 + ["b"]
    splits = {tuple(enrol_split(labels, seed=s)[0].tolist()) for s in range(6)}
    assert len(splits) > 1
    enrolled, queries = enrol_split(labels, seed=0)
    assert 10 in enrolled and 10 not in queries
    same_painting = enrol_split(["a", "a"], groups=["g", "g"], seed=0)
    assert same_painting[0].tolist() == [0, 1] and same_painting[1].tolist() == []


def test_rank_artists_ties_and_k_beyond_the_gallery():
    sims = np.array([[0.5, 0.5, 0.9, -0.1], [0.2, 0.3, 0.1, 0.4]])
    gallery = np.array(["a", "b", "c", "c"], dtype=object)
    artists = np.array(["a", "b", "c"], dtype=object)
    # k = 10 > 4: every painting votes. Query 0: a .5, b .5, c .9 -> c, then a and b tie on votes and best: a, b
    # Query 1: c .1 + .4 = .5, b .3, a .2 -> c, b, a
    ranked = rank_artists(sims, gallery, artists, k=10)
    assert ranked.tolist() == [[2, 0, 1], [2, 1, 0]]
    negative = np.array([[-0.1, -0.3, -0.2]])
    assert rank_artists(negative, np.array(["a", "b", "c"], dtype=object), artists, k=3).tolist() == [[0, 2, 1]]  # no votes: by best


def test_metrics_count_queries_enrolled_and_artists_and_name_the_top_key():
    emb = np.repeat(np.eye(3), 4, axis=0) + 0.01 * np.arange(12)[:, None]
    labels = [c for c in "abc" for _ in range(4)] + ["d"]
    emb = np.vstack([emb, [[1.0, 1.0, 1.0]]])
    m = attribution_metrics(emb, labels, top=2, fraction=0.5, seed=1)
    assert m == {"top1": 1.0, "top2": 1.0, "centroid_top1": 1.0, "queries": 6, "enrolled": 7, "artists": 4}


def test_centroid_rule_by_hand():
    # the centroid rule against a loop over the queries and each artist's mean enrolled unit vector
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [1.0, -0.2], [1.0, -0.25]])
    labels = ["a", "a", "a", "b", "b"]
    groups = ["1", "2", "3", "4", "5"]
    enrolled, queries = enrol_split(labels, fraction=0.5, seed=0, groups=groups)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    lab = np.array(labels)
    cents = {a: unit[[g for g in enrolled if lab[g] == a]].mean(axis=0) for a in "ab"}
    want = np.mean([max("ab", key=lambda a: unit[q] @ cents[a] / np.linalg.norm(cents[a])) == lab[q] for q in queries])
    assert attribution_metrics(emb, labels, k=1, fraction=0.5, seed=0, groups=groups)["centroid_top1"] == want


def test_too_few_artists_is_one_message():
    with pytest.raises(EngineError) as info:
        attribution_metrics(np.eye(3), ["a", "a", "a"])
    assert str(info.value) == "attribution needs at least 2 artists and one artist with 2 distinct paintings"
    with pytest.raises(EngineError):
        attribution_metrics(np.eye(3), ["a", "b", "c"])  # every artist a distractor: no query


def test_votes_are_similarities_not_counts_and_ties_break_per_query():
    artists = np.array(["a", "b", "c"], dtype=object)
    gallery = np.array(["a", "b", "b", "c"], dtype=object)
    # query 0, k = 3: a .9 beats b .3 + .3 (counted votes would put b first)
    # query 1, k = 1: only c votes; a and b tie on no vote, b's best (.6) beats a's (.1) in this query
    sims = np.array([[0.9, 0.3, 0.3, 0.1], [0.1, 0.6, 0.2, 0.7]])
    assert rank_artists(sims[:1], gallery, artists, k=3).tolist() == [[0, 1, 2]]
    assert rank_artists(sims, gallery, artists, k=1).tolist() == [[0, 1, 2], [2, 1, 0]]


def test_the_kth_neighbour_is_the_kth_most_similar():
    artists = np.array(["a", "b", "c"], dtype=object)
    gallery = np.array(["c", "c", "a", "b", "c", "c"], dtype=object)
    sims = np.array([[0.1, 0.2, 0.9, 0.8, 0.05, 0.15]])
    assert rank_artists(sims, gallery, artists, k=2).tolist() == [[0, 1, 2]]  # a .9, b .8; c no vote


def test_metrics_use_the_documented_defaults_and_pass_fraction_and_groups_on():
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 6, 80)
    labels = [f"p{c}" for c in codes]
    emb = rng.normal(size=(80, 6)) + 0.9 * np.eye(6)[codes]
    assert attribution_metrics(emb, labels) == attribution_metrics(emb, labels, k=10, top=5, fraction=0.5, seed=0)
    assert attribution_metrics(emb, labels, k=10) != attribution_metrics(emb, labels, k=11)
    assert attribution_metrics(emb, labels, seed=0) != attribution_metrics(emb, labels, seed=1)
    quarter = attribution_metrics(emb, labels, fraction=0.25)
    assert quarter["enrolled"] == len(enrol_split(labels, fraction=0.25)[0])
    groups = [str(k // 2) for k in range(80)]  # pairs of files are one painting
    with_groups = attribution_metrics(emb, labels, groups=groups)
    assert with_groups["enrolled"] == len(enrol_split(labels, groups=groups)[0]) != attribution_metrics(emb, labels)["enrolled"]


def test_enrol_split_without_groups_treats_each_painting_as_its_own_and_defaults_to_seed_0():
    labels = ["a"] * 12 + ["b"] * 3
    groups = [str(k) for k in range(15)]
    for seed in range(4):
        assert all(np.array_equal(x, y) for x, y in zip(enrol_split(labels, seed=seed), enrol_split(labels, seed=seed, groups=groups)))
    assert all(np.array_equal(x, y) for x, y in zip(enrol_split(labels), enrol_split(labels, seed=0)))
    enrolled, queries = enrol_split([])
    assert enrolled.dtype == np.int64 and len(enrolled) == len(queries) == 0
