import numpy as np
import pytest

from engine.metrics.retrieval import retrieval_metrics
from require_kit import require_module


def _brute(emb, labels, groups):
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    p1, aps = [], []
    for q in range(len(labels)):
        gallery = [g for g in range(len(labels)) if groups[g] != groups[q]]
        ranked = sorted(gallery, key=lambda g: -unit[q] @ unit[g])
        rel = [labels[g] == labels[q] for g in ranked]
        r = sum(rel)
        if r == 0:
            continue
        p1.append(float(rel[0]))
        aps.append(sum(sum(rel[: i + 1]) / (i + 1) for i in range(r) if rel[i]) / r)
    return np.mean(p1), np.mean(aps)


def test_matches_brute_force_with_duplicates_and_singletons():
    rng = np.random.default_rng(0)
    labels = [f"a{k % 4}" for k in range(37)] + ["lonely"]
    emb = rng.normal(size=(38, 5)) + 0.8 * np.eye(5)[[k % 4 for k in range(37)] + [4]]
    groups = [str(k) for k in range(38)]
    groups[5] = groups[1]  # a duplicate pair by the same artist
    m = retrieval_metrics(emb, labels, groups=groups, chunk=7)
    p1, mapr = _brute(emb, labels, groups)
    assert m["precision_at_1"] == pytest.approx(p1)
    assert m["map_at_r"] == pytest.approx(mapr)
    assert m["queries"] == 37


@pytest.mark.parametrize("seed", range(5))
def test_artists_of_two_paintings_each_match_brute_force(seed):
    """R = 1 for every query: only the single nearest painting counts (the partition's first rank)."""
    rng = np.random.default_rng(seed)
    labels = [f"a{k // 2}" for k in range(40)]
    emb = rng.normal(size=(40, 6))
    m = retrieval_metrics(emb, labels)
    p1, mapr = _brute(emb, labels, list(range(40)))
    assert (m["precision_at_1"], m["map_at_r"]) == (pytest.approx(p1), pytest.approx(mapr))


def test_one_artist_only_is_perfect():
    """Every other painting is relevant (R = N - 1, the widest partition): P@1 = MAP@R = 1."""
    emb = np.random.default_rng(1).normal(size=(6, 4))
    assert retrieval_metrics(emb, ["a"] * 6) == {"precision_at_1": 1.0, "map_at_r": 1.0, "queries": 6}


def test_a_query_without_relevant_paintings_warns_nothing():
    """A singleton artist (R = 0) is skipped silently: no 0/0 RuntimeWarning reaches the caller."""
    import warnings

    emb = np.random.default_rng(2).normal(size=(5, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = retrieval_metrics(emb, ["a", "a", "b", "b", "lonely"])
    assert m["queries"] == 4


def test_hand_made_map_at_r():
    # query 0 (artist a, R=2): ranking a, b, a -> AP@R = (1/1 + 0) / 2 = 0.5
    emb = np.array([[1.0, 0.0], [0.99, 0.14], [0.9, 0.44], [0.0, 1.0]])
    labels = ["a", "a", "b", "a"]
    m = retrieval_metrics(emb[[0, 1, 2, 3]], labels)
    p1, mapr = _brute(emb, labels, list(range(4)))
    assert m["map_at_r"] == pytest.approx(mapr)
    assert m["precision_at_1"] == pytest.approx(p1)


def test_hand_made_ranks_with_a_duplicate_and_a_query_left_without_relevant_paintings():
    # 0, 1: artist a, one painting scanned twice (group g); 2: a; 3, 4: b; 5: c alone
    emb = np.array([[1.0, 0.0], [1.0, 0.01], [0.6, 0.8], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    labels = ["a", "a", "a", "b", "b", "c"]
    groups = ["g", "g", "x", "y", "z", "w"]
    # c (alone) has no query; 0 and 1 never see each other; chunks of 1 and 2 split the queries unevenly
    m = retrieval_metrics(emb, labels, groups=groups, chunk=2)
    p1, mapr = _brute(emb, labels, groups)
    assert (m["precision_at_1"], m["map_at_r"], m["queries"]) == pytest.approx((p1, mapr, 5))
    assert m == retrieval_metrics(emb, labels, groups=groups, chunk=1) == retrieval_metrics(emb, labels, groups=groups)


@pytest.mark.parametrize("labels, groups", [(["a", "b", "c"], None), (["a", "a", "b"], ["g", "g", "h"])])
def test_no_artist_with_two_distinct_paintings_is_one_message(labels, groups):
    from engine.base.errors import EngineError

    with pytest.raises(EngineError) as info:
        retrieval_metrics(np.eye(3), labels, groups=groups)
    assert str(info.value) == "retrieval needs an artist with at least 2 distinct paintings"


def test_unnormalised_and_integer_embeddings_rank_by_cosine():
    emb = np.array([[10, 0], [1, 1], [0, 3], [3, 3]])  # query 0: cosine .71 to both 1 and 3, 0 to 2
    labels = ["a", "b", "a", "b"]
    m = retrieval_metrics(emb, labels)
    p1, mapr = _brute(emb.astype(float), labels, list(range(4)))
    assert m["precision_at_1"] == pytest.approx(p1) and m["map_at_r"] == pytest.approx(mapr)
    assert type(m["precision_at_1"]) is float and type(m["queries"]) is int


def test_matches_pytorch_metric_learning():  # last: the slowest (mutation runs stop at the first failure)
    torch = require_module("torch")
    calc_mod = require_module("pytorch_metric_learning.utils.accuracy_calculator")
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, 120)
    emb = (rng.normal(size=(120, 8)) + 1.5 * np.eye(8)[codes]).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    calc = calc_mod.AccuracyCalculator(include=("precision_at_1", "mean_average_precision_at_r"), k="max_bin_count")
    ref = calc.get_accuracy(torch.from_numpy(emb), torch.from_numpy(codes), torch.from_numpy(emb), torch.from_numpy(codes), True)
    m = retrieval_metrics(emb, [str(c) for c in codes])
    assert m["precision_at_1"] == pytest.approx(ref["precision_at_1"], abs=1e-6)
    assert m["map_at_r"] == pytest.approx(ref["mean_average_precision_at_r"], abs=1e-6)
