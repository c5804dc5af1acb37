"""The plain SimPy model and the event core produce identical statistics."""

import numpy as np
import pytest

from callcore.sim.engine import simulate
from callcore.sim.policies import make_policy
from callcore.sim.scenario import Scenario
from callcore.sim.simpy_model import simulate_simpy

CASES = [
    ("bench50-talk40-60", "budget", {}),
    ("team10", "vicidial", {"duration": 3600}),
    ("blended60", "progressive", {"duration": 3600}),
    ("collections200-amd-safe", "erlang", {"duration": 2400}),
    ("collections200", "budget", {"duration": 3600, "outbound.callbacks.delay": 300,
                                  "outbound.retries.delay": 600}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "policy", "over"), CASES)
def test_simpy_identical(name, policy, over):
    sc = Scenario.load(name)
    if over:
        sc = sc.with_overrides(over)
    a = simulate(sc, make_policy(policy, sc), seed=21)
    b = simulate_simpy(sc, make_policy(policy, sc), seed=21)
    assert a.counters == b.counters
    assert np.array_equal(a.intervals, b.intervals)
    assert np.array_equal(a.out_wait_hist, b.out_wait_hist)
    assert np.array_equal(a.in_wait_hist, b.in_wait_hist)
    np.testing.assert_equal(a.metrics, b.metrics)  # NaN == NaN here
    assert a.counters["connects"] > 0


def test_simpy_inbound_only_identical():
    from callcore.sim.validation import ErlangConfig, erlang_scenario

    sc = erlang_scenario(ErlangConfig(10, patience=60.0), hours=3)
    a = simulate(sc, None, seed=4)
    b = simulate_simpy(sc, None, seed=4)
    # the warm-up reset is a core feature the SimPy model does not mirror: compare
    # the scenario without warm-up instead
    sc2 = sc.with_overrides({"warmup": 0})
    a2, b2 = simulate(sc2, None, seed=4), simulate_simpy(sc2, None, seed=4)
    assert a2.counters == b2.counters
    assert a.counters["in_arrivals"] > 0 and b.counters["in_arrivals"] > 0
