"""Simulator throughput: dial attempts per wall second on the 200-agent, 8-hour floor.

Baseline: a plain SimPy model of the same floor (``callcore.sim.simpy_model``),
measured in the same run, which must produce identical statistics. Also shown:
the event core's pure-Python twin. Every variant runs callcore's ``budget``
policy (a Python object called once per simulated second) through the same
compliance guard.

Run: .venv/bin/pytest benchmarks/bench_sim_throughput.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

from callcore.sim.engine import simulate
from callcore.sim.policies import make_policy
from callcore.sim.scenario import Scenario
from callcore.sim.simpy_model import simulate_simpy

SC = Scenario.load("collections200")
SEED = 1
_cache: dict[str, object] = {}


def _reference():
    if "ref" not in _cache:
        _cache["ref"] = simulate(SC, make_policy("budget", SC), seed=SEED)
    return _cache["ref"]


def _record(benchmark, result) -> None:
    dials = result.counters["dials"]
    benchmark.extra_info["dial_attempts"] = dials
    benchmark.extra_info["attempts_per_second"] = dials / benchmark.stats.stats.min
    benchmark.extra_info["occupancy"] = result.metrics["occupancy"]
    benchmark.extra_info["abandon_rate"] = result.metrics["abandon_rate"]


def _same(a, b) -> None:
    assert a.counters == b.counters
    assert np.array_equal(a.intervals, b.intervals)
    assert np.array_equal(a.out_wait_hist, b.out_wait_hist)


@pytest.mark.benchmark(group="sim-collections200-8h")
def test_core_compiled(benchmark):
    """The Cython event core (what `callcore sim` uses)."""
    res = benchmark.pedantic(
        lambda p: simulate(SC, p, seed=SEED, pure=False),
        setup=lambda: ((make_policy("budget", SC),), {}),
        rounds=5,
        iterations=1,
    )
    _same(res, _reference())
    _record(benchmark, res)


@pytest.mark.benchmark(group="sim-collections200-8h")
def test_simpy_baseline(benchmark):
    """Baseline: plain SimPy model of the same floor, identical statistics required."""
    res = benchmark.pedantic(
        lambda p: simulate_simpy(SC, p, seed=SEED),
        setup=lambda: ((make_policy("budget", SC),), {}),
        rounds=2,
        iterations=1,
    )
    _same(res, _reference())
    _record(benchmark, res)


@pytest.mark.benchmark(group="sim-collections200-8h")
def test_core_pure_twin(benchmark):
    """The event core's pure-Python twin (CALLCORE_PURE=1)."""
    res = benchmark.pedantic(
        lambda p: simulate(SC, p, seed=SEED, pure=True),
        setup=lambda: ((make_policy("budget", SC),), {}),
        rounds=2,
        iterations=1,
    )
    _same(res, _reference())
    _record(benchmark, res)
