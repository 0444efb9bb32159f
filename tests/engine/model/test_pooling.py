"""engine.model.pooling: second-order (covariance) features against a brute-force reference, and usable
for training after the same process ran inference (its cached index is not an inference tensor)."""

from __future__ import annotations

import torch

from engine.model import pooling


def test_covariance_features_are_the_signed_root_of_the_upper_triangle():
    flat = torch.randn(2, 4, 9, generator=torch.Generator().manual_seed(0))
    out = pooling.covariance_features(flat)
    for b in range(2):
        x = flat[b] - flat[b].mean(dim=1, keepdim=True)
        cov = x @ x.T / 8
        upper = torch.stack([cov[r, k] for r in range(4) for k in range(r, 4)])
        torch.testing.assert_close(out[b], torch.sign(upper) * upper.abs().sqrt())


def test_training_after_inference_in_one_process():
    pooling._upper_triangle.cache_clear()
    with torch.inference_mode():  # e.g. `engine query` first: fills the cached index
        pooling.covariance_features(torch.randn(1, 5, 7))
    flat = torch.randn(2, 5, 7, requires_grad=True)
    pooling.covariance_features(flat).sum().backward()  # raised "Inference tensors cannot be saved for backward"
    assert flat.grad is not None and torch.isfinite(flat.grad).all()
