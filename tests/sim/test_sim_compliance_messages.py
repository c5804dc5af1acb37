"""The compliance message: one per human still on the line when the connect window closes.

A human answered and not connected to an agent within ``connect_window`` (2 s) is
abandoned by the rule and hears the recorded message. Humans who hang up first
(patience shorter than the window) and humans hung up on by AMD are abandoned too,
but hear nothing.
"""

import numpy as np
import pytest

from callcore import fastpath
from callcore.sim.engine import simulate
from callcore.sim.policies import make_policy
from callcore.sim.scenario import Scenario
from callcore.sim.simpy_model import simulate_simpy
from callcore.sim.tables import to_frame, to_summary


def _compiled():
    try:
        return fastpath.load(pure=False, name="callcore.sim._core")
    except ImportError:
        pytest.skip("compiled simulator core not built")


@pytest.fixture(params=["cython", "pure"])
def core(request):
    if request.param == "cython":
        return _compiled()
    return fastpath.load(pure=True, name="callcore.sim._core")


def _floor(patience, amd: bool = True) -> Scenario:
    """50 agents, 60 % humans and 20 % machines; the Vicidial baseline's start-up
    overshoot guarantees calls that find every agent busy."""
    return Scenario.load("bench50-talk40-60").with_overrides(
        {
            "duration": 900,
            "outbound.patience": patience,
            "outbound.answer": {"human": 0.6, "machine": 0.2, "busy": 0.1, "invalid": 0.0},
            "outbound.amd.enabled": amd,
        }
    )


def _run(sc: Scenario, core, seed: int = 3):
    return simulate(sc, make_policy("vicidial", sc), seed=seed, core=core)


def test_every_rule_abandon_gets_one_message(core):
    """Patient humans (10 s > 2 s window): every abandon not caused by AMD is by the
    rule, and each gets exactly one message."""
    c = _run(_floor({"dist": "fixed", "value": 10}), core).counters
    by_rule = c["abandons"] - c["abandons_amd"]
    assert by_rule > 5 and c["abandons_amd"] > 5
    assert c["compliance_messages"] == by_rule


def test_callers_who_hang_up_first_get_no_message(core):
    """Patience 1.5 s < 2 s window: the same calls are abandoned, nobody is left to hear."""
    c = _run(_floor({"dist": "fixed", "value": 1.5}), core).counters
    assert c["abandons"] - c["abandons_amd"] > 5
    assert c["compliance_messages"] == 0


def test_mixed_patience_and_machines(core):
    """Exponential patience: some hang up first, some reach the window. Without AMD the
    machines that reach the window are machine drops, not compliance messages."""
    c = _run(_floor({"dist": "exponential", "mean": 3}, amd=False), core).counters
    assert c["abandons_amd"] == 0 and c["machine_drops"] > 0
    assert 0 < c["compliance_messages"] < c["abandons"]
    m = _run(_floor({"dist": "fixed", "value": 10}, amd=False), core).counters
    assert m["compliance_messages"] == m["abandons"] > 0


def test_messages_identical_in_both_cores_and_simpy():
    sc = _floor({"dist": "exponential", "mean": 3})
    a = simulate(sc, make_policy("vicidial", sc), seed=8, core=_compiled())
    b = simulate(sc, make_policy("vicidial", sc), seed=8, pure=True)
    s = simulate_simpy(sc, make_policy("vicidial", sc), seed=8)
    assert a.counters == b.counters == s.counters
    assert a.metrics["compliance_messages"] == a.counters["compliance_messages"] > 0


def test_messages_in_csv_rows_and_summaries():
    """Per-replication rows (CSV/Parquet) carry the count; summaries can ask for it."""
    from callcore.sim.runner import Point, PointResult

    sc = _floor({"dist": "fixed", "value": 10})
    ms = [simulate(sc, make_policy("vicidial", sc), seed=1, replication=r).metrics
          for r in range(2)]  # fmt: skip
    res = [PointResult(Point("x", "vicidial"), metrics=ms)]
    assert list(to_frame(res)["compliance_messages"]) == [m["compliance_messages"] for m in ms]
    summary = to_summary(res, keys=("abandon_rate", "compliance_messages"))
    assert summary["compliance_messages"][0] == np.mean([m["compliance_messages"] for m in ms])
    assert "compliance_messages_ci" in summary
