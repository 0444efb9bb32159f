"""Triplet losses against brute-force loops over every triplet of a tiny batch."""

import itertools

import numpy as np
import pytest
import torch

from engine.base.errors import EngineError
from engine.train.losses import BatchTripletLoss, LossConfig, TripletsAsBatch


def _batch(seed=0, n_labels=3, per_label=3, dim=4):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n_labels).repeat_interleave(per_label)
    emb = torch.randn(len(labels), dim, generator=gen) * 0.6
    return emb, labels


def _triplets(labels):
    labels = labels.tolist()
    n = len(labels)
    for a, p, q in itertools.product(range(n), repeat=3):
        if a != p and labels[a] == labels[p] and labels[q] != labels[a]:
            yield a, p, q


def _avg_nonzero(values):
    positive = [v for v in values if v > 0]
    return float(np.mean(positive)) if positive else 0.0


def _brute(emb, labels, margin, keep):
    d = torch.cdist(emb.double(), emb.double()).numpy()
    values = [d[a, p] - d[a, n] + margin for a, p, n in _triplets(labels) if keep(d[a, p], d[a, n])]
    return _avg_nonzero(values)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_triplets_matches_brute_force(seed):
    emb, labels = _batch(seed)
    got = float(BatchTripletLoss(LossConfig(margin=0.5, miner="all"))(emb, labels))
    assert got == pytest.approx(_brute(emb, labels, 0.5, lambda ap, an: True), abs=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_semihard_matches_brute_force(seed):
    emb, labels = _batch(seed)
    margin = 0.8
    expected = _brute(emb, labels, margin, lambda ap, an: 0 < an - ap <= margin)
    got = float(BatchTripletLoss(LossConfig(margin=margin, miner="semihard"))(emb, labels))
    assert got == pytest.approx(expected, abs=1e-5)


def test_batch_hard_matches_brute_force():
    emb, labels = _batch(3, n_labels=3, per_label=4)
    d = torch.cdist(emb.double(), emb.double()).numpy()
    lab = labels.numpy()
    values = []
    for a in range(len(lab)):
        pos = [p for p in range(len(lab)) if p != a and lab[p] == lab[a]]
        neg = [n for n in range(len(lab)) if lab[n] != lab[a]]
        values.append(max(d[a, pos]) - min(d[a, neg]) + 0.3)
    got = float(BatchTripletLoss(LossConfig(margin=0.3, miner="batch_hard"))(emb, labels))
    assert got == pytest.approx(_avg_nonzero(values), abs=1e-5)


def test_loss_has_gradient_and_is_zero_when_separated():
    emb, labels = _batch(0)
    emb.requires_grad_(True)
    loss = BatchTripletLoss(LossConfig(margin=0.5, miner="all"))(emb, labels)
    loss.backward()
    assert emb.grad is not None and emb.grad.abs().sum() > 0
    separated = torch.nn.functional.one_hot(labels, 3).float() * 10
    assert float(BatchTripletLoss(LossConfig(margin=0.5, miner="all"))(separated, labels)) == 0.0


def test_reference_triplets_adapter_is_mean_of_explicit_losses():
    gen = torch.Generator().manual_seed(0)
    a, p, n = (torch.randn(5, 8, generator=gen) * 3 for _ in range(3))
    got = float(TripletsAsBatch(margin=5.0)(torch.cat([a, p, n]), torch.zeros(15)))
    d_ap, d_an = (a - p).norm(dim=1), (a - n).norm(dim=1)
    assert got == pytest.approx(float(torch.clamp(d_ap - d_an + 5.0, min=0).mean()), rel=1e-4)


def test_bad_loss_config_is_refused():
    with pytest.raises(EngineError, match="miner"):
        LossConfig(miner="nope").validate()
    with pytest.raises(EngineError, match="margin"):
        LossConfig(margin=0).validate()
