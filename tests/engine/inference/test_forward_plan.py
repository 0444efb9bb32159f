"""engine.inference.forward_plan: candidate plans, measuring without hangs, choosing the fastest."""

from __future__ import annotations

import threading
import types

import pytest

from engine.base.errors import EngineError
import torch

from engine.inference import forward_plan as ip
from engine.inference.forward_plan import InferencePlan


class FakeClock:
    """`time.perf_counter` for forward_plan, advanced by the model instead of the machine, so the measured
    rates are exact on any machine. Each thread that runs forwards has a clock of its own (one core each, so
    two streams' calls overlap); the caller, which only times the streams, reads the latest of their clocks.
    Streams' timed forwards (after their warm-up) wait until the caller has read its start time."""

    def __init__(self) -> None:
        self.clocks: dict[int, float] = {}
        self.lock = threading.Lock()
        self.caller = threading.get_ident()
        self.start_read = threading.Event()

    def perf_counter(self) -> float:
        me = threading.get_ident()
        with self.lock:
            streams = [t for k, t in self.clocks.items() if k != self.caller]
            if me != self.caller or not streams:
                return self.clocks.get(me, 0.0)  # a stream, or the caller running forwards itself
            latest = max(streams)
        self.start_read.set()
        return latest

    def spend(self, seconds: float) -> None:
        me = threading.get_ident()
        with self.lock:
            warm_up = me not in self.clocks
        if not warm_up and me != self.caller:
            assert self.start_read.wait(30), "the caller never read its start time"
        with self.lock:
            self.clocks[me] = self.clocks.get(me, 0.0) + seconds


class Ticking(torch.nn.Module):
    """A 'model' whose cost per call is fixed, spent on the fake clock."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        self.clock.spend(self.seconds)
        return x.mean(dim=(2, 3))


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(ip, "time", types.SimpleNamespace(perf_counter=fake.perf_counter))
    return fake


class Sleepy(torch.nn.Module):
    """A 'model' whose cost per call is fixed (sleeping releases the GIL, like torch ops)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import time

        self.calls += 1
        time.sleep(self.seconds)
        return x.mean(dim=(2, 3))


def test_plan_rejects_nonsense():
    with pytest.raises(EngineError, match="invalid inference plan"):
        InferencePlan(batch_size=0)
    with pytest.raises(EngineError, match="invalid inference plan"):
        InferencePlan(streams=0)
    with pytest.raises(EngineError, match="invalid inference plan"):
        InferencePlan(threads=0)


def test_candidates_cover_one_wide_forward_and_one_stream_per_core():
    assert ip.cpu_candidates(1) == (InferencePlan(batch_size=16, streams=1, threads=1),)
    whole, split = ip.cpu_candidates(2)
    assert whole == InferencePlan(batch_size=16, streams=1, threads=2)
    assert split == InferencePlan(batch_size=4, streams=2, threads=1)
    assert ip.cpu_candidates(16)[1] == InferencePlan(batch_size=4, streams=4, threads=4)


def test_measure_counts_images_of_all_streams_and_restores_threads(clock):
    threads = torch.get_num_threads()
    model = Ticking(clock, 1 / 64)  # powers of two: the fake clock's sums are exact
    one = ip.measure_plan(model, InferencePlan(batch_size=2, streams=1, threads=1), input_size=8,
                          device=torch.device("cpu"), seconds=0.25)
    assert model.calls == 1 + 16  # a warm-up, then forwards for 0.25 s of 1/64 s each
    two = ip.measure_plan(model, InferencePlan(batch_size=2, streams=2, threads=1), input_size=8,
                          device=torch.device("cpu"), seconds=0.25)
    assert model.calls == 17 + 2 * 17  # each stream: its warm-up and 0.25 s of forwards
    assert torch.get_num_threads() == threads
    assert one == 128.0  # 2 images per 1/64 s call
    assert two == 2 * one  # both streams' images over the same 0.25 s: two calls run at once


def test_measure_runs_at_least_one_batch_when_the_model_is_slow(clock):
    model = Ticking(clock, 0.25)
    rate = ip.measure_plan(model, InferencePlan(batch_size=3), input_size=8, device=torch.device("cpu"), seconds=0.0)
    assert model.calls == 2  # the warm-up and one timed batch, though 0 s were asked for
    assert rate == 12.0  # 3 images in 0.25 s: measured, not zero


def test_a_failing_model_raises_instead_of_hanging():
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("broken forward")

    with pytest.raises(RuntimeError, match="broken forward"):
        ip.measure_plan(Broken(), InferencePlan(batch_size=2, streams=2), input_size=8, device=torch.device("cpu"), seconds=0.1)


def test_choose_interleaves_rounds_and_keeps_each_plans_best(monkeypatch):
    a, b = InferencePlan(batch_size=16, threads=2), InferencePlan(batch_size=4, streams=2, threads=1)
    order, rates = [], iter([10.0, 12.0, 14.0, 11.0])  # a is slow in round 1 (a cold process), fast in round 2
    monkeypatch.setattr(ip, "measure_plan", lambda model, plan, **kw: order.append(plan) or next(rates))
    plan, measured = ip.choose_plan(Sleepy(0), input_size=8, device=torch.device("cpu"), n_images=10_000, candidates=(a, b))
    assert order == [a, b, a, b]
    assert plan == a and sorted(measured.values()) == [12.0, 14.0]


def test_choose_picks_the_fastest_measured_plan(monkeypatch):
    slow, fast = InferencePlan(batch_size=16, threads=2), InferencePlan(batch_size=4, streams=2, threads=1)
    monkeypatch.setattr(ip, "measure_plan", lambda model, plan, **kw: {slow: 10.0, fast: 15.0}[plan])
    plan, rates = ip.choose_plan(Sleepy(0), input_size=8, device=torch.device("cpu"), n_images=10_000, candidates=(slow, fast))
    assert plan == fast
    assert sorted(rates.values()) == [10.0, 15.0]


def test_choose_does_not_measure_small_jobs_or_gpus(monkeypatch):
    monkeypatch.setattr(ip, "measure_plan", lambda *a, **k: pytest.fail("measured"))
    small, _ = ip.choose_plan(Sleepy(0), input_size=8, device=torch.device("cpu"), n_images=ip.TUNE_MIN_IMAGES - 1)
    assert small == ip.default_plan(torch.device("cpu"))
    gpu, _ = ip.choose_plan(Sleepy(0), input_size=8, device=torch.device("cuda"), n_images=10**6)
    assert gpu == InferencePlan(batch_size=64)
