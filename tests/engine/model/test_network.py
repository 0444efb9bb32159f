"""The Siamese network: shapes, normalisation, heads, config validation."""

import pytest
import torch

from engine.base.errors import EngineError
from engine.model.network import NetworkConfig, PooledFeatures, build_network
from train_kit import TINY, register_tiny

register_tiny()


@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_normalised_embeddings(head):
    torch.manual_seed(0)
    net = build_network(NetworkConfig(backbone=TINY, weights="none", embedding_dim=12, head=head)).eval()
    out = net(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 12)
    assert torch.allclose(out.norm(dim=1), torch.ones(4), atol=1e-5)


def test_unnormalised_embeddings_keep_their_scale():
    torch.manual_seed(0)
    net = build_network(NetworkConfig(backbone=TINY, weights="none", embedding_dim=6, head="linear", normalize=False)).eval()
    x = torch.randn(3, 3, 32, 32)
    out = net(x)
    assert not torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-2)
    assert torch.allclose(out, net.head.layers(net.trunk(x)))


def test_siamese_weights_are_shared():
    net = build_network(NetworkConfig(backbone=TINY, weights="none", embedding_dim=6)).eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(net(x)[0], net(x[:1])[0], atol=1e-6)


def test_pooled_features_baseline():
    net = build_network(NetworkConfig(backbone=TINY, weights="none", pooling="avg")).eval()
    out = PooledFeatures(net.trunk)(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 24) and torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"head": "transformer"}, "unknown head"), ({"embedding_dim": 1}, "embedding-dim"), ({"backbone": "nope"}, "unknown backbone")],
)
def test_bad_config(kwargs, message):
    with pytest.raises(EngineError, match=message):
        NetworkConfig(**{"backbone": TINY, **kwargs}).validate()


def test_multiscale_pooling_appends_stage_statistics():
    torch.manual_seed(0)
    plain = build_network(NetworkConfig(backbone=TINY, weights="none", pooling="avg")).eval()
    multi = build_network(NetworkConfig(backbone=TINY, weights="none", pooling="multiscale")).eval()
    multi.trunk.trunk.load_state_dict(plain.trunk.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = multi.trunk(x)
        stage = plain.trunk.features[:4](x).flatten(2)  # the registered stage: first block output
    assert features.shape == (2, 24 + 12 + 12)
    assert torch.allclose(features[:, :24], plain.trunk(x), atol=1e-6)
    assert torch.allclose(features[:, 24:36], stage.mean(2), atol=1e-6)
    assert torch.allclose(features[:, 36:], stage.std(2), atol=1e-6)
