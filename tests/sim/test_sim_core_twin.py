"""The compiled event core and its pure-Python twin give identical results."""

import numpy as np
import pytest

from callcore import fastpath
from callcore.sim.engine import simulate
from callcore.sim.policies import make_policy
from callcore.sim.scenario import Scenario


def _compiled():
    try:
        return fastpath.load(pure=False, name="callcore.sim._core")
    except ImportError:
        pytest.skip("compiled simulator core not built")


@pytest.fixture(params=["cython", "pure"])
def core(request):
    """The simulator core under test: compiled, then pure Python."""
    if request.param == "cython":
        return _compiled()
    return fastpath.load(pure=True, name="callcore.sim._core")


def _short(name: str, **over) -> Scenario:
    sc = Scenario.load(name)
    return sc.with_overrides({"duration": 1800, **over}) if sc.data["duration"] > 1800 else sc


CASES = [
    ("bench50-talk40-60", "budget"),
    ("team10", "vicidial"),
    ("blended60", "erlang"),
    ("collections200-amd-safe", "budget"),
    ("collections200", "preview"),
]


@pytest.mark.parametrize(("name", "policy"), CASES)
def test_twins_identical(name, policy):
    sc = _short(name)
    a = simulate(sc, make_policy(policy, sc), seed=11, core=_compiled())
    b = simulate(sc, make_policy(policy, sc), seed=11, pure=True)
    assert a.counters == b.counters
    assert np.array_equal(a.intervals, b.intervals)
    assert np.array_equal(a.out_wait_hist, b.out_wait_hist)
    assert np.array_equal(a.in_wait_hist, b.in_wait_hist)
    assert np.array_equal(a.level, b.level)
    assert a.counters["dials"] > 0


def test_breaks_retries_callbacks_happen(core):
    """The 200-agent scenario exercises breaks, retries and callbacks (2 h slice)."""
    sc = Scenario.load("collections200").with_overrides(
        {
            "duration": 7200,
            "outbound.retries.delay": 1200,
            "outbound.callbacks.delay": 600,
            "shifts": [
                {"agents": 200, "start": 0, "end": 7200,
                 "breaks": [{"at": 1800, "length": 600, "stagger": 3}]}
            ],
        }
    )  # fmt: skip
    r = simulate(sc, make_policy("budget", sc), seed=5, core=core)
    c = r.counters
    assert c["dials_retry"] > 0 and c["dials_callback"] > 0 and c["callbacks"] > 0
    # breaks: 200 agents x 600 s away -> logged time below 200 x 7200 by about 120,000 s
    missing = 200 * 7200 - c["logged_time"]
    assert 100_000 < missing < 140_000
    # conservation: every resolved attempt is counted exactly once
    resolved = c["busy"] + c["invalid"] + c["no_answer"] + c["answers"]
    assert resolved <= c["dials"]
    assert c["live"] + c["machines"] == c["answers"]


def test_same_seed_same_result_different_seed_differs(core):
    sc = _short("team10")
    a = simulate(sc, make_policy("progressive", sc), seed=1, core=core)
    b = simulate(sc, make_policy("progressive", sc), seed=1, core=core)
    c = simulate(sc, make_policy("progressive", sc), seed=2, core=core)
    assert a.counters == b.counters
    assert a.counters != c.counters


def test_replications_are_independent_of_each_other(core):
    sc = _short("team10")
    r1 = simulate(sc, make_policy("progressive", sc), seed=1, replication=1, core=core)
    r1b = simulate(sc, make_policy("progressive", sc), seed=1, replication=1, core=core)
    r0 = simulate(sc, make_policy("progressive", sc), seed=1, replication=0, core=core)
    assert r1.counters == r1b.counters != r0.counters
