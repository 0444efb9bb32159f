"""indexer.throughput.plan_for: the user's settings fix the plan, else it is remembered or measured."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from engine.base.errors import EngineError
import torch

from engine.inference import forward_plan as ip
from engine.inference.forward_plan import InferencePlan
from indexer.config import IndexConfig
from indexer.throughput import plan_for, plan_key

LM = SimpleNamespace(model=torch.nn.Identity(), input_size=8, device=torch.device("cpu"), backbone="tiny")
FAST = InferencePlan(batch_size=4, streams=2, threads=1)
RATES = {InferencePlan(batch_size=16, threads=2): 5.0, FAST: 9.0}


@pytest.fixture
def no_measuring(monkeypatch):
    monkeypatch.setattr(ip, "measure_plan", lambda *a, **k: pytest.fail("measured although the plan was known"))


@pytest.fixture
def measured(monkeypatch):
    calls = []
    monkeypatch.setattr(ip, "cpu_cores", lambda: 2)
    monkeypatch.setattr(ip, "measure_plan", lambda model, plan, **kw: calls.append(plan) or RATES[plan])
    return calls


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (IndexConfig(batch_size=8), InferencePlan(batch_size=8)),
        (IndexConfig(streams=2), InferencePlan(batch_size=4, streams=2)),
        (IndexConfig(torch_threads=1), InferencePlan(batch_size=16, threads=1)),
        (IndexConfig(batch_size=32, streams=3, torch_threads=1), InferencePlan(batch_size=32, streams=3, threads=1)),
    ],
)
def test_any_user_setting_fixes_the_plan(no_measuring, config, expected):
    assert plan_for(LM, config, n_images=10**6) == (expected, {"source": "options", "measured": {}})


def test_large_jobs_are_measured_once_then_remembered(measured, tmp_path):
    cache = tmp_path / "cache" / "plans.json"
    plan, info = plan_for(LM, IndexConfig(), n_images=10**4, cache=cache)
    assert plan == FAST and info["source"] == "measured" and len(info["measured"]) == 2
    assert json.loads(cache.read_text()) == {plan_key(LM): FAST.to_dict()}
    calls = len(measured)
    assert calls >= 2
    again, info = plan_for(LM, IndexConfig(), n_images=10**4, cache=cache)
    assert again == FAST and info == {"source": "remembered", "measured": {}}
    assert len(measured) == calls  # not measured the second time


def test_small_jobs_use_the_default_and_remember_nothing(measured, tmp_path):
    cache = tmp_path / "plans.json"
    plan, info = plan_for(LM, IndexConfig(), n_images=10, cache=cache)
    assert plan == ip.default_plan(LM.device) and info["source"] == "default"
    assert not measured and not cache.exists()


def test_a_damaged_cache_is_measured_again(measured, tmp_path):
    cache = tmp_path / "plans.json"
    cache.write_text("{not json")
    assert plan_for(LM, IndexConfig(), n_images=10**4, cache=cache)[0] == FAST
    cache.write_text(json.dumps({plan_key(LM): {"batch_size": 0}}))
    assert plan_for(LM, IndexConfig(), n_images=10**4, cache=cache)[1]["source"] == "measured"


def test_another_architecture_has_another_key():
    other = SimpleNamespace(**{**vars(LM), "model": torch.nn.Linear(2, 2)})
    assert plan_key(other) != plan_key(LM)


def test_config_rejects_zero_streams():
    with pytest.raises(EngineError, match="streams must be >= 1"):
        IndexConfig(streams=0)
