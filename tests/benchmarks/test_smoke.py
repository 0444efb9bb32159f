"""Every benchmark script runs end to end at its toy size (no timing assertions: proves they don't rot)."""

from __future__ import annotations

import importlib
import json

import pytest

from benchmarks.report import render, update_markdown

FAST = ["decode", "search", "catalog_writes"]
# These start subprocesses, build models or train: ~10-40 s each on 2 busy cores.
HEAVY = ["indexing", "latency", "training", "memory"]


def _run(name: str, tmp_path) -> dict:
    module = importlib.import_module(f"benchmarks.bench_{name}")
    result = module.run(scale="toy", results_dir=tmp_path)
    saved = json.loads((tmp_path / f"{name}.json").read_text())
    assert saved["benchmark"] == name and saved["scale"] == "toy"
    assert saved["machine"]["cores"] >= 1 and saved["machine"]["versions"]["torch"]
    assert saved["rows"], "a benchmark must report rows"
    return result


@pytest.mark.parametrize("name", FAST)
def test_fast_benchmarks_run(name, tmp_path):
    result = _run(name, tmp_path)
    if name == "search":
        flat = [r for r in result["rows"] if r.get("index") == "flat"]
        assert all(r["recall_at_10"] == 1.0 for r in flat)  # exact search is its own ground truth
        assert all(0.0 <= r["recall_at_10"] <= 1.0 for r in result["rows"] if "recall_at_10" in r)
    if name == "decode":
        assert result["mean_abs_pixel_diff"] < 8  # draft decoding must not change the picture


@pytest.mark.slow
@pytest.mark.parametrize("name", HEAVY)
def test_heavy_benchmarks_run(name, tmp_path):
    result = _run(name, tmp_path)
    if name == "latency":
        assert result["answer_keys"] == ["results"]
        assert all(r["p50_ms"] > 0 for r in result["rows"])
    if name == "indexing":
        assert all(r["index_folder_ips"] > 0 and r["naive_loop_ips"] > 0 for r in result["rows"])


def test_report_renders_and_keeps_hand_written_text(tmp_path):
    _run("decode", tmp_path)
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\nhand-written intro\n")
    update_markdown(markdown, tmp_path)
    update_markdown(markdown, tmp_path)  # idempotent: one generated block, intro kept
    text = markdown.read_text()
    assert text.count("## Results") == 1 and "hand-written intro" in text
    assert "2. Decoding large scans" in text and "(not run yet" in render({})
