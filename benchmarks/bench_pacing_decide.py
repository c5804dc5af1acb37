"""Cost of one pacing decision of callcore's ``budget`` policy (200-agent floor state).

Baseline: the same policy with the pure-Python twin of its arithmetic kernels
(``callcore.pacing._forecast_py``), measured in the same run.

Run: .venv/bin/pytest benchmarks/bench_pacing_decide.py --benchmark-enable --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

from callcore import fastpath
from callcore.pacing import PacingState, handle, policies
from callcore.sim.policies import make_policy
from callcore.sim.scenario import Scenario

SC = Scenario.load("collections200")


def _state(t: float) -> PacingState:
    rng = np.random.Generator(np.random.PCG64(3))
    return PacingState(
        t, 36000.0 + t, 6, 170, 20, 4, 900, 2, 40000, 39000, 6000, 84000.0, 5800, 3900, 70, 0,
        rng.uniform(0, 400, 170), rng.uniform(0, 30, 20),
    )  # fmt: skip


def _bench(benchmark, kern):
    saved = policies._kern, handle._kern
    policies._kern = handle._kern = kern
    try:
        pol = make_policy("budget", SC)
        for t in range(60):  # warm the estimators
            pol.decide(_state(float(t)), float(t))
        s = _state(61.0)
        n = benchmark(pol.decide, s, 61.0)
        assert n >= 0
    finally:
        policies._kern, handle._kern = saved


@pytest.mark.benchmark(group="pacing-decide-budget")
def test_decide_compiled_kernels(benchmark):
    try:
        kern = fastpath.load(pure=False, name="callcore.pacing._forecast")
    except ImportError:
        pytest.skip("compiled kernels not built")
    _bench(benchmark, kern)


@pytest.mark.benchmark(group="pacing-decide-budget")
def test_decide_pure_kernels(benchmark):
    _bench(benchmark, fastpath.load(pure=True, name="callcore.pacing._forecast"))
