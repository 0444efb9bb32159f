"""Every benchmark script runs end to end at its toy size (no timing assertions: proves they don't rot)."""

from __future__ import annotations

import importlib
import inspect
import json

import pytest

from benchmarks.report import (
    ORDER,
    SECTIONS,
    goals_section,
    load_results,
    render,
    update_markdown,
)
from benchmarks.run import MODULES, OPT_IN, run_all

FAST = ["decode", "search", "catalog_writes"]
# These start subprocesses, build models or train: ~10-40 s each on 2 busy cores.
HEAVY = ["indexing", "latency", "training", "memory"]


def _run(name: str, tmp_path) -> dict:
    module = importlib.import_module(MODULES[name])
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
        assert result["answer_keys"] == ["model_used", "results"]
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


def test_every_benchmark_is_registered_with_a_run_entry_and_a_section():
    assert set(MODULES) == set(ORDER) == set(SECTIONS) and set(OPT_IN) <= set(MODULES)
    for name, module in MODULES.items():
        params = inspect.signature(importlib.import_module(module).run).parameters
        assert {"scale", "results_dir"} <= set(params), name


def test_opt_in_benchmarks_are_skipped_unless_named(tmp_path):
    status = run_all(sorted(OPT_IN), scale="toy", results_dir=tmp_path)
    assert all(s.startswith("skipped: needs") for s in status.values()) and not list(tmp_path.iterdir())


def test_saved_results_render_every_section():
    results = load_results()  # the committed benchmarks/results/*.json, whatever their scale
    text = render(results)
    for name in results:
        assert f"### {SECTIONS[name][0]}" in text and f"(not run yet: `python benchmarks/run.py --only {name}`)" not in text


def test_goal_verdicts_follow_the_saved_ratios():
    results = load_results()
    if "cold_start" not in results:
        pytest.skip("no saved cold_start result")
    query = next(r for r in results["cold_start"]["rows"] if r["command"] == "query")
    query.update(ratio_to_import_torch=1.6, met=False)
    line = next(l for l in goals_section(results).splitlines() if "cold `engine query`" in l)
    assert "| 1.60 | <= 1.5x | **NOT met** |" in line
