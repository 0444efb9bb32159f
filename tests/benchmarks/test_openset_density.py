"""benchmarks/openset_density.py: the neighbourhood features, its copy of the shipped rule, and the docs block."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.accuracy_report import generated_table
from benchmarks import openset_density as probe
from engine.calibrate.attribution import candidate_features, fit_attribution_calibration


def test_candidate_rows_by_hand():
    names, rows = probe.candidate_rows(np.array([0.9, 0.8, 0.7, 0.5]), ["a", "b", "a", "c"])
    assert names == ["a", "b", "c"]
    density = np.mean([0.9, 0.8, 0.7, 0.5])
    np.testing.assert_allclose(rows[0], [0.9, 1.6 / 2.9, density, 0.9 - 0.8, 0.9 - 0.5])
    np.testing.assert_allclose(rows[2], [0.5, 0.5 / 2.9, density, 0.5 - 0.9, 0.0])
    # the first two columns are the shipped rule's features
    np.testing.assert_allclose(rows[:, :2], candidate_features(np.array([0.9, 0.8, 0.7, 0.5]), ["a", "b", "a", "c"])[1])


def test_the_best_plus_vote_rule_is_the_shipped_fit():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(12, 16))
    labels = np.repeat([f"p{i}" for i in range(12)], 8)
    emb = centres[np.repeat(np.arange(12), 8)] + 0.8 * rng.normal(size=(96, 16))
    groups = np.array([f"g{i}" for i in range(96)])
    theta = probe.fit_rule(probe.episodes(emb, labels, groups, seed=0, repeats=8), [0, 1])
    shipped = fit_attribution_calibration(emb, labels, seed=0, groups=groups)
    np.testing.assert_allclose(theta, [shipped.w_best, shipped.w_vote, shipped.bias], atol=1e-2)


def test_the_benchmarks_block_is_what_the_stored_result_generates():
    repo = Path(probe.__file__).resolve().parents[1]
    stored = json.loads((repo / "benchmarks" / "results" / "openset_density.json").read_text())
    assert generated_table((repo / "BENCHMARKS.md").read_text(), probe.BEGIN, probe.END) == probe.markdown(stored)
