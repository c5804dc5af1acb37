"""The bank hotline on live SIP calls against the simulated crowd (callcore UAs on loopback)."""

from __future__ import annotations

import asyncio
import random

import pytest
from center_live_helpers import bank_example, check_acd_consistency

from callcore.center.crowd import (
    AgentBehaviour,
    CallerScript,
    CrowdAgents,
    CrowdCallers,
    bank_scripts,
)
from callcore.center.live import BeepPrompts

pytestmark = [pytest.mark.slow]


async def _setup(tmp_path, n_agents, behaviour, **kw):
    ex = bank_example()
    specs = [
        ex.AgentSpec(f"a{i}", str(8200 + i), queues=("general", "collections", "vip"),
                     skills=(("cards", 5),))
        for i in range(n_agents)
    ]  # fmt: skip
    center = ex.build_bank_hotline(
        agents=specs, prompts=BeepPrompts(0.04), recordings_dir=tmp_path, **kw
    )
    await center.start()
    crowd = CrowdAgents(
        ("127.0.0.1", center.port),
        [(s.extension, s.password) for s in specs],
        behaviour=behaviour,
        rng=random.Random(7),
    )
    await crowd.start()
    callers = CrowdCallers(f"sip:95588@127.0.0.1:{center.port}", crowd, max_call=60)
    await callers.start()
    return center, crowd, callers


async def _teardown(center, crowd, callers):
    await callers.stop()
    await crowd.stop()
    await center.stop()


def test_ten_agents_three_hundred_calls_none_lost(tmp_path):
    """10 registered agents, 300 callers walking the IVR with RFC 4733 digits."""
    import uvloop

    async def main():
        center, crowd, callers = await _setup(
            tmp_path, 10, AgentBehaviour((0.05, 0.2), (0.3, 0.8)), wrap_up=0.1
        )
        try:
            assert center.runtime.snapshot()["agents_logged_in"] == 10  # logged in on REGISTER
            rng = random.Random(11)
            outs = await callers.run([bank_scripts(rng) for _ in range(300)], rate=25)
            await asyncio.sleep(0.3)
            return center, crowd, outs
        finally:
            await _teardown(center, crowd, callers)

    center, crowd, outs = uvloop.run(main())
    kinds = {o.script.label for o in outs}
    assert kinds >= {"agent", "collections", "lost_card", "balance", "vip", "gold"}
    lost = [o for o in outs if o.outcome not in ("agent", "self_service")]
    assert lost == []
    # self-service exactly for the balance inquiries, an agent for everyone else
    for o in outs:
        assert o.outcome == ("self_service" if o.script.label == "balance" else "agent"), o
    to_agents = sum(o.outcome == "agent" for o in outs)
    answered = sum(t.answered for t in center.stats.totals.values())
    assert answered == to_agents == sum(log.answered for log in crowd.log.values())
    assert sum(t.abandoned for t in center.stats.totals.values()) == 0
    # each caller reached the queue its menu choice leads to
    by_call = {o.call_id: o.script.label for o in outs}
    want = {"agent": "general", "gold": "general", "collections": "collections",
            "lost_card": "cards", "vip": "vip"}  # fmt: skip
    from callcore.center.events import CallAnswered

    for ev in center.stats.events:
        if isinstance(ev, CallAnswered):
            assert ev.queue == want[by_call[ev.call_id]]
    # no agent phone ever carried two calls at once; work was spread
    assert all(log.max_active == 1 for log in crowd.log.values())
    assert sum(log.answered > 0 for log in crowd.log.values()) == 10
    check_acd_consistency(center)
    # the bank saw the card-loss reports and balance inquiries
    ops = [op for op, _ in center.bank.calls]
    assert "report_card_lost" in ops and "balance" in ops


def test_impatient_callers_are_counted_as_abandoned(tmp_path, arun):
    """One slow agent; callers with 1-2 s of patience abandon; the ACD counts exactly them."""

    async def main():
        center, crowd, callers = await _setup(
            tmp_path, 1, AgentBehaviour((0.05, 0.1), (2.5, 2.5)), wrap_up=0.1
        )
        try:
            scripts = [CallerScript(f"+8613900000{i:03d}", ((0.2, "0"),), "agent",
                                    None if i == 0 else 1.0 + 0.2 * i, f"c{i}")
                       for i in range(5)]  # fmt: skip
            outs = await callers.run(scripts, rate=5)
            await asyncio.sleep(0.3)
            return center, outs
        finally:
            await _teardown(center, crowd, callers)

    center, outs = arun(main())
    abandoned = [o for o in outs if o.outcome == "abandoned"]
    assert outs[0].outcome == "agent"
    assert len(abandoned) == 4
    t = center.stats.totals["general"]
    assert (t.offered, t.answered, t.abandoned) == (5, 1, 4)
    assert center.runtime.counters.abandoned == 4
    # abandon waits are what the callers waited (patience after the digit), not more
    for w, o in zip(sorted(t.abandon_waits), sorted(abandoned, key=lambda o: o.script.patience),
                    strict=True):  # fmt: skip
        assert o.script.patience - 0.5 < w < o.script.patience + 1.5
    check_acd_consistency(center)
