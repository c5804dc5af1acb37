"""Randomized invariant checks: no agent holds two calls, no caller is skipped."""

import random

import pytest

from callcore.center.agents import Agent, AgentState, AgentStatus, AgentTimers, Device
from callcore.center.events import Bridge, OfferCall
from callcore.center.queue import Acd, QueueConfig, QueuedCall
from callcore.center.stats import StatsCollector
from callcore.center.strategies import STRATEGY_NAMES


def check(acd: Acd, now: float) -> None:
    holder: dict[str, str] = {}
    for q in acd.queue_names():
        for c in acd.waiting(q):
            for a in c.offers:
                assert a not in holder, f"agent {a} offered {c.call_id} and {holder[a]}"
                holder[a] = c.call_id
                assert acd.pool.get(a).state is AgentState.RESERVED
    for a in acd.pool:
        if a.state in (AgentState.RESERVED, AgentState.ON_CALL):
            assert a.call_id is not None
        # no ready agent may sit idle while a call it can take waits un-offered
        if a.ready:
            for q in acd.queue_names():
                for c in acd.waiting(q):
                    if c.status == "waiting" and not c.skills and not c.dedicated_agent:
                        assert a.id not in [m.agent.id for m in acd.members(q)], (
                            f"{a.id} idle while {c.call_id} waits in {q}"
                        )


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_random_traffic_keeps_invariants(strategy):
    rng = random.Random(hash(strategy) & 0xFFFF)
    acd = Acd(timers=AgentTimers(max_no_answer=0), rng=random.Random(1))
    stats = StatsCollector()
    acd.subscribe(stats.on_event)
    for qn in ("a", "b", "c"):
        acd.add_queue(QueueConfig(qn, strategy=strategy, offer_timeout=8.0, wrap_up=2.0))
    for i in range(8):
        qs = rng.sample(["a", "b", "c"], rng.randint(1, 3))
        acd.add_agent(Agent(f"ag{i}", devices=(Device(f"d{i}"),)), qs)
    now = 0.0
    ringing: dict[tuple[str, str], float] = {}
    bridged: dict[str, float] = {}
    offer_order: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    first_offered: set[str] = set()
    n = 0
    for _ in range(1500):
        now += rng.expovariate(1.0)
        acd.poll(now)
        r = rng.random()
        if r < 0.25:
            # several simultaneous arrivals at the same instant
            for _ in range(rng.randint(1, 3)):
                acd.enqueue(rng.choice("abc"), QueuedCall(f"c{n}"), now)
                n += 1
        elif r < 0.35:
            a = acd.pool.get(f"ag{rng.randrange(8)}")
            try:
                if a.status is AgentStatus.LOGGED_OUT:
                    acd.login(a.id, now)
                elif a.state is not AgentState.ON_CALL:
                    acd.set_status(
                        a.id,
                        rng.choice(
                            [AgentStatus.LOGGED_OUT, AgentStatus.NOT_READY, AgentStatus.AVAILABLE]
                        ),
                        now,
                    )
            except Exception as e:  # only the documented refusal may happen
                assert "not allowed" in str(e)
        elif r < 0.45:
            waiting = [c for q in "abc" for c in acd.waiting(q)]
            if waiting:
                acd.caller_hangup(rng.choice(waiting).call_id, now)
        for cmd in acd.drain():
            if isinstance(cmd, OfferCall):
                ringing[(cmd.call_id, cmd.agent_id)] = now
                if cmd.call_id not in first_offered:
                    first_offered.add(cmd.call_id)
                    offer_order[cmd.queue].append(cmd.call_id)
            elif isinstance(cmd, Bridge):
                bridged[cmd.call_id] = now
        for key, t in list(ringing.items()):
            if now - t > 2.0:
                del ringing[key]
                if rng.random() < 0.9:
                    acd.answered(*key, now)
                else:
                    acd.rejected(*key, now)
        for cid, t in list(bridged.items()):
            if now - t > 6.0:
                del bridged[cid]
                acd.call_ended(cid, now)
        for cmd in acd.drain():
            if isinstance(cmd, OfferCall):
                ringing[(cmd.call_id, cmd.agent_id)] = now
                if cmd.call_id not in first_offered:
                    first_offered.add(cmd.call_id)
                    offer_order[cmd.queue].append(cmd.call_id)
            elif isinstance(cmd, Bridge):
                bridged[cmd.call_id] = now
        check(acd, now)
    total = sum(c.answered for c in stats.totals.values())
    assert total > 100
    # equal priority, no skills: within a queue calls are first offered in arrival order
    for q, order in offer_order.items():
        nums = [int(c[1:]) for c in order]
        assert nums == sorted(nums), q
    for q, qc in stats.totals.items():
        assert qc.offered == qc.answered + qc.abandoned + len(acd.waiting(q)) - sum(
            1 for c in acd.waiting(q) if c.status == "bridged"
        )


def test_simultaneous_arrivals_single_agent_gets_one_call():
    acd = Acd()
    acd.add_queue(QueueConfig("q", strategy="ring_all"))
    acd.add_agent(Agent("x", devices=(Device("d"),)), ["q"])
    acd.login("x", 0.0)
    for i in range(5):
        acd.enqueue("q", QueuedCall(f"c{i}"), 1.0)
    offered = [c for c in acd.drain() if isinstance(c, OfferCall)]
    assert [(o.call_id, o.agent_id) for o in offered] == [("c0", "x")]
    assert [c.call_id for c in acd.waiting("q")] == ["c0", "c1", "c2", "c3", "c4"]
