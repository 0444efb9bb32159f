"""P x K batch sampler and the reference design's random triplets."""

from collections import Counter

import numpy as np
import pytest

from engine.base.errors import EngineError
from engine.train.samplers import PKBatchSampler, random_triplets


def test_every_batch_holds_p_artists_times_k_paintings():
    labels = np.repeat(np.arange(6), [10, 7, 3, 5, 12, 4])
    sampler = PKBatchSampler(labels, p=4, k=3, seed=1)
    batches = list(sampler)
    assert len(batches) == len(labels) // 12
    for batch in batches:
        counts = Counter(labels[batch].tolist())
        assert len(batch) == 12 and len(counts) == 4 and set(counts.values()) == {3}


def test_sampler_is_deterministic_per_epoch_and_varies_across_epochs():
    labels = np.repeat(np.arange(5), 6)
    first, again = PKBatchSampler(labels, p=2, k=2, seed=3), PKBatchSampler(labels, p=2, k=2, seed=3)
    assert list(first) == list(again)
    again.set_epoch(1)
    assert list(first) != list(again)


def test_small_artists_are_sampled_with_replacement_and_singletons_skipped():
    labels = np.array([0, 0, 1, 1, 1, 1, 2])  # artist 2 has one painting: no positive pair possible
    batches = list(PKBatchSampler(labels, p=5, k=4, batches=3, seed=0))
    for batch in batches:
        assert 2 not in labels[batch]
        assert len(batch) == 8  # P capped at the 2 usable artists


def test_sampler_needs_two_usable_artists():
    with pytest.raises(EngineError):
        PKBatchSampler(np.array([0, 0, 1]), p=2, k=2)


def test_random_triplets_are_valid():
    labels = np.repeat(np.arange(4), [2, 5, 3, 1])
    trip = random_triplets(labels, n=200, seed=0)
    a, p, n = trip.T
    assert np.all(a != p) and np.all(labels[a] == labels[p]) and np.all(labels[a] != labels[n])
    assert not np.any(labels[a] == 3)  # a singleton artist never anchors
    assert np.array_equal(trip, random_triplets(labels, n=200, seed=0))


# --- balancing the sources (issue 28): artdata's 35 painters against wikiart's 223 ---

def test_source_weights_give_each_source_the_same_total():
    from engine.train.samplers import source_weights

    w = source_weights(["a", "b", "b", "b", "c"])
    np.testing.assert_allclose(w, [1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 3])  # by hand: 1/3 per source, shared by its artists


def _source_share(item_sources, labels, **kwargs) -> float:
    """Share of the artist draws that fall on source "a" over 20 epochs."""
    sampler = PKBatchSampler(labels, p=4, k=2, seed=0, **kwargs)
    hits = total = 0
    for epoch in range(20):
        sampler.set_epoch(epoch)
        for batch in sampler:
            chosen = np.unique(labels[batch])
            hits += sum(item_sources[np.flatnonzero(labels == c)[0]] == "a" for c in chosen)
            total += len(chosen)
    return hits / total


def test_balanced_pk_batches_draw_each_source_as_often_whatever_its_artist_count():
    labels = np.repeat(np.arange(100), 4)  # artists 0-9: source "a", 10-99: source "b" (1 in 10, as artdata in the union)
    sources = np.where(labels < 10, "a", "b").astype(object)
    uniform = _source_share(sources, labels)
    balanced = _source_share(sources, labels, sources=sources)
    assert abs(uniform - 0.1) < 0.03  # uniform over artists: 10 of 100
    assert abs(balanced - 0.5) < 0.05  # P = 4 of 100 artists: drawing without replacement hardly shifts the 1/2
    for batch in PKBatchSampler(labels, p=4, k=2, seed=0, sources=sources):
        assert len(batch) == 8 and len(set(labels[batch].tolist())) == 4  # still P distinct artists x K


def test_epoch_batches_balance_sources_only_when_the_config_asks():
    from engine.train.config import TrainConfig
    from engine.train.steps import epoch_batches

    labels = np.repeat(np.arange(30), 6)
    sources = np.where(labels < 3, "a", "b").astype(object)
    off = epoch_batches(TrainConfig(batch_size=12, per_artist=2), labels, epoch=0, sources=sources)
    assert off == epoch_batches(TrainConfig(batch_size=12, per_artist=2), labels, epoch=0)
    on = epoch_batches(TrainConfig(batch_size=12, per_artist=2, balance_sources=True), labels, epoch=0, sources=sources)
    assert on == [b for b in PKBatchSampler(labels, p=6, k=2, seed=0, sources=sources)]
    assert on != off
