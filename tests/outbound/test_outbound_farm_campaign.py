"""A predictive campaign against real peers: SIPp callees that answer as people
(espeak-ng speech, then they hang up after a while), as answering machines (greeting,
beep), as fax, busy, no answer, invalid numbers and an unreachable host, in known
proportions; registered baresip agents (auto-answer) take the calls the ACD gives
them. The policy is the pacing lab's abandon-budget policy built from a scenario that
describes the same mix, and the simulator runs that scenario for comparison.

Shown: agents are only connected to people; the abandon rate and the AMD accuracy are
measured and printed beside the simulator's figures for the same mix."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from outbound_helpers import WALL, Center, records

from callcore.center.events import CallAnswered
from callcore.outbound.campaign import Campaign
from callcore.outbound.dialer import Dialer
from callcore.outbound.records import ContactPool, RetryPolicy
from callcore.pacing import ComplianceRules
from callcore.sim.engine import simulate
from callcore.sim.policies import make_policy
from callcore.sim.scenario import Scenario

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "switch"))
from farm import Farm
from sip_peers import baresip_agents

pytestmark = [pytest.mark.peer, pytest.mark.slow]

#: callees per behaviour; every callee takes CALLS calls
MIX = {"human": 5, "machine": 3, "fax": 1, "busy": 1, "no_answer": 1, "invalid": 1,
       "network_failure": 1}  # fmt: skip
CALLS = 2
TALK_MS = 6000  # a person hangs up this long after answering
RING_TIMEOUT = 5.0
RULES = ComplianceRules(min_ring=4.0)


def mix_scenario(n_records: int, duration: float) -> Scenario:
    """The farm's mix as a pacing-lab scenario (2 agents)."""
    share = {k: MIX[k] * CALLS / n_records for k in MIX}
    return Scenario.from_dict(
        {
            "name": "farm-mix",
            "duration": duration,
            "agents": 2,
            "start": "10:00",
            "outbound": {
                "answer": {
                    "human": share["human"],
                    "machine": share["machine"] + share["fax"],
                    "busy": share["busy"],
                    "invalid": share["invalid"] + share["network_failure"],
                },
                "time_to_answer": {"dist": "uniform", "low": 0.3, "high": 1.5},
                "ring_timeout": RING_TIMEOUT,
                "talk": {"dist": "uniform", "low": 2.0, "high": 3.5},
                "wrap": {"dist": "uniform", "low": 0.5, "high": 0.5},
                "patience": {"dist": "uniform", "low": 3.0, "high": 4.0},
                "amd": {
                    "enabled": True,
                    "human_as_machine": 0.1,
                    "machine_as_human": 0.05,
                    "delay": {"dist": "uniform", "low": 1.5, "high": 2.5},
                },
            },
            "compliance": {"min_ring": RULES.min_ring, "connect_window": RULES.connect_window},
        },
        "farm-mix",
    )


# one event loop: ~60 s of real calls (the dialer runs on both loops in test_outbound_dialer)
@pytest.mark.parametrize("loop_factory", ["uvloop"], indirect=True)
def test_predictive_campaign_against_a_sipp_farm_with_baresip_agents(tmp_path, arun):
    farm = Farm(tmp_path / "farm")
    try:
        uris = farm.start(MIX, calls_each=CALLS, talk_ms={"human": TALK_MS})
    except RuntimeError as e:  # pragma: no cover - the farm could not start
        farm.stop(grace=0)
        pytest.fail(str(e))
    behaviour = {u: b for b, us in uris.items() for u in us}
    targets = [u for u in behaviour for _ in range(CALLS)]
    numbers = [f"+861390000{i:04d}" for i in range(len(targets))]
    uri_of = dict(zip(numbers, targets, strict=True))
    scenario = mix_scenario(len(numbers), 600.0)

    async def main():
        campaign = Campaign("farm", queue="outbound", purpose="collections", caller_id="95588",
                            ring_timeout=RING_TIMEOUT, rules=RULES, max_lines=6,
                            decide_every=0.5)  # fmt: skip
        center = Center(campaign, ["8001", "8002"])
        await center.start()
        answered: Counter = Counter()
        center.acd.subscribe(
            lambda ev: answered.update([ev.agent_id]) if isinstance(ev, CallAnswered) else None
        )
        pool = ContactPool(RetryPolicy(max_attempts=1))  # one attempt each: a known mix
        pool.add(records(numbers))
        dialer = Dialer(center.runtime, campaign, pool,
                        policy=make_policy("budget", scenario),
                        wall_clock=lambda: WALL, time_of_day=lambda: 36000.0,
                        uri_for=lambda rec: uri_of[rec.number],
                        truth=lambda rec: _truth(behaviour[uri_of[rec.number]]))  # fmt: skip
        try:
            async with baresip_agents(tmp_path, center.port, ["8001", "8002"]):
                loop = asyncio.get_running_loop()
                end = loop.time() + 20
                while len([a for a in center.acd.pool if a.status.value == "available"]) < 2:
                    assert loop.time() < end, "baresip agents did not register"
                    await asyncio.sleep(0.1)
                t0 = loop.time()
                summary = await asyncio.wait_for(dialer.run(), 240)
                elapsed = loop.time() - t0
        finally:
            await center.stop()
        return dialer, summary, answered, elapsed

    try:
        dialer, summary, answered, elapsed = arun(main())
    finally:
        stats = farm.stop(grace=10)

    got = Counter()
    for att in dialer.attempts:
        kind = behaviour[uri_of[att.number]]
        got[(kind, att.outcome)] += 1
        if att.agent_id is not None:
            assert kind == "human", f"agent {att.agent_id} was connected to a {kind}"
    assert len(dialer.attempts) == len(numbers)
    # the network classes are exact; the audio classes are AMD's (reported below)
    for kind, outcome in (("busy", "busy"), ("no_answer", "no_answer"),
                          ("invalid", "invalid_number"), ("network_failure", "network_failure"),
                          ("fax", "fax")):  # fmt: skip
        assert got[(kind, outcome)] == MIX[kind] * CALLS, (kind, dict(got))
    humans = MIX["human"] * CALLS
    assert summary["connected"] >= humans // 2, summary  # agents did take calls
    assert sum(answered.values()) == summary["connected"]
    assert set(answered) <= {"agent8001", "agent8002"}

    # the simulator on the same mix, same policy, many replications
    sim_scn = mix_scenario(len(numbers), max(60.0, elapsed))
    rates = []
    for rep in range(200):
        r = simulate(sim_scn, make_policy("budget", sim_scn), seed=11, replication=rep)
        rates.append(r.metrics["abandon_rate"])
    lo, hi = np.percentile(rates, [0.5, 99.5])
    print(f"\nfarm campaign: {dict(got)}")
    print(f"live: {summary}; {elapsed:.0f} s")
    print(f"simulator, same mix and policy, 200 replications: abandon rate mean "
          f"{np.mean(rates):.3f}, 99 % range [{lo:.3f}, {hi:.3f}]; live {summary['abandon_rate']:.3f}")  # fmt: skip
    assert summary.get("amd_accuracy", 0) >= 0.7
    assert min(rates) <= summary["abandon_rate"] <= max(max(rates), 0.5)
    failed = [s for ss in stats.values() for s in ss if s.failed and s.behaviour != "human"]
    assert not failed, failed


def _truth(kind: str) -> str | None:
    return {"human": "human", "machine": "machine", "fax": "fax"}.get(kind)
