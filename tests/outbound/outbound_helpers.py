"""Shared set-up of the live dialer tests: a contact center with a campaign queue,
simulated agents (SIP accounts that register and answer), and contact records."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterable
from types import SimpleNamespace

from callcore import App, Endpoint
from callcore.center import Acd, AgentTimers
from callcore.center.crowd import AgentBehaviour, CrowdAgents
from callcore.center.live import BeepPrompts
from callcore.center.runtime import CenterRuntime
from callcore.outbound.campaign import Campaign
from callcore.outbound.dialer import campaign_queue
from callcore.outbound.lists import import_rows
from callcore.outbound.simcallees import CalleeBehaviour, SimulatedCallees
from callcore.pacing import ComplianceRules

NOON = 12 * 3600.0
FAST_RULES = ComplianceRules(min_ring=4.0)  # tests: 4 s of ringing is enough
#: a fixed wall clock inside calling hours (Mon 2025-12-01 10:00 Asia/Shanghai)
WALL = 1_764_554_400.0


class Center:
    """An endpoint + ACD + runtime with ``agents`` extensions in ``campaign.queue``."""

    def __init__(self, campaign: Campaign, extensions: Iterable[str], *, extra_queues=()):
        self.app = App("center")
        self.endpoint = Endpoint(self.app)
        self.acd = Acd(timers=AgentTimers(max_no_answer=3, no_answer_delay=1),
                       rng=random.Random(3))  # fmt: skip
        self.acd.add_queue(campaign_queue(campaign, wrap_up=0.5))
        for q in extra_queues:
            self.acd.add_queue(q)
        self.runtime = CenterRuntime(self.endpoint, self.acd, prompts=BeepPrompts(0.05),
                                     whisper=False, caller_id=campaign.caller_id)  # fmt: skip
        self.extensions = list(extensions)
        queues = [campaign.queue, *(q.name for q in extra_queues)]
        for ext in self.extensions:
            self.app.add_account(ext, ext, "agent")
            self.runtime.add_agent(f"agent{ext}", ext, queues=queues)

    @property
    def port(self) -> int:
        return self.endpoint.local_address("udp")[1]

    async def start(self) -> None:
        await self.endpoint.start(["udp:127.0.0.1:0"])
        await self.runtime.start()

    async def stop(self) -> None:
        await self.runtime.stop()
        await self.endpoint.stop()


def crowd(center: Center, *, talk=(1.0, 2.0), answer=(0.05, 0.2), seed: int = 5) -> CrowdAgents:
    return CrowdAgents(
        ("127.0.0.1", center.port),
        [(e, "agent") for e in center.extensions],
        behaviour=AgentBehaviour(answer_delay=answer, talk_time=talk),
        rng=random.Random(seed),
    )


def records(numbers: Iterable[str], **fields):
    rows = [{"id": f"r{i}", "number": n, **fields} for i, n in enumerate(numbers)]
    report = import_rows(rows, default_country="CN")
    assert not report.errors, report.errors
    return report.records


@contextlib.asynccontextmanager
async def scene(extensions=("8001",), *, talk=(1.0, 2.0), agents: bool = True,
                callees: CalleeBehaviour | None = None, **campaign_kw):  # fmt: skip
    """Simulated callees + a center with ``extensions`` in the campaign queue (and,
    with ``agents``, simulated agents registered for them); stopped on exit. Yields a
    namespace with ``callees``, ``campaign``, ``center`` and ``agents``."""
    people = SimulatedCallees(behaviour=callees)
    await people.start()
    settings = {"name": "cards-collect", "queue": "outbound", "dial_uri": people.uri_template(),
                "ring_timeout": 4.0, "rules": FAST_RULES, "max_lines": 8,
                "decide_every": 0.25, **campaign_kw}  # fmt: skip
    campaign = Campaign(**settings)
    center = Center(campaign, extensions)
    await center.start()
    team = crowd(center, talk=talk) if agents else None
    if team is not None:
        await team.start()
    try:
        yield SimpleNamespace(callees=people, campaign=campaign, center=center, agents=team)
    finally:
        if team is not None:
            await team.stop()
        await center.stop()
        await people.stop()
