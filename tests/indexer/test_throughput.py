"""indexer.throughput.plan_for: the user's settings fix the plan, else it is measured (large jobs only)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from engine import inference_plan as ip
from engine.inference_plan import InferencePlan
from indexer.config import IndexConfig
from indexer.throughput import plan_for

LM = SimpleNamespace(model=torch.nn.Identity(), input_size=8, device=torch.device("cpu"))


@pytest.fixture
def no_measuring(monkeypatch):
    monkeypatch.setattr(ip, "measure_plan", lambda *a, **k: pytest.fail("measured although the user fixed the plan"))


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
    assert plan_for(LM, config, n_images=10**6) == (expected, {})


def test_default_config_measures_large_jobs(monkeypatch):
    rates = {InferencePlan(batch_size=16, threads=2): 5.0, InferencePlan(batch_size=4, streams=2, threads=1): 9.0}
    monkeypatch.setattr(ip, "cpu_cores", lambda: 2)
    monkeypatch.setattr(ip, "measure_plan", lambda model, plan, **kw: rates[plan])
    plan, measured = plan_for(LM, IndexConfig(), n_images=10**4)
    assert plan == InferencePlan(batch_size=4, streams=2, threads=1)
    assert len(measured) == 2


def test_config_rejects_zero_streams():
    with pytest.raises(ValueError):
        IndexConfig(streams=0)
