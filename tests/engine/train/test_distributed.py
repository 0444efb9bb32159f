"""DDP under torchrun on CPU (gloo, 2 ranks, a tiny BatchNorm-free trunk): the same update as one
process on the global batch, identical weights on every rank, rank-0-only writes, --resume, and the CLI under torchrun."""

from __future__ import annotations

import csv
import json

from dataclasses import replace

import numpy as np
import pytest
import torch

from ddp_kit import GLOBAL_BATCH, fast_config, global_batch, register_plain, take_steps, torchrun
from engine.model.checkpoint import fingerprint
from engine.train.data import load_train_data
from engine.train.distributed import Ranks, batch_share, rank_batches
from engine.base.errors import EngineError
from engine.train.finetune import FinetuneTrainer
from engine.train.steps import epoch_batches
from engine.train.trainer import train_model
from train_kit import write_dataset

pytestmark = pytest.mark.timeout(240)
register_plain()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("ddp-data"), artists=8, per_artist=6, val_artists=3, size=36)


def _train_losses(model_dir) -> list[float]:
    with open(model_dir / "metrics.csv") as fh:
        return [float(r["train_loss"]) for r in csv.DictReader(fh) if int(r["epoch"]) > 0]


def _relative(a: dict, b: dict) -> float:
    """max over tensors of ||a - b|| / ||b||."""
    return max(float((a[k].double() - b[k].double()).norm() / b[k].double().norm().clamp_min(1e-12)) for k in b)


def test_batch_share_splits_every_block_evenly():
    batch = list(range(12))
    assert [batch_share(batch, r, 2) for r in range(2)] == [list(range(6)), list(range(6, 12))]
    # [anchors; positives; negatives] of 4 triplets: each rank keeps whole triplets
    assert batch_share(batch, 1, 2, parts=3) == [2, 3, 6, 7, 10, 11]
    assert sorted(sum((batch_share(list(range(13)), r, 3) for r in range(3)), [])) == list(range(12))


def test_ranks_draw_different_slices_of_the_global_pk_plan(monkeypatch):
    import engine.train.distributed as distributed

    labels = np.repeat(np.arange(10), 5)
    config = fast_config(batch_size=8, per_artist=2)
    plans = {}
    for rank in range(2):
        monkeypatch.setattr(distributed, "current", lambda rank=rank: Ranks(rank, 2))
        plans[rank] = [rank_batches(config, labels, epoch=e) for e in (1, 2)]
    single = [epoch_batches(replace(config, batch_size=16), labels, epoch=e) for e in (1, 2)]
    for e in range(2):
        assert len(plans[0][e]) == len(plans[1][e]) == len(single[e])  # every rank takes the same number of steps
        for b0, b1, whole in zip(plans[0][e], plans[1][e], single[e]):
            assert len(b0) == len(b1) == 8 and b0 + b1 == whole
            assert not set(labels[b0]) & set(labels[b1])  # 4 artists x 2 each, different artists per rank
    assert plans[0][0] != plans[0][1]  # seeded per epoch


def test_mining_losses_see_the_global_batch_and_proxy_losses_are_refused(monkeypatch):
    import engine.train.distributed as distributed
    from engine.train.metric_losses import metric_loss
    from pytorch_metric_learning.utils.distributed import DistributedLossWrapper, DistributedMinerWrapper

    monkeypatch.setattr(distributed, "current", lambda: Ranks(1, 4))
    wrapped, scale = distributed.global_batch_loss(metric_loss("multi_similarity", classes=0, dim=8))
    assert isinstance(wrapped.loss, DistributedLossWrapper) and isinstance(wrapped.miner, DistributedMinerWrapper)
    assert scale == 0.25  # the wrapper returns W x the loss (for DDP's gradient mean)
    with pytest.raises(EngineError, match="proxy-based"):
        distributed.global_batch_loss(metric_loss("proxy_anchor", classes=3, dim=8))


def test_two_ranks_equal_one_process_on_the_global_batch(data, tmp_path):
    run = torchrun("steps", str(tmp_path), str(data))
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"steps{r}.pt", weights_only=True) for r in range(2)]

    single = FinetuneTrainer(fast_config(), load_train_data(data))
    images, labels = global_batch()
    losses = take_steps(single, images, labels)
    reference = single.model.state_dict()
    start = FinetuneTrainer(fast_config(), load_train_data(data)).model.state_dict()

    assert all(torch.equal(ranks[0]["state"][k], ranks[1]["state"][k]) for k in reference)  # bit-identical ranks
    for rank in ranks:  # each rank computes the global-batch loss (its rows first: summation order differs)
        assert rank["losses"] == pytest.approx(losses, rel=1e-5)
    error = _relative(ranks[0]["state"], reference)
    moved = _relative(reference, start)
    print(f"\nDDP 2x{GLOBAL_BATCH // 2} vs 1x{GLOBAL_BATCH}, {len(losses)} steps: max relative weight error {error:.2e} "
          f"(the steps moved the weights by {moved:.2e}); losses {losses}")
    assert moved > 1e-3 and error < 1e-5
    assert losses[-1] < losses[0]

    # train_model on both ranks (2 epochs, --resume to 4): identical final weights, rank 0 alone wrote, the loss falls
    summaries = [json.loads((tmp_path / f"summary{r}.json").read_text()) for r in range(2)]
    last = torch.load(tmp_path / "model" / "last.pt", weights_only=True)
    assert summaries[0]["final_fingerprint"] == summaries[1]["final_fingerprint"] == fingerprint(last["model"])
    assert [s["rank"] for s in summaries] == [0, 1] and summaries[1]["world_size"] == 2
    assert summaries[0]["model_path"] == summaries[1]["model_path"]
    names = sorted(p.name for p in (tmp_path / "model").iterdir())
    assert names == ["config.json", "last.pt", "loss.png", "metrics.csv", "model.pt"]  # no temp files, no rank-1 copies
    train = _train_losses(tmp_path / "model")  # epochs 1-2, then 3-4 after --resume
    assert len(train) == 4 and train[-1] < train[0] and last["epoch"] == 4
    for summary in summaries:  # gloo's worker threads lived in the group and were joined when it ended (issue 22)
        gloo = {when: [name for name in names if "gloo" in name] for when, names in summary["native_threads"].items()}
        assert gloo["before"] == [] and gloo["in_group"] and gloo["after"] == [], gloo


def test_torchrun_cli_train(data, tmp_path):
    run = torchrun("cli", "train", str(data), "--mode", "finetune", "--backbone", "tiny_plain", "--weights", "none",
                   "--pooling", "avg", "--batch-size", "8", "--per-artist", "2", "--workers", "0", "--epochs", "1",
                   "--out", str(tmp_path / "m"), "--home", str(tmp_path / "home"), "--json",
                   env={"ENGINE_DEBUG": "1"})  # the CLI's normal interpreter teardown, not its fast os._exit
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)  # one JSON document: rank 0 alone prints
    assert summary["world_size"] == 2 and summary["mode"] == "finetune" and summary["best_epoch"] in (0, 1)
    assert (tmp_path / "m" / "model.pt").is_file() and summary["model_path"] == str(tmp_path / "m" / "model.pt")


def test_frozen_mode_is_refused_under_torchrun(data, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")  # what torchrun sets; refused before any process group is joined
    with pytest.raises(EngineError, match="--mode finetune"):
        train_model(data, config=fast_config(mode="frozen"), out=tmp_path / "m", home=tmp_path / "home")
    assert not (tmp_path / "m").exists()
