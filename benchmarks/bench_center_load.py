"""Load run: simulated agents handling SIP calls through the IVR and the ACD queues.

The bank hotline (examples/bank_hotline.py) runs in this process on uvloop;
the simulated crowd — ``--agents`` agents registered as SIP accounts and the
callers pressing RFC 4733 digits through the menu — runs in a child process,
so the two sides use both cores and talk only over loopback UDP.

Script (the full run of the issue: 100 agents, 10,000 calls, minutes)::

    .venv/bin/python benchmarks/bench_center_load.py --agents 100 --calls 10000 --rate 40

pytest-benchmark (one round; size from CALLCORE_LOAD_CALLS / CALLCORE_LOAD_AGENTS,
default 1,000 calls and 100 agents)::

    .venv/bin/pytest benchmarks/bench_center_load.py --benchmark-enable --benchmark-only

A call is *lost* when its caller got no answer from the hotline, or was
queued for an agent and never reached one (callers here have unlimited
patience, so no abandon is expected). The run asserts 0 lost calls.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _example():
    if "bank_hotline" in sys.modules:
        return sys.modules["bank_hotline"]
    spec = importlib.util.spec_from_file_location(
        "bank_hotline", ROOT / "examples" / "bank_hotline.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bank_hotline"] = mod
    spec.loader.exec_module(mod)
    return mod


def _crowd_main(port: int, agents: int, calls: int, rate: float, concurrent: int, out) -> None:
    """Child process: register the agents, place the calls, report outcomes."""
    import uvloop

    from callcore.center.crowd import AgentBehaviour, CrowdAgents, CrowdCallers, bank_scripts

    async def main() -> dict:
        crowd = CrowdAgents(
            ("127.0.0.1", port),
            [(str(10000 + i), "agent") for i in range(agents)],
            behaviour=AgentBehaviour((0.05, 0.2), (0.5, 1.5)),
            rng=random.Random(3),
        )
        await crowd.start()
        out.put(("ready", None))
        callers = CrowdCallers(f"sip:95588@127.0.0.1:{port}", crowd, dial_timeout=30, max_call=300)
        await callers.start()
        rng = random.Random(4)
        t0 = time.monotonic()
        await callers.run([bank_scripts(rng) for _ in range(calls)], rate=rate,
                          max_concurrent=concurrent)  # fmt: skip
        elapsed = time.monotonic() - t0
        await callers.stop()
        await crowd.stop()
        lost = [o for o in callers.outcomes if o.outcome not in ("agent", "self_service")]
        return {
            "elapsed": elapsed,
            "outcomes": dict(callers.summary()),
            "lost_detail": [f"{o.script.label}: {o.outcome} {o.detail}" for o in lost[:10]],
            "agent_answers": sum(log.answered for log in crowd.log.values()),
            "max_active": max(log.max_active for log in crowd.log.values()),
            "setup_p50": sorted(o.setup for o in callers.outcomes)[len(callers.outcomes) // 2],
        }

    out.put(("done", uvloop.run(main())))


async def _center_run(agents: int, calls: int, rate: float, concurrent: int) -> dict:
    from callcore.center.live import BeepPrompts

    ex = _example()
    specs = [
        ex.AgentSpec(f"a{i}", str(10000 + i),
                     queues=("general", "collections") + (("vip",) if i < 5 else ()),
                     skills=(("cards", 5),))
        for i in range(agents)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        center = ex.build_bank_hotline(
            agents=specs, prompts=BeepPrompts(0.04), recordings_dir=tmp, wrap_up=0.1,
            offer_timeout=20, max_wait=None,
        )  # fmt: skip
        center.stats.keep_events = False
        await center.start()
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        proc = ctx.Process(
            target=_crowd_main, args=(center.port, agents, calls, rate, concurrent, q)
        )
        proc.start()
        loop = asyncio.get_running_loop()
        try:
            kind, _ = await loop.run_in_executor(None, q.get, True, 120)
            assert kind == "ready"
            logged_in = center.runtime.snapshot()["agents_logged_in"]
            kind, crowd = await loop.run_in_executor(None, q.get, True, 3600)
        finally:
            await loop.run_in_executor(None, proc.join, 30)
            if proc.is_alive():
                proc.kill()
            await center.stop()
    totals = center.stats.totals
    return {
        **crowd,
        "agents_logged_in": logged_in,
        "acd_answered": sum(t.answered for t in totals.values()),
        "acd_abandoned": sum(t.abandoned for t in totals.values()),
        "ivr": dict(Counter(r.outcome.split(":")[0] for r in center.results)),
        "runtime_errors": center.runtime.counters.errors,
        "stale_answers": center.runtime.counters.stale_answers,
        "late_ticks": center.endpoint.media.clock.late_ticks,
        "max_lateness_ms": 1000 * center.endpoint.media.clock.max_lateness,
    }


def load_run(
    agents: int = 100, calls: int = 10_000, rate: float = 40.0, concurrent: int = 400
) -> dict:
    import uvloop

    r = uvloop.run(_center_run(agents, calls, rate, concurrent))
    r["lost"] = sum(v for k, v in r["outcomes"].items() if k not in ("agent", "self_service"))
    r["calls_per_s"] = calls / r["elapsed"]
    return r


def _check(r: dict, calls: int, agents: int) -> None:
    assert r["agents_logged_in"] == agents
    assert sum(r["outcomes"].values()) == calls
    assert r["lost"] == 0, r["lost_detail"]
    assert r["acd_answered"] == r["outcomes"].get("agent", 0)
    # ring-all (VIP queue): a phone that picks up after another won, or as its
    # offer is cancelled, is hung up again: never fewer pick-ups than answers
    assert r["agent_answers"] >= r["acd_answered"]
    assert r["acd_abandoned"] == 0
    assert r["max_active"] == 1  # no agent phone ever had two calls


@pytest.mark.slow
@pytest.mark.benchmark(group="center-load")
def test_center_load(benchmark):
    calls = int(os.environ.get("CALLCORE_LOAD_CALLS", "1000"))
    agents = int(os.environ.get("CALLCORE_LOAD_AGENTS", "100"))
    r = benchmark.pedantic(load_run, args=(agents, calls), rounds=1, iterations=1)
    benchmark.extra_info.update({k: v for k, v in r.items() if k != "lost_detail"})
    _check(r, calls, agents)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="contact-center load run")
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--calls", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=40.0, help="new calls per second")
    p.add_argument("--concurrent", type=int, default=400, help="max calls in progress")
    a = p.parse_args()
    t0 = time.monotonic()
    res = load_run(a.agents, a.calls, a.rate, a.concurrent)
    for k, v in res.items():
        print(f"{k:>16}: {v}")
    print(f"wall time {time.monotonic() - t0:.1f} s")
    _check(res, a.calls, a.agents)
    print("OK: 0 lost calls")
