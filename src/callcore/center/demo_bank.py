"""The bank contact-center demo: the hotline example against a simulated crowd.

Everything runs in one process on 127.0.0.1 with OS-chosen ports: the bank
hotline of ``examples/bank_hotline.py`` (IVR + four ACD queues), simulated
agents that register as SIP accounts and answer offered calls, and simulated
callers that dial in, press RFC 4733 digits through the menu, wait in the
queues and sometimes lose patience. Live queue statistics are printed every
few seconds and a summary at the end.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .crowd import AgentBehaviour, CrowdAgents, CrowdCallers, bank_scripts
from .live import BeepPrompts

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "bank_hotline.py"


def load_example(path: Path = EXAMPLE, name: str = "bank_hotline") -> ModuleType:
    """Import an example file of the checkout (the demo runs the examples themselves)."""
    if name in sys.modules:
        return sys.modules[name]
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run the demo from a callcore checkout")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class DemoSummary:
    """What happened in a demo run."""

    duration: float
    calls: int
    outcomes: dict[str, int]
    queues: dict[str, dict[str, Any]]
    occupancy: float | None
    ivr_outcomes: dict[str, int] = field(default_factory=dict)
    alongside: Any = None

    @property
    def lost(self) -> int:
        return self.outcomes.get("lost", 0) + self.outcomes.get("failed", 0)


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.0f}%" if pct else f"{x:.1f}"


def _table(snapshot: dict[str, Any]) -> list[str]:
    lines = [
        f"{'queue':<12}{'wait':>5}{'longest':>8}{'offered':>8}{'answered':>9}"
        f"{'abandoned':>10}{'SL20':>6}{'ASA':>6}{'AHT':>6}"
    ]
    for q, live in snapshot["queues"].items():
        t = live.totals
        lines.append(
            f"{q:<12}{live.waiting:>5}{live.longest_current_wait:>8.1f}{t['offered']:>8}"
            f"{t['answered']:>9}{t['abandoned']:>10}{_fmt(t['service_level'], True):>6}"
            f"{_fmt(t['asa']):>6}{_fmt(t['aht']):>6}"
        )
    lines.append(
        f"agents logged in {snapshot['agents_logged_in']}, on call {snapshot['agents_on_call']}, "
        f"occupancy {_fmt(snapshot['occupancy'], True)}"
    )
    return lines


async def run_bank_demo(
    duration: float = 45.0,
    *,
    agents: int = 8,
    rate: float = 2.0,
    abandon: float = 0.25,
    every: float = 5.0,
    seed: int = 2026,
    echo: Callable[[str], None] = print,
    alongside: Callable[[Any, Callable[[str], None]], Awaitable[Any]] | None = None,
) -> DemoSummary:
    """Run the bank hotline against the simulated crowd for about ``duration`` s.

    ``agents`` simulated agents (extensions 8101...), callers arriving at
    ``rate`` per second for the first part of the run, ``abandon`` = share of
    callers with limited patience. Prints live statistics every ``every`` s
    and returns a :class:`DemoSummary`. ``alongside(center, echo)`` runs in the
    same center while the callers call (the outbound collections campaign of
    ``callcore demo``); its result is kept in :attr:`DemoSummary.alongside`.
    """
    ex = load_example()
    rng = random.Random(seed)
    specs = [
        ex.AgentSpec(
            f"agent{i + 1}",
            str(8101 + i),
            queues=("general", "collections") + (("vip",) if i < 2 else ()),
            skills=(("cards", 3 + i % 3),) if i % 2 == 0 else (),
        )
        for i in range(agents)
    ]
    tmp = tempfile.TemporaryDirectory(prefix="callcore-demo-")
    center = ex.build_bank_hotline(
        agents=specs,
        prompts=BeepPrompts(0.25),
        recordings_dir=tmp.name,
        wrap_up=1.0,
        offer_timeout=8.0,
        rng=random.Random(seed + 1),
    )
    t0 = time.monotonic()
    await center.start()
    echo(f"bank hotline: sip:{ex.HOTLINE}@127.0.0.1:{center.port} (udp)")
    crowd = CrowdAgents(
        ("127.0.0.1", center.port),
        [(s.extension, s.password) for s in specs],
        behaviour=AgentBehaviour(answer_delay=(0.3, 1.0), talk_time=(2.0, 6.0), no_answer=0.03),
        rng=random.Random(seed + 2),
    )
    await crowd.start()
    echo(f"{agents} simulated agents registered and logged in")
    callers = CrowdCallers(f"sip:{ex.HOTLINE}@127.0.0.1:{center.port}", crowd, max_call=60)
    await callers.start()
    arrivals = max(1.0, duration * 0.6)
    scripts = [bank_scripts(rng, abandon=abandon) for _ in range(int(arrivals * rate))]
    echo(f"{len(scripts)} simulated callers over {arrivals:.0f} s; statistics every {every:.0f} s")

    async def report() -> None:
        while True:
            await asyncio.sleep(every)
            echo(f"--- t={time.monotonic() - t0:5.1f} s")
            for line in _table(center.runtime.snapshot()):
                echo(line)

    reporter = asyncio.ensure_future(report())
    side = asyncio.ensure_future(alongside(center, echo)) if alongside is not None else None
    run = asyncio.ensure_future(callers.run(scripts, rate=rate))
    try:
        await asyncio.wait([run], timeout=max(duration - (time.monotonic() - t0), 1.0))
        if not run.done():  # stragglers: give them a little longer, then stop
            await asyncio.wait([run], timeout=10)
    finally:
        if side is not None:  # the outbound side stops dialing by itself; let it finish
            await asyncio.wait([side], timeout=60)
            if not side.done():
                side.cancel()
                await asyncio.gather(side, return_exceptions=True)
        reporter.cancel()
        if not run.done():
            run.cancel()
        snap = center.runtime.snapshot()
        await callers.stop()
        await crowd.stop()
        await center.stop()
        tmp.cleanup()
    outcomes = dict(callers.summary())
    summary = DemoSummary(
        duration=time.monotonic() - t0,
        calls=len(callers.outcomes),
        outcomes=outcomes,
        queues={q: dict(live.totals) for q, live in snap["queues"].items()},
        occupancy=snap["occupancy"],
        ivr_outcomes=dict(Counter(r.outcome.split(":")[0] for r in center.results)),
        alongside=side.result()
        if side is not None and side.done() and not side.cancelled() and side.exception() is None
        else None,
    )
    if side is not None and side.done() and not side.cancelled() and side.exception() is not None:
        raise side.exception()
    echo("=== summary")
    for line in _table(snap):
        echo(line)
    echo(
        f"{summary.calls} calls in {summary.duration:.0f} s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
        + f"; lost {summary.lost}"
    )
    return summary


__all__ = ["DemoSummary", "load_example", "run_bank_demo"]
