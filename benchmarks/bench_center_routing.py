"""Routing decision cost per call: 1,000 agents, 50 queues.

``callcore`` — :class:`callcore.center.queue.Acd`: a call joins a random
queue, the ACD picks an agent (longest idle among the queue's ready members)
and emits the offer; the caller then hangs up so the agent is free again.
The measured cycle is therefore enqueue + routing decision + offer command +
release, all through the public API.

``naive`` (baseline) — the obvious implementation: scan all 1,000 agents,
keep those logged in, idle, members of the queue, then take the longest idle;
reserve and release it by flag. It does no events, commands or timers.

Two loads: 80 % of agents busy on calls (typical) and every agent idle.
Run: ``.venv/bin/pytest benchmarks/bench_center_routing.py --benchmark-enable --benchmark-only``
"""

from __future__ import annotations

import itertools
import random

import pytest

from callcore.center.agents import Agent, Device
from callcore.center.events import Bridge, OfferCall
from callcore.center.queue import Acd, QueueConfig, QueuedCall

N_AGENTS = 1000
N_QUEUES = 50
QUEUES_PER_AGENT = 3


def memberships(rng: random.Random) -> list[list[str]]:
    names = [f"q{i}" for i in range(N_QUEUES)]
    return [rng.sample(names, QUEUES_PER_AGENT) for _ in range(N_AGENTS)]


def build_acd(busy_fraction: float) -> tuple[Acd, random.Random]:
    rng = random.Random(42)
    acd = Acd()
    for i in range(N_QUEUES):
        acd.add_queue(QueueConfig(f"q{i}", strategy="longest_idle", music=None))
    for i, qs in enumerate(memberships(rng)):
        acd.add_agent(Agent(f"a{i}", devices=(Device(f"sip:a{i}@127.0.0.1"),)), qs)
        acd.login(f"a{i}", float(i) * 0.001)
    # make a share of the agents busy on answered calls
    n_busy = int(N_AGENTS * busy_fraction)
    k = 0
    while sum(1 for a in acd.pool if not a.ready) < n_busy:
        acd.enqueue(f"q{k % N_QUEUES}", QueuedCall(f"busy{k}"), 10.0)
        for cmd in acd.drain():
            if isinstance(cmd, OfferCall):
                acd.answered(cmd.call_id, cmd.agent_id, 10.0)
        k += 1
    acd.drain()
    return acd, rng


class NaiveAgent:
    __slots__ = ("busy", "id", "idle_since", "logged_in", "queues")

    def __init__(self, aid: str, queues: set[str], idle_since: float) -> None:
        self.id = aid
        self.queues = queues
        self.logged_in = True
        self.busy = False
        self.idle_since = idle_since


def naive_route(agents: list[NaiveAgent], queue: str) -> NaiveAgent | None:
    best = None
    for a in agents:
        if (
            a.logged_in
            and not a.busy
            and queue in a.queues
            and (best is None or a.idle_since < best.idle_since)
        ):
            best = a
    return best


def build_naive(busy_fraction: float) -> tuple[list[NaiveAgent], random.Random]:
    rng = random.Random(42)
    agents = [NaiveAgent(f"a{i}", set(qs), i * 0.001) for i, qs in enumerate(memberships(rng))]
    for a in rng.sample(agents, int(N_AGENTS * busy_fraction)):
        a.busy = True
    return agents, rng


@pytest.mark.benchmark(group="center-routing-80pct-busy")
def test_callcore_acd_80pct_busy(benchmark):
    acd, rng = build_acd(0.8)
    ids = itertools.count()
    queues = [f"q{i}" for i in range(N_QUEUES)]

    def one():
        cid = f"c{next(ids)}"
        acd.enqueue(queues[rng.randrange(N_QUEUES)], QueuedCall(cid), 100.0)
        out = acd.drain()
        acd.caller_hangup(cid, 100.0)
        acd.drain()
        return out

    out = benchmark(one)
    assert any(isinstance(c, OfferCall) for c in out) or out == []


@pytest.mark.benchmark(group="center-routing-80pct-busy")
def test_naive_scan_80pct_busy(benchmark):
    agents, rng = build_naive(0.8)
    queues = [f"q{i}" for i in range(N_QUEUES)]

    def one():
        a = naive_route(agents, queues[rng.randrange(N_QUEUES)])
        if a is not None:
            a.busy = True
            a.busy = False
        return a

    benchmark(one)


@pytest.mark.benchmark(group="center-routing-all-idle")
def test_callcore_acd_all_idle(benchmark):
    acd, rng = build_acd(0.0)
    ids = itertools.count()
    queues = [f"q{i}" for i in range(N_QUEUES)]

    def one():
        cid = f"c{next(ids)}"
        acd.enqueue(queues[rng.randrange(N_QUEUES)], QueuedCall(cid), 100.0)
        out = acd.drain()
        acd.caller_hangup(cid, 100.0)
        acd.drain()
        return out

    out = benchmark(one)
    assert any(isinstance(c, OfferCall) for c in out)


@pytest.mark.benchmark(group="center-routing-all-idle")
def test_naive_scan_all_idle(benchmark):
    agents, rng = build_naive(0.0)
    queues = [f"q{i}" for i in range(N_QUEUES)]

    def one():
        a = naive_route(agents, queues[rng.randrange(N_QUEUES)])
        if a is not None:
            a.busy = True
            a.busy = False
        return a

    assert benchmark(one) is not None


def test_setup_is_what_it_claims():
    acd, _ = build_acd(0.8)
    ready = sum(1 for a in acd.pool if a.ready)
    assert len(acd.pool) == N_AGENTS and len(acd.queue_names()) == N_QUEUES
    assert ready <= N_AGENTS * 0.2
    bridged = [c for c in acd.drain() if isinstance(c, Bridge)]
    assert bridged == []


# --------------------------------------------------------- skills-based routing
SKILL_TIERS = ((0.0, 4), (20.0, 2), (40.0, 1))


def build_skills_acd() -> tuple[Acd, random.Random]:
    rng = random.Random(7)
    acd = Acd()
    for i in range(N_QUEUES):
        acd.add_queue(
            QueueConfig(
                f"q{i}", strategy="longest_idle", skills={f"s{i}": 1}, tiers=SKILL_TIERS, music=None
            )
        )
    for i in range(N_AGENTS):
        skills = {f"s{k}": rng.randint(1, 5) for k in rng.sample(range(N_QUEUES), QUEUES_PER_AGENT)}
        acd.add_agent(Agent(f"a{i}", devices=(Device(f"sip:a{i}@127.0.0.1"),), skills=skills))
        acd.login(f"a{i}", float(i) * 0.001)
    acd.drain()
    return acd, rng


@pytest.mark.benchmark(group="center-routing-skills-tiers")
def test_callcore_acd_skills_tiers(benchmark):
    acd, rng = build_skills_acd()
    ids = itertools.count()
    queues = [f"q{i}" for i in range(N_QUEUES)]

    def one():
        cid = f"c{next(ids)}"
        acd.enqueue(queues[rng.randrange(N_QUEUES)], QueuedCall(cid), 100.0)
        out = acd.drain()
        acd.caller_hangup(cid, 100.0)
        acd.drain()
        return out

    benchmark(one)


@pytest.mark.benchmark(group="center-routing-skills-tiers")
def test_naive_scan_skills_tiers(benchmark):
    rng = random.Random(7)
    agents = []
    for i in range(N_AGENTS):
        skills = {f"s{k}": rng.randint(1, 5) for k in rng.sample(range(N_QUEUES), QUEUES_PER_AGENT)}
        a = NaiveAgent(f"a{i}", set(), i * 0.001)
        a.queues = skills  # skill -> level
        agents.append(a)

    def route(skill: str, wait: float):
        need = max(m for t, m in SKILL_TIERS if t <= wait)
        best = None
        for a in agents:
            if (
                a.logged_in
                and not a.busy
                and a.queues.get(skill, 0) >= need
                and (best is None or a.idle_since < best.idle_since)
            ):
                best = a
        return best

    def one():
        a = route(f"s{rng.randrange(N_QUEUES)}", 0.0)
        if a is not None:
            a.busy = True
            a.busy = False
        return a

    benchmark(one)
