"""The cold-start, pairs and CPU-runtime benchmarks run end to end at toy size (no timing assertions)."""

from __future__ import annotations

import json

import pytest

from require_kit import require_module


def test_pairs_benchmark_runs(tmp_path):
    from benchmarks import bench_pairs

    result = bench_pairs.run(scale="toy", results_dir=tmp_path)
    saved = json.loads((tmp_path / "pairs.json").read_text())
    assert saved["benchmark"] == "pairs" and saved["rows"] == result["rows"]
    counts = result["rows"][-1]
    assert counts["value"] == bench_pairs.SIZES["toy"]["pairs"]  # every generated pair written
    assert 0 < counts["reference_value"] < counts["value"]  # 1% of the images unreadable -> some prior pairs


@pytest.mark.slow
def test_cold_start_benchmark_runs(tmp_path):
    from benchmarks import bench_cold_start

    rows = {r["command"]: r for r in bench_cold_start.run(scale="toy", results_dir=tmp_path)["rows"]}
    assert "torch" not in rows["--help"]["imports"] and "torch" not in rows["--version"]["imports"]
    assert not {"timm", "torchvision", "sklearn", "scipy"} & set(rows["query"]["imports"].split(", "))
    assert all(r["median_s"] > 0 for r in rows.values())


@pytest.mark.slow
def test_cpu_runtime_benchmark_runs(tmp_path):
    require_module("onnxruntime")
    from benchmarks import bench_cpu_runtime

    rows = {r["variant"]: r for r in bench_cpu_runtime.run(scale="toy", results_dir=tmp_path)["rows"]}
    assert rows["onnxruntime fp32"]["min_cosine"] >= 0.999
    assert "torch.compile (inductor)" not in rows  # too slow to compile at toy size
