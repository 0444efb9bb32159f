"""embed_paths / embed_image: bad files are reported, not fatal; batching does not change results."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.model.checkpoint import load_model, save_checkpoint
from engine.inference.embedding import embed_image, embed_paths
from engine.base.errors import ImageLoadError
from engine.model.network import NetworkConfig, build_network
from train_kit import TINY, register_tiny

register_tiny()


@pytest.fixture
def lm(tmp_path):
    network = NetworkConfig(backbone=TINY, weights="none", embedding_dim=8, head="linear")
    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    save_checkpoint(path, model=build_network(network, pretrained=False), network=network)
    return load_model(path, device="cpu")


def test_bad_files_are_reported_with_reasons(lm, image_factory, tmp_path):
    good = [image_factory(f"g{i}.jpg", seed=i) for i in range(5)]
    (tmp_path / "junk.jpg").write_bytes(b"definitely not a jpeg")
    (tmp_path / "empty.png").write_bytes(b"")
    paths = [good[0], tmp_path / "junk.jpg", good[1], tmp_path / "missing.jpg", *good[2:], tmp_path / "empty.png"]
    result = embed_paths(lm, paths, batch_size=3, num_workers=0)
    assert result.ok == [0, 2, 4, 5, 6]
    assert dict(result.errors) == {1: "not_an_image", 3: "missing", 7: "empty"}
    assert result.vectors.shape == (5, 8) and result.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, atol=1e-5)


def test_batching_and_workers_do_not_change_vectors(lm, image_factory):
    paths = [image_factory(f"g{i}.png", seed=i, size=(50 + i, 40)) for i in range(7)]
    one = embed_paths(lm, paths, batch_size=64, num_workers=0)
    many = embed_paths(lm, paths, batch_size=2, num_workers=1)
    np.testing.assert_allclose(one.vectors, many.vectors, atol=1e-5)
    np.testing.assert_allclose(embed_image(lm, paths[3]), one.vectors[3], atol=1e-5)


def test_all_bad_gives_an_empty_matrix(lm, tmp_path):
    result = embed_paths(lm, [tmp_path / "a.jpg", tmp_path / "b.jpg"])
    assert result.vectors.shape == (0, 8) and result.ok == [] and len(result.errors) == 2


def test_embed_image_raises_for_a_bad_file(lm, tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"nope")
    with pytest.raises(ImageLoadError) as info:
        embed_image(lm, tmp_path / "x.jpg")
    assert info.value.reason == "not_an_image"


def test_concurrent_streams_keep_order_vectors_and_failures(lm, image_factory, tmp_path):
    from engine.inference.forward_plan import InferencePlan

    good = [image_factory(f"s{i}.png", seed=i, size=(40 + i, 44)) for i in range(11)]
    (tmp_path / "junk.jpg").write_bytes(b"no")
    paths = [*good[:4], tmp_path / "junk.jpg", *good[4:], tmp_path / "gone.jpg"]
    one = embed_paths(lm, paths, plan=InferencePlan(batch_size=16), num_workers=0)
    threads = torch.get_num_threads()
    many = embed_paths(lm, paths, plan=InferencePlan(batch_size=2, streams=3, threads=1), num_workers=0)
    assert torch.get_num_threads() == threads  # the plan's thread count is restored
    assert many.ok == one.ok == [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11]
    assert dict(many.errors) == dict(one.errors) == {4: "not_an_image", 12: "missing"}
    np.testing.assert_allclose(many.vectors, one.vectors, rtol=1e-4, atol=1e-5)


def test_a_failing_stream_raises_in_the_caller(image_factory, lm):
    from engine.inference.embedding import forward_dataset
    from engine.inference.datasets import ImagePathDataset
    from engine.inference.forward_plan import InferencePlan

    paths = [image_factory(f"f{i}.png", seed=i) for i in range(6)]
    dataset = ImagePathDataset(paths, lm.transform, input_size=lm.input_size, draft_size=None)

    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("boom in a stream")

    with pytest.raises(RuntimeError, match="boom in a stream"):
        forward_dataset(Broken(), dataset, device=torch.device("cpu"), out_dim=8, num_workers=0,
                        plan=InferencePlan(batch_size=2, streams=2, threads=1))
