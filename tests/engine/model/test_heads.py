"""Closed-form projections and the trunk-preserving head: brute-force references on generated data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.model.heads import ProjectedHead
from engine.model.projection import ProjectionConfig, fit_projection, top_eigenpairs


def _data(seed: int = 0, n_per: int = 40, classes: int = 6, dim: int = 12):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), n_per)
    scales = np.linspace(0.5, 3.0, dim)
    x = rng.normal(size=(len(labels), dim)) * scales + 0.8 * rng.normal(size=(classes, dim))[labels]
    return x.astype(np.float32), labels


def test_top_eigenpairs_match_eigh():
    rng = np.random.default_rng(1)
    basis, _ = np.linalg.qr(rng.normal(size=(60, 60)))
    cov = (basis * np.geomspace(100, 0.01, 60)) @ basis.T  # a decaying spectrum
    lam, vec = top_eigenpairs(cov, 8)
    data = np.random.default_rng(2).normal(size=(200, 30)) * np.geomspace(10, 0.1, 30)
    data = data - data.mean(axis=0)
    d_lam, _ = top_eigenpairs(None, 5, data=data)
    np.testing.assert_allclose(d_lam, np.linalg.eigh(data.T @ data / 199)[0][::-1][:5], rtol=1e-4)
    ref = np.linalg.eigh(cov)[0][::-1][:8]
    np.testing.assert_allclose(lam, ref, rtol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(vec * (cov @ vec), axis=0)), ref, rtol=1e-6)  # v' C v = lambda
    full_lam, _ = top_eigenpairs(cov, 60)
    np.testing.assert_allclose(full_lam, np.linalg.eigh(cov)[0][::-1])


def test_top_eigenpairs_of_few_rows_match_eigh_and_stay_orthonormal():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(20, 80)) * np.geomspace(10, 0.1, 80)
    data = (data - data.mean(axis=0)).astype(np.float32)  # rank 19: one zero eigenvalue among the top 20
    cov = data.T.astype(np.float64) @ data / 19
    lam, vec = top_eigenpairs(None, 20, data=data)
    ref = np.linalg.eigh(cov)[0][::-1][:20]
    np.testing.assert_allclose(lam[:19], ref[:19], rtol=1e-4)
    assert abs(lam[19]) < 1e-3 * ref[0]
    np.testing.assert_allclose(vec.T @ vec, np.eye(20), atol=1e-5)  # the zero-eigenvalue vector completed
    np.testing.assert_allclose(np.sum(vec[:, :19] * (cov @ vec[:, :19]), axis=0), ref[:19], rtol=1e-4)  # v' C v = lambda
    top5, _ = top_eigenpairs(None, 5, data=data)  # the same exact route (20 rows <= GRAM_ROWS), cut to 5
    np.testing.assert_allclose(top5, ref[:5], rtol=1e-4)


def test_wccn_without_shrinkage_whitens_the_class_balanced_within_covariance():
    x, labels = _data()
    mean, a = fit_projection(x, labels, ProjectionConfig(pca_dims=0, shrinkage=0.0))
    y = (x.astype(np.float64) - mean) @ a
    within = sum(np.cov(y[labels == c].T, bias=True) for c in np.unique(labels)) / len(np.unique(labels))
    np.testing.assert_allclose(within, np.eye(y.shape[1]), atol=1e-3)


def test_lda_keeps_the_requested_between_artist_directions():
    x, labels = _data(seed=2)
    mean, a = fit_projection(x, labels, ProjectionConfig(pca_dims=0, shrinkage=0.1, lda_dims=3))
    assert a.shape == (x.shape[1], 3)
    y = (x - mean) @ a
    centroids = np.stack([y[labels == c].mean(axis=0) for c in range(6)])
    spread = np.var(centroids, axis=0).sum() / np.mean([np.var(y[labels == c], axis=0).sum() for c in range(6)])
    raw = np.stack([x[labels == c].mean(axis=0) for c in range(6)])
    raw_spread = np.var(raw, axis=0).sum() / np.mean([np.var(x[labels == c], axis=0).sum() for c in range(6)])
    assert spread > raw_spread  # artists further apart relative to their own scatter


def test_projected_head_starts_as_the_standardised_pca_of_its_features():
    x, _ = _data(seed=3)
    head = ProjectedHead(x.shape[1], 4).fit_init(x)
    z = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    vec = np.linalg.eigh(np.cov(z.T))[1][:, ::-1][:, :4]
    ref = z @ vec
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    with torch.no_grad():
        out = head(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out @ out.T, ref @ ref.T, atol=1e-3)  # the same cosines (PCA axes' signs are arbitrary)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    state = head.state_dict()
    assert {"mean", "inv_sd", "linear.weight", "linear.bias"} <= set(state)
    again = ProjectedHead(x.shape[1], 4)
    again.load_state_dict(state)
    with torch.no_grad():
        np.testing.assert_allclose(again(torch.from_numpy(x)).numpy(), out, atol=1e-6)


def test_covariance_features_match_a_brute_force_covariance():
    from engine.model.pooling import covariance_features

    flat = torch.randn(2, 5, 30, dtype=torch.float64)
    out = covariance_features(flat)
    assert out.shape == (2, 15)
    for b in range(2):
        cov = np.cov(flat[b].numpy())  # rows = channels, unbiased over positions
        upper = cov[np.triu_indices(5)]
        np.testing.assert_allclose(out[b].numpy(), np.sign(upper) * np.sqrt(np.abs(upper)), rtol=1e-10)


def test_gram_pooling_appends_the_covariance_of_each_stage():
    from train_kit import TINY, register_tiny

    from engine.model.network import NetworkConfig, build_pooled_trunk
    from engine.model.pooling import COV_STAGES, feature_blocks

    register_tiny()
    COV_STAGES[TINY] = ("features.3",)  # 12 channels -> 78 covariance entries
    try:
        torch.manual_seed(0)
        trunk = build_pooled_trunk(NetworkConfig(backbone=TINY, weights="none", pooling="gram"), pretrained=False).eval()
        blocks = feature_blocks(trunk, 32)
        assert [w for _, w in blocks] == [24, 12, 12, 78]
        x = torch.randn(2, 3, 32, 32)
        with torch.no_grad():
            out = trunk(x)
            multi = build_pooled_trunk(NetworkConfig(backbone=TINY, weights="none", pooling="multiscale"), pretrained=False)
            multi.load_state_dict(trunk.state_dict())
            np.testing.assert_allclose(out[:, :48].numpy(), multi.eval()(x).numpy(), rtol=1e-5, atol=1e-6)
    finally:
        COV_STAGES.pop(TINY, None)


def test_metric_losses_give_finite_losses_and_gradients():
    from engine.train.metric_losses import METRIC_LOSSES, metric_loss

    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    for name in METRIC_LOSSES:
        emb = torch.nn.functional.normalize(torch.randn(8, 6), dim=1).requires_grad_()
        loss = metric_loss(name, classes=4, dim=6)(emb, labels)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(emb.grad).all() and emb.grad.abs().sum() > 0, name


def test_fit_head_keeps_the_best_epoch_by_its_criterion():
    from engine.train.config import TrainConfig
    from engine.train.data import Split
    from engine.train.head_fit import fit_head, selection_score
    from engine.train.losses import LossConfig

    assert selection_score({"roc_auc": 0.7, "map_at_r": 0.2}, "roc_auc+map_at_r") == pytest.approx(0.9)
    assert selection_score({"roc_auc": 0.7, "map_at_r": 0.2}, "roc_auc") == pytest.approx(0.7)
    x, labels = _data(seed=4, n_per=12, classes=8)

    def split(idx):
        return Split([f"p{i}" for i in idx], [f"a{labels[i]}" for i in idx], labels[idx] - labels[idx].min(), [str(i) for i in idx])

    train_idx, val_idx = np.flatnonzero(labels < 5), np.flatnonzero(labels >= 5)
    config = TrainConfig(epochs=3, batch_size=8, per_artist=2, val_pairs=100, val_triplets=200, loss=LossConfig(kind="supcon"))
    head = ProjectedHead(x.shape[1], 6).fit_init(x[train_idx])
    feats = torch.from_numpy(np.stack([x[train_idx], x[train_idx]]))
    fit = fit_head(head, config, feats, split(train_idx), torch.from_numpy(x[val_idx]), split(val_idx), selection="roc_auc+map_at_r")
    assert [row["epoch"] for row in fit.history] == [0, 1, 2, 3]
    best = max(fit.history, key=lambda row: row["score"])
    assert fit.best_epoch == best["epoch"]
