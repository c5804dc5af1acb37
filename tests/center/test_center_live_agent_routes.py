"""Live routes to agents on loopback SIP: an IVR transfer to a named agent (and the
dedicated wait when that agent is busy), and roaming agents rung on a mobile number
through ``external_uri`` (a callcore endpoint stands in for the carrier)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest
from center_live_helpers import check_acd_consistency
from confhelp import Capture, hears, level_at, play_bg, tone, until

from callcore import App, Endpoint
from callcore.center import Acd, Device, DeviceNotRegistered, QueueConfig, StatsCollector
from callcore.center.crowd import AgentBehaviour, CallerScript, CrowdAgents, CrowdCallers
from callcore.center.events import CallAnswered, CallOfferedEvent, CallQueued
from callcore.center.ivr import Flow, FlowResult, FlowRunner, Menu, Transfer
from callcore.center.live import BeepPrompts, LiveCallPort
from callcore.center.runtime import CALLER_CALL_ID_HEADER, CenterRuntime
from callcore.switch.call import Call, CallError

pytestmark = [pytest.mark.slow]

LINE = "4000"
PASSWORD = "pw"
MOBILE = "13900001111"
CALLER_TONE = 1000.0  # what the customer says
AGENT_TONE = 1400.0  # what the roaming agent says (music on hold is 523-784 Hz, beeps 660 Hz)


def rtp_range() -> tuple[int, int]:
    """A random slice of RTP ports: other test runs on this machine use the defaults."""
    base = random.Random().randrange(24000, 38000, 2)
    return base, base + 1000


@dataclass
class Center:
    """A small contact center: one line running ``flow``, queues, agents."""

    app: App
    endpoint: Endpoint
    acd: Acd
    runtime: CenterRuntime
    stats: StatsCollector
    results: list[FlowResult] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.endpoint.local_address("udp")[1]

    def offers(self, call_id: str) -> list[str]:
        return [
            e.agent_id
            for e in self.stats.events
            if isinstance(e, CallOfferedEvent) and e.call_id == call_id
        ]

    def first(self, kind: type, call_id: str):
        return next(e for e in self.stats.events if isinstance(e, kind) and e.call_id == call_id)

    async def stop(self) -> None:
        await self.runtime.stop()
        await self.endpoint.stop()


async def start_center(
    flow: Flow,
    queues: Iterable[QueueConfig],
    agents: Iterable[tuple[str, str, str | None]],  # (agent id, extension, mobile)
    *,
    external_uri: str = "sip:{number}@127.0.0.1",
) -> Center:
    app = App("center")
    endpoint = Endpoint(app, rtp_ports=rtp_range())
    acd = Acd(rng=random.Random(5))
    qnames = []
    for cfg in queues:
        acd.add_queue(cfg)
        qnames.append(cfg.name)
    stats = StatsCollector()
    runtime = CenterRuntime(
        endpoint, acd, prompts=BeepPrompts(0.04), stats=stats, external_uri=external_uri
    )
    for agent_id, ext, mobile in agents:
        app.add_account(ext, ext, PASSWORD)
        runtime.add_agent(agent_id, ext, queues=qnames, mobile=mobile)
    center = Center(app, endpoint, acd, runtime, stats)
    runner = FlowRunner(flow)

    @app.route(LINE, public=True)
    async def line(call: Call) -> None:
        try:
            center.results.append(await runner.run(LiveCallPort(call, runtime)))
        except CallError:
            return  # the caller hung up mid-flow
        if not call.ended:
            await call.hangup()

    await endpoint.start(["udp:127.0.0.1:0"])
    await runtime.start()
    return center


# --------------------------------------------------------------- named agent
def test_ivr_transfer_to_named_agent_and_dedicated_wait(arun):
    """Menu digit 1 transfers to agent ``a2`` (``Transfer(agent=...)`` →
    ``CenterRuntime.send_to_agent``): only a2 is offered the call. A second caller
    asking for a2 while a2 talks waits for a2 — an idle agent is never offered it —
    and a2 takes it after its wrap-up. Digit 9 names an agent in no
    queue: ``send_to_agent`` raises and the flow's fallback queue serves the caller."""
    flow = Flow(
        "agent-line",
        "menu",
        {
            "menu": Menu(
                "1: your relationship manager. 9: a former one.",
                {"1": "rm", "9": "gone"},
                timeout=3.0,
            ),
            "rm": Transfer(agent="a2"),
            "gone": Transfer(agent="ghost"),
        },
        fallback_queue="desk",
    )
    agents = [("a1", "8301", None), ("a2", "8302", None), ("a3", "8303", None)]

    async def main():
        center = await start_center(
            flow, [QueueConfig("desk", strategy="longest_idle", wrap_up=0.5)], agents
        )
        crowd = CrowdAgents(
            ("127.0.0.1", center.port),
            [(ext, PASSWORD) for _, ext, _ in agents],
            behaviour=AgentBehaviour((0.05, 0.1), (2.0, 2.0)),
            rng=random.Random(3),
        )
        callers = CrowdCallers(f"sip:{LINE}@127.0.0.1:{center.port}", crowd, max_call=30)
        try:
            await crowd.start()
            await callers.start()
            await until(lambda: center.runtime.snapshot()["agents_logged_in"] == 3)
            scripts = [
                CallerScript("+8613900000001", ((0.3, "1"),), "agent", None, "first"),
                CallerScript("+8613900000002", ((0.3, "1"),), "agent", None, "second"),
                CallerScript("+8613900000003", ((0.3, "9"),), "agent", None, "ghost"),
            ]
            outs = await callers.run(scripts, rate=2.5)
            await asyncio.sleep(0.2)
            return center, crowd, outs
        finally:
            await callers.stop()
            await crowd.stop()
            await center.stop()

    center, crowd, outs = arun(main())
    first, second, ghost = outs
    assert [o.outcome for o in outs] == ["agent"] * 3, outs
    # the named agent, and nobody else, was offered both calls
    assert first.agent == second.agent == "8302"
    assert center.offers(first.call_id) == center.offers(second.call_id) == ["a2"]
    assert crowd.log["8302"].callers == [first.call_id, second.call_id]
    assert crowd.log["8302"].max_active == 1  # never two calls at once
    # send_to_agent queues the caller in the agent's (first) queue
    assert center.first(CallQueued, second.call_id).queue == "desk"
    # the second caller waited for a2 (talk 2 s + wrap-up 0.5 s) although an agent was
    # idle the whole time: the one the ghost caller did not get was never offered a call
    assert center.first(CallAnswered, second.call_id).wait > 1.5
    assert ghost.agent in ("8301", "8303")
    idle = "8303" if ghost.agent == "8301" else "8301"
    assert crowd.log[idle].offered == 0
    assert crowd.log[ghost.agent].callers == [ghost.call_id]
    # an agent in no queue: the transfer fails and the fallback queue takes the caller
    (bad,) = [r for r in center.results if r.error]
    assert "ghost" in bad.error and bad.outcome == "queue:desk"
    t = center.stats.totals["desk"]
    assert (t.offered, t.answered, t.abandoned) == (3, 3, 0)
    check_acd_consistency(center)


# ----------------------------------------------------------------- roaming
@dataclass
class Carrier:
    """A callcore endpoint standing in for the mobile network: answers the agent's
    mobile after ``answer_delay``, speaks ``AGENT_TONE`` and records what it hears."""

    answer_delay: float = 0.1
    app: App = field(default_factory=lambda: App("carrier"))
    endpoint: Endpoint | None = None
    heard: Capture = field(default_factory=Capture)
    invites: list[tuple[str, str, str]] = field(default_factory=list)  # (number, from, x-id)
    legs: list[Call] = field(default_factory=list)

    async def start(self) -> int:
        @self.app.route(MOBILE, public=True)
        async def mobile(call: Call) -> None:
            self.invites.append(
                (
                    call.dialed,
                    call.caller_number or "",
                    call.invite.headers.get(CALLER_CALL_ID_HEADER.lower()) or "",
                )
            )
            await call.ring()
            await asyncio.sleep(self.answer_delay)
            await call.answer()
            self.legs.append(call)
            call.session.taps.append(self.heard)
            play_bg(call, tone(AGENT_TONE, 6.0))
            await call.wait_hangup()

        self.endpoint = Endpoint(self.app, rtp_ports=rtp_range())
        await self.endpoint.start(["udp:127.0.0.1:0"])
        return self.endpoint.local_address("udp")[1]

    async def stop(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.stop()


QUEUE_FLOW = Flow("queue-line", "q", {"q": Transfer(queue="field")}, fallback_queue="field")


async def customer_talks_to_agent(center: Center, carrier: Carrier, number: str):
    """A customer calls the line, lands in ``field``, is bridged to the roaming agent;
    both sides speak; return (customer's call, what the customer heard)."""
    client = Endpoint(App("customer"), rtp_ports=rtp_range())
    await client.start(["udp:127.0.0.1:0"])
    try:
        res = await client.dial(f"sip:{LINE}@127.0.0.1:{center.port}", caller=number, timeout=5)
        assert res.answered and res.call is not None
        call = res.call
        heard = Capture()
        call.session.taps.append(heard)
        play_bg(call, tone(CALLER_TONE, 6.0))
        await until(lambda: center.runtime.counters.bridged == 1, timeout=8.0)
        await asyncio.sleep(0.4)  # the bridge's first frames
        heard.armed = carrier.heard.armed = True
        await asyncio.sleep(1.0)
        heard.armed = carrier.heard.armed = False
        await call.hangup()
        await until(lambda: all(leg.ended for leg in carrier.legs))
        await until(lambda: center.runtime.counters.completed == 1)
        return call, heard.pcm
    finally:
        await client.stop()


def _check_audio(customer_heard: bytes, agent_heard: bytes) -> None:
    assert len(agent_heard) >= 8000 and len(customer_heard) >= 8000
    assert hears(agent_heard, CALLER_TONE, 2000), "the mobile does not hear the customer"
    assert hears(customer_heard, AGENT_TONE, 2000), "the customer does not hear the mobile"
    # bridged, not on hold: no music on hold in either direction
    assert level_at(customer_heard, 523.25) < 300 and level_at(agent_heard, 523.25) < 300


def test_roaming_agent_on_mobile_only_is_bridged_with_audio(arun):
    """Agent ``roamer`` has a desk phone (8401, not registered) and a mobile. Logging in
    on every device fails with a clear error; logged in on the mobile alone, the agent
    is offered a queue call there: ``external_uri`` dials the number at the carrier, the
    call is bridged and audio flows both ways."""

    async def main():
        carrier = Carrier()
        cport = await carrier.start()
        center = await start_center(
            QUEUE_FLOW,
            [QueueConfig("field")],
            [("roamer", "8401", MOBILE)],
            external_uri=f"sip:{{number}}@127.0.0.1:{cport}",
        )
        try:
            with pytest.raises(DeviceNotRegistered, match="8401"):
                center.runtime.login("roamer")
            agent = center.acd.pool.get("roamer")
            mobile = [d for d in agent.devices if d.kind == "mobile"]
            assert mobile == [Device(MOBILE, "mobile")]
            center.acd.login("roamer", center.runtime.now(), devices=mobile)
            call, heard = await customer_talks_to_agent(center, carrier, "+8613911112222")
            return center, carrier, call, heard, agent.active_devices
        finally:
            await center.stop()
            await carrier.stop()

    center, carrier, call, heard, active = arun(main())
    assert active == (Device(MOBILE, "mobile"),)
    # the carrier was asked for the mobile number, with the customer's number and Call-ID
    assert carrier.invites == [(MOBILE, "+8613911112222", call.call_id)]
    _check_audio(heard, carrier.heard.pcm)
    ans = center.first(CallAnswered, call.call_id)
    assert (ans.agent_id, ans.queue) == ("roamer", "field")
    t = center.stats.totals["field"]
    assert (t.offered, t.answered, t.abandoned) == (1, 1, 0)
    check_acd_consistency(center)


def test_roaming_agent_desk_and_mobile_ring_together(arun):
    """The desk phone is registered (the agent logs in on it and on the mobile) but
    nobody is at the desk: the offer rings both devices, the mobile answers, the desk
    phone's INVITE is cancelled, and the customer talks to the agent on the mobile."""

    async def main():
        carrier = Carrier(answer_delay=0.6)  # the desk phone rings meanwhile
        cport = await carrier.start()
        center = await start_center(
            QUEUE_FLOW,
            [QueueConfig("field")],
            [("roamer", "8401", MOBILE)],
            external_uri=f"sip:{{number}}@127.0.0.1:{cport}",
        )
        desk = CrowdAgents(
            ("127.0.0.1", center.port),
            [("8401", PASSWORD)],
            behaviour=AgentBehaviour(no_answer=1.0),  # rings, nobody picks up
        )
        try:
            await desk.start()  # REGISTER: the agent logs in on desk + mobile
            await until(lambda: center.runtime.snapshot()["agents_logged_in"] == 1)
            active = center.acd.pool.get("roamer").active_devices
            call, heard = await customer_talks_to_agent(center, carrier, "+8613933334444")
            await until(lambda: desk.log["8401"].active == 0)  # CANCEL reached the desk
            return center, carrier, desk.log["8401"], call, heard, active
        finally:
            await desk.stop()
            await center.stop()
            await carrier.stop()

    center, carrier, desk_log, call, heard, active = arun(main())
    assert {d.kind for d in active} == {"sip", "mobile"}
    assert (desk_log.offered, desk_log.answered, desk_log.let_ring) == (1, 0, 1)
    assert carrier.invites == [(MOBILE, "+8613933334444", call.call_id)]
    _check_audio(heard, carrier.heard.pcm)
    assert center.first(CallAnswered, call.call_id).agent_id == "roamer"
    assert center.runtime.counters.offers == 1  # one offer, two devices rung
    check_acd_consistency(center)
