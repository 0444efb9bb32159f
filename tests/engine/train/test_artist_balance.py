"""Per-artist balance (issue 18): one painter with 877 works among painters with 15 does not dominate
the P x K batches nor the sampled verification pairs."""

from __future__ import annotations

import math

import numpy as np

from engine.metrics.pair_sampling import sample_pairs
from engine.train.samplers import PKBatchSampler

SMALL, BIG = 24, 877  # painters with 15 works each, one with 877 (the largest of ../shared/artdata)
LABELS = np.array([0] * BIG + [a for a in range(1, SMALL + 1) for _ in range(15)])
ARTISTS = SMALL + 1


def test_pk_batches_draw_artists_uniformly_whatever_their_size():
    sampler = PKBatchSampler(LABELS, p=8, k=4, seed=0)
    seen = np.zeros(ARTISTS)
    for epoch in range(10):
        sampler.set_epoch(epoch)
        for batch in sampler:
            seen[np.unique(LABELS[batch])] += 1
    share = seen / seen.sum()
    assert abs(share[0] - 1 / ARTISTS) < 0.3 / ARTISTS  # the big painter: its fair 1/25, not 877/1237
    assert share[1:].max() / share[1:].min() < 1.6


def test_verification_pairs_cap_every_painter():
    n_pairs = 2000
    cap = math.ceil(2 * n_pairs / ARTISTS)  # what evaluate and training use (twice the fair share)
    i, j, same = sample_pairs(LABELS.astype(str), n_pairs=n_pairs, per_artist_cap=cap, seed=0)
    involved = (LABELS[i] == 0) | (LABELS[j] == 0)
    assert involved.mean() < 3 / ARTISTS  # in about 2/25 of the pairs (as anchor or as the other painter)
    assert (same & (LABELS[i] == 0)).sum() <= cap
    per_artist_same = np.bincount(LABELS[i][same], minlength=ARTISTS)
    assert per_artist_same[0] <= 1.5 * np.median(per_artist_same[1:])
