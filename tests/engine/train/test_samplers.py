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
