"""benchmarks/gpu_check.py: the arguments and the faiss step (the training steps run in `gpu_check.sh --dry-run`)."""

from __future__ import annotations

import pytest

from benchmarks import gpu_check


def test_data_is_required_unless_dry_run():
    with pytest.raises(SystemExit):
        gpu_check.parse([])
    assert gpu_check.parse(["--dry-run"]).dry_run
    assert gpu_check.parse(["--data", "prep"]).data == "prep"


def test_faiss_step_times_the_cpu_and_says_why_the_gpu_is_skipped_without_one():
    out = gpu_check.faiss_search(vectors=500, queries=20, k=5, dim=16)
    assert out["vectors"] == 500 and out["queries"] == 20 and out["cpu_queries_per_s"] > 0
    if "gpu" in out:
        assert out["gpu"].startswith("skipped")
    else:
        assert out["gpu_top10_agreement"] > 0.99


def test_a_failing_step_is_recorded_not_raised():
    assert gpu_check._timed(lambda: {"x": 1})["x"] == 1
    failed = gpu_check._timed(lambda: 1 / 0)
    assert failed["error"].startswith("ZeroDivisionError")
