"""A bank's inbound hotline on live SIP calls: IVR + ACD queues + agents.

The call flow is the sample ``callcore/center/samples/bank_hotline.yaml``:
business-hours check (after hours: voicemail), caller identification (a
``private`` customer goes straight to the VIP line), then a menu — balance
inquiry (card with Luhn check, PIN, balance read back), card-loss report,
card activation, payments and collections desk, or an agent. Gold customers
get priority 5 in the queues, so they overtake ordinary callers.

Queues: ``general`` (longest idle), ``cards`` (skills: cards), ``collections``
(least calls today, then extension order) and ``vip`` (ring all VIP bankers).
Agents are SIP accounts: when an agent's phone registers, the agent is
logged in; when it unregisters, logged out.

Run a server (agents register as 8001..8004 with password ``agent``)::

    python examples/bank_hotline.py --port 5060

then call ``sip:95588@127.0.0.1:5060`` from any softphone.
Tests and ``callcore demo`` use :func:`build_bank_hotline`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from callcore import App, Endpoint
from callcore.center import (
    Acd,
    AgentTimers,
    BusinessHours,
    CallerRouter,
    Customer,
    InMemoryBank,
    QueueConfig,
    StatsCollector,
    StickyMemory,
    VoicemailStore,
)
from callcore.center.ivr import FlowRunner, load_flow
from callcore.center.live import LiveCallPort, PromptSource, SpeechPrompts
from callcore.center.runtime import CenterRuntime
from callcore.switch.call import CallError

HOTLINE = "95588"
QUEUES = ("general", "cards", "collections", "vip")


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """An agent of the example: id, SIP extension/password, queues, skills."""

    agent_id: str
    extension: str
    password: str = "agent"
    queues: tuple[str, ...] = ("general",)
    skills: tuple[tuple[str, int], ...] = ()
    mobile: str | None = None


def sample_bank() -> InMemoryBank:
    """The sample bank plus a gold customer (+8613800000004) for VIP priority."""
    bank = InMemoryBank.sample()
    bank.add_customer(Customer("C4", "Chen Jie", "gold", ("+8613800000004",)))
    return bank


def always_open(tz: str = "Asia/Shanghai") -> BusinessHours:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return BusinessHours(tz=tz, weekly={d: [("00:00", "24:00")] for d in days})


def office_hours(tz: str = "Asia/Shanghai") -> BusinessHours:
    """Weekdays 08:00-20:00 and Saturday mornings, closed on 1-2 October."""
    weekly = {d: [("08:00", "20:00")] for d in ("mon", "tue", "wed", "thu", "fri")}
    weekly["sat"] = [("09:00", "12:00")]
    return BusinessHours(
        tz=tz, weekly=weekly, holidays={dt.date(2026, 10, 1), dt.date(2026, 10, 2)}
    )


def default_agents() -> list[AgentSpec]:
    return [
        AgentSpec("li", "8001", queues=("general", "cards"), skills=(("cards", 3),)),
        AgentSpec("wang", "8002", queues=("general", "collections")),
        AgentSpec("zhao", "8003", queues=("cards", "general"), skills=(("cards", 5),)),
        AgentSpec("banker", "8004", queues=("vip",)),
    ]


@dataclass
class BankHotline:
    """Everything the example wires together."""

    app: App
    endpoint: Endpoint
    acd: Acd
    runtime: CenterRuntime
    runner: FlowRunner
    stats: StatsCollector
    voicemail: VoicemailStore
    bank: InMemoryBank
    results: list  # FlowResult of every finished IVR walk

    async def start(self, listens: Sequence[str] = ("udp:127.0.0.1:0",)) -> None:
        await self.endpoint.start(list(listens))
        await self.runtime.start()

    async def stop(self) -> None:
        await self.runtime.stop()
        await self.endpoint.stop()

    @property
    def port(self) -> int:
        return self.endpoint.local_address("udp")[1]


def build_bank_hotline(
    *,
    agents: Iterable[AgentSpec] | None = None,
    hours: BusinessHours | None = None,
    bank: InMemoryBank | None = None,
    prompts: PromptSource | None = None,
    voicemail_path: str = ":memory:",
    recordings_dir: str | Path = "recordings",
    number: str = HOTLINE,
    wrap_up: float = 2.0,
    offer_timeout: float = 15.0,
    max_wait: float | None = 300.0,
    queue_overrides: dict[str, dict] | None = None,
    timers: AgentTimers | None = None,
    clock=None,
    rng: random.Random | None = None,
) -> BankHotline:
    """Build the hotline (not started). ``clock`` is the IVR's wall clock
    (business hours); ``queue_overrides`` patches :class:`QueueConfig` fields per queue."""
    app = App("bank")
    endpoint = Endpoint(app)
    sticky = StickyMemory(timeout=7 * 86400)
    acd = Acd(
        timers=timers or AgentTimers(max_no_answer=3, no_answer_delay=2), rng=rng, sticky=sticky
    )
    queues = {
        "general": QueueConfig("general", strategy="longest_idle"),
        "cards": QueueConfig("cards", strategy="longest_idle", skills={"cards": 1},
                             tiers=((0, 3), (20, 1))),
        "collections": QueueConfig("collections", strategy="least_calls"),
        "vip": QueueConfig("vip", strategy="ring_all", whisper="{queue}: {tier} customer {customer}"),
    }  # fmt: skip
    for name, cfg in queues.items():
        cfg.wrap_up = wrap_up
        cfg.offer_timeout = offer_timeout
        if name != "vip":
            cfg.whisper = "{queue} call"
        if max_wait is not None:
            cfg.max_wait = max_wait
        for k, v in (queue_overrides or {}).get(name, {}).items():
            setattr(cfg, k, v)
        acd.add_queue(cfg)
    stats = StatsCollector(service_level=20.0)
    voicemail = VoicemailStore(voicemail_path)
    bank = bank or sample_bank()
    router = CallerRouter(sticky=sticky)
    runtime = CenterRuntime(
        endpoint,
        acd,
        prompts=prompts or SpeechPrompts(),
        stats=stats,
        router=router,
        voicemail=voicemail,
        recordings_dir=recordings_dir,
    )
    for spec in agents if agents is not None else default_agents():
        app.add_account(spec.extension, spec.extension, spec.password)
        runtime.add_agent(
            spec.agent_id,
            spec.extension,
            queues=list(spec.queues),
            skills=dict(spec.skills),
            mobile=spec.mobile,
        )
    flow = load_flow(resources.files("callcore.center") / "samples" / "bank_hotline.yaml")
    kw = {"clock": clock} if clock is not None else {}
    runner = FlowRunner(
        flow, bank=bank, hours={"hotline": hours or always_open()}, voicemail=voicemail, **kw
    )
    results: list = []

    @app.route(number, public=True)
    async def hotline(call):
        port = LiveCallPort(call, runtime)
        try:
            results.append(await runner.run(port))
        except CallError:
            return  # the caller hung up mid-flow
        if not call.ended:
            await call.hangup()

    return BankHotline(app, endpoint, acd, runtime, runner, stats, voicemail, bank, results)


async def _serve(port: int) -> None:
    center = build_bank_hotline(voicemail_path="voicemail.sqlite", hours=office_hours())
    await center.start([f"udp:127.0.0.1:{port}", f"tcp:127.0.0.1:{port}"])
    print(f"bank hotline: call sip:{HOTLINE}@127.0.0.1:{port}; agents register as 8001-8004")
    try:
        while True:
            await asyncio.sleep(10)
            for q, live in center.runtime.snapshot()["queues"].items():
                t = live.totals
                print(f"{q:<12} waiting {live.waiting:>3}  offered {t['offered']:>4}  "
                      f"answered {t['answered']:>4}  abandoned {t['abandoned']:>4}")  # fmt: skip
    finally:
        await center.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=5060)
    with __import__("contextlib").suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args().port))
