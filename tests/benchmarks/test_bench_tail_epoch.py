"""benchmarks/bench_tail_epoch.py: its timing loop on tiny data and the BENCHMARKS block it renders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.accuracy_report import generated_table
from benchmarks import bench_tail_epoch as bench
from benchmarks.crossval.features import FeatureSet
from engine.model.network import NetworkConfig
from engine.train.config import TrainConfig
from engine.train.frozen import new_head


def test_time_steps_trains_the_module_for_the_steps_asked():
    rng = np.random.default_rng(0)
    n, width = 48, 20
    feats = rng.normal(size=(2, n, width)).astype(np.float32)
    artists = np.array([f"a{i % 6}" for i in range(n)], dtype=object)
    data = FeatureSet(feats, artists, np.array([f"g{i}" for i in range(n)], dtype=object), np.zeros(n, int), [f"p{i}" for i in range(n)])
    config = TrainConfig(network=NetworkConfig(weights="none", embedding_dim=4), batch_size=8, per_artist=2)
    head = new_head(width, config.network, feats[0])
    before = [p.detach().clone() for p in head.parameters()]
    seconds = bench.time_steps(head, [{"params": head.parameters()}], config, torch.from_numpy(feats), data, 3)
    assert seconds > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, head.parameters()))


def test_the_benchmarks_block_is_what_the_stored_result_generates():
    repo = Path(bench.__file__).resolve().parents[1]
    stored = json.loads((repo / "benchmarks" / "results" / "tail_epoch.json").read_text())
    assert generated_table((repo / "BENCHMARKS.md").read_text(), bench.BEGIN, bench.END) == bench.markdown(stored)
    assert [r["case"] for r in stored["rows"]] == ["reference: the head alone", "tail_head", "tail_b6"]
