"""Randomized traffic with skills, tiers, priorities and call-specific skill needs.

The checks use only the command stream and public agent fields, with an
independent eligibility oracle:

* from OfferCall / CancelOffer / Bridge / call end, no agent ever holds two calls;
* whenever a call waits without an offer, no ready agent is eligible for it.
"""

import random

import pytest

from callcore.center.agents import Agent, AgentState, AgentStatus, AgentTimers, Device
from callcore.center.events import Bridge, CancelOffer, OfferCall, Overflow
from callcore.center.queue import Acd, QueueConfig, QueuedCall

TIERS = ((0.0, 4), (15.0, 2), (30.0, 1))
RELAX = 40.0


def eligible(acd: Acd, queue: str, call: QueuedCall, agent: Agent, now: float) -> bool:
    cfg = acd.config(queue)
    wait = now - call.arrived
    if cfg.skills:
        lv = agent.skills.get("cards", 0)
        allowed = max(m for t, m in TIERS if t <= wait)
        if lv < 1 or lv < min(allowed, 4):
            return False
        # tier index is fixed by the best tier the agent reaches
        need_lv = next(m for t, m in TIERS if lv >= m)
        after = next(t for t, m in TIERS if m == need_lv)
        if after > wait:
            return False
    elif agent.id not in [m.agent.id for m in acd.members(queue)]:
        return False
    if call.skills and wait < RELAX:
        return all(agent.skills.get(s, 0) >= v for s, v in call.skills.items())
    return True


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("strategy", ["longest_idle", "ring_all", "least_calls", "round_robin"])
def test_skills_traffic_invariants(seed, strategy):
    rng = random.Random(seed * 100 + len(strategy))
    acd = Acd(timers=AgentTimers(max_no_answer=2, no_answer_delay=3.0), rng=random.Random(seed))
    acd.add_queue(
        QueueConfig(
            "cards",
            strategy=strategy,
            skills={"cards": 1},
            tiers=TIERS,
            attribute_relax=RELAX,
            offer_timeout=6.0,
            wrap_up=1.0,
        )
    )
    acd.add_queue(
        QueueConfig(
            "general", strategy=strategy, attribute_relax=RELAX, offer_timeout=6.0, weight=1
        )
    )
    for i in range(10):
        skills = {"cards": rng.choice([0, 1, 2, 4])}
        if rng.random() < 0.4:
            skills["cantonese"] = 1
        acd.add_agent(
            Agent(f"a{i}", devices=(Device(f"d{i}"),), skills=skills),
            ["general"] if rng.random() < 0.6 else [],
        )
        acd.login(f"a{i}", 0.0)
    acd.drain()

    holds: dict[str, set[str]] = {}
    ringing: dict[tuple[str, str], float] = {}
    bridged: dict[str, tuple[str, float]] = {}
    n = 0
    now = 0.0

    def absorb(cmds):
        for c in cmds:
            if isinstance(c, OfferCall):
                holds.setdefault(c.agent_id, set()).add(c.call_id)
                assert len(holds[c.agent_id]) == 1, (c.agent_id, holds[c.agent_id])
                ringing[(c.call_id, c.agent_id)] = now
            elif isinstance(c, CancelOffer):
                holds[c.agent_id].discard(c.call_id)
                ringing.pop((c.call_id, c.agent_id), None)
            elif isinstance(c, Bridge):
                bridged[c.call_id] = (c.agent_id, now)
            elif isinstance(c, Overflow):
                pass

    for _ in range(800):
        now += rng.expovariate(1.5)
        acd.poll(now)
        absorb(acd.drain())
        r = rng.random()
        if r < 0.3:
            for _ in range(rng.randint(1, 2)):
                q = rng.choice(["cards", "general"])
                need = {"cantonese": 1} if rng.random() < 0.3 else {}
                acd.enqueue(
                    q, QueuedCall(f"c{n}", priority=rng.choice([0, 0, 0, 5]), skills=need), now
                )
                n += 1
        elif r < 0.38:
            a = acd.pool.get(f"a{rng.randrange(10)}")
            if a.status is AgentStatus.LOGGED_OUT:
                acd.login(a.id, now)
            elif a.state is not AgentState.ON_CALL:
                acd.set_status(a.id, rng.choice(list(AgentStatus)), now)
        elif r < 0.45:
            waiting = [c for q in ("cards", "general") for c in acd.waiting(q)]
            if waiting:
                acd.caller_hangup(rng.choice(waiting).call_id, now)
        absorb(acd.drain())
        for key, t in list(ringing.items()):
            if now - t > 1.5 and key in ringing:
                del ringing[key]
                call_id, agent_id = key
                x = rng.random()
                if x < 0.8:
                    if acd.answered(call_id, agent_id, now):
                        holds[agent_id] = {call_id}
                elif x < 0.9:
                    acd.rejected(call_id, agent_id, now)
                    holds[agent_id].discard(call_id)
                else:
                    acd.no_answer(call_id, agent_id, now)
                    holds[agent_id].discard(call_id)
                absorb(acd.drain())
        for cid, (agent_id, t) in list(bridged.items()):
            if now - t > 5.0:
                del bridged[cid]
                acd.call_ended(cid, now)
                holds[agent_id].discard(cid)
                absorb(acd.drain())
        # a stale ring the ACD already withdrew or timed out is not held any more
        for a in acd.pool:
            if a.state is AgentState.IDLE:
                holds.pop(a.id, None)
        # oracle: nobody ready and eligible while a call waits un-offered
        for q in ("cards", "general"):
            for c in acd.waiting(q):
                if c.status != "waiting":
                    continue
                for a in acd.pool:
                    if a.ready:
                        assert not eligible(acd, q, c, a, now), (
                            q,
                            c.call_id,
                            a.id,
                            now - c.arrived,
                        )
