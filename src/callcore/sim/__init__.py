"""callcore.sim: discrete-event pacing laboratory, Erlang analytics, benchmark scenarios.

See docs/simulator.md and docs/erlang.md.
"""

from .engine import RunResult, SimulationError, simulate
from .erlang import (
    ErlangA,
    ErlangC,
    agents_for_abandon,
    agents_for_service_level,
    erlang_a,
    erlang_b,
    erlang_c,
)
from .policies import POLICY_NAMES, make_policy
from .runner import Point, PointResult, ci, paired_ci, sweep
from .scenario import Scenario, ScenarioError, bundled_scenarios, load_scenario

__all__ = [
    "POLICY_NAMES",
    "ErlangA",
    "ErlangC",
    "Point",
    "PointResult",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "agents_for_abandon",
    "agents_for_service_level",
    "bundled_scenarios",
    "ci",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "load_scenario",
    "make_policy",
    "paired_ci",
    "simulate",
    "sweep",
]
