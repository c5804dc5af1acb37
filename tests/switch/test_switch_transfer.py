"""B2BUA call control on real RTP: hold with music on hold, blind and attended transfer."""

from __future__ import annotations

import asyncio

import numpy as np

from callcore import App, Endpoint
from callcore.switch.bridge import bridge


def tone_source(freq: float):
    n = 0

    def next_frame() -> bytes:
        nonlocal n
        t = (np.arange(160) + n) / 8000
        n += 160
        return (6000 * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()

    return next_frame


def dominant(frames: list[bytes]) -> float:
    x = np.frombuffer(b"".join(frames), "<i2").astype(float)
    if len(x) < 800 or np.abs(x).max() < 500:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / 8000)[int(np.argmax(spec))])


class Listener:
    """Keeps what a leg hears, so a test can ask 'what did it hear lately?'"""

    def __init__(self, call) -> None:
        self.frames: list[bytes] = []
        call.session.taps.append(self.frames.append)

    async def recent(self, seconds: float = 0.6) -> float:
        mark = len(self.frames)
        await asyncio.sleep(seconds)
        return dominant(self.frames[mark + 5 :])


async def agent_endpoint(freq: float, answered: list):
    app = App()

    @app.route("_!", public=True)
    async def agent(call):
        await call.answer()
        call.session.source = tone_source(freq)
        answered.append(call)
        await call.wait_hangup()

    ep = Endpoint(app)
    await ep.start(["udp:127.0.0.1:0"])
    return ep


def test_hold_plays_music_then_blind_transfer_moves_the_caller(arun):
    async def main():
        agent1_calls, agent2_calls = [], []
        agent1 = await agent_endpoint(1209.0, agent1_calls)
        agent2 = await agent_endpoint(1477.0, agent2_calls)
        a1_port = agent1.local_address("udp")[1]
        a2_port = agent2.local_address("udp")[1]
        pbx_app = App()

        @pbx_app.route("_!", public=True)
        async def b2b(call):
            out = await call.endpoint.dial(f"sip:agent1@127.0.0.1:{a1_port}")
            await call.answer()
            await bridge(call, out.call)

        pbx = Endpoint(pbx_app)
        await pbx.start(["udp:127.0.0.1:0"])
        caller = Endpoint(App())
        await caller.start(["udp:127.0.0.1:0"])
        res = await caller.dial(f"sip:100@127.0.0.1:{pbx.local_address('udp')[1]}")
        assert res.answered
        res.call.session.source = tone_source(697.0)
        hears = Listener(res.call)
        while not agent1_calls:
            await asyncio.sleep(0.05)
        a1 = agent1_calls[0]
        a1_hears = Listener(a1)
        seen = {"before": await hears.recent(), "agent1_hears": await a1_hears.recent()}
        await a1.hold()
        seen["on_hold"] = await hears.recent(1.2)
        await a1.resume()
        seen["resumed"] = await hears.recent()
        notifies = []
        status = await a1.refer(f"sip:agent2@127.0.0.1:{a2_port}")
        while not agent2_calls:
            await asyncio.sleep(0.05)
        a2_hears = Listener(agent2_calls[0])
        seen["after_transfer"] = await hears.recent()
        seen["agent2_hears"] = await a2_hears.recent()
        hangup1 = await asyncio.wait_for(a1.wait_hangup(), 5)
        while not a1.events.empty():
            ev = a1.events.get_nowait()
            if ev.kind == "notify":
                notifies.append(ev.data.body)
        await res.call.hangup()
        await asyncio.sleep(0.3)
        ports = pbx.media.ports_in_use
        for ep in (caller, pbx, agent1, agent2):
            await ep.stop()
        return seen, status, hangup1, notifies, ports

    seen, status, hangup1, notifies, ports = arun(main())
    assert abs(seen["before"] - 1209) < 20 and abs(seen["agent1_hears"] - 697) < 20
    # music on hold (the default arpeggio's notes), not the agent
    assert any(abs(seen["on_hold"] - f) < 15 for f in (523.25, 659.25, 783.99)), seen["on_hold"]
    assert abs(seen["resumed"] - 1209) < 20
    assert status == 202
    assert abs(seen["after_transfer"] - 1477) < 20 and abs(seen["agent2_hears"] - 697) < 20
    assert hangup1.by == "remote"
    assert any(b.startswith(b"SIP/2.0 100") for b in notifies) and any(
        b.startswith(b"SIP/2.0 200") for b in notifies
    )
    assert ports == 0


def test_attended_transfer_with_replaces_joins_caller_and_consulted_agent(arun):
    async def main():
        agent2_calls: list = []
        agent2 = await agent_endpoint(1477.0, agent2_calls)
        a2_port = agent2.local_address("udp")[1]
        agent1_in: list = []
        agent1_app = App()

        @agent1_app.route("_!", public=True)
        async def agent1_answers(call):
            await call.answer()
            call.session.source = tone_source(1209.0)
            agent1_in.append(call)
            await call.wait_hangup()

        agent1 = Endpoint(agent1_app)
        await agent1.start(["udp:127.0.0.1:0"])
        a1_port = agent1.local_address("udp")[1]
        pbx_app = App()

        @pbx_app.route("100", public=True)
        async def queue(call):  # customers reach agent 1
            out = await call.endpoint.dial(f"sip:agent1@127.0.0.1:{a1_port}")
            await call.answer()
            await bridge(call, out.call)

        @pbx_app.route("200", public=True)
        async def consult(call):  # agent 1 consults agent 2 through the PBX
            out = await call.endpoint.dial(f"sip:agent2@127.0.0.1:{a2_port}")
            await call.answer()
            await bridge(call, out.call)

        pbx = Endpoint(pbx_app)
        await pbx.start(["udp:127.0.0.1:0"])
        pbx_port = pbx.local_address("udp")[1]
        caller = Endpoint(App())
        await caller.start(["udp:127.0.0.1:0"])
        res = await caller.dial(f"sip:100@127.0.0.1:{pbx_port}")
        res.call.session.source = tone_source(697.0)
        hears = Listener(res.call)
        while not agent1_in:
            await asyncio.sleep(0.05)
        customer_leg = agent1_in[0]
        await customer_leg.hold()
        consult_res = await agent1.dial(f"sip:200@127.0.0.1:{pbx_port}")
        consult_leg = consult_res.call
        consult_leg.session.source = tone_source(1209.0)
        while not agent2_calls:
            await asyncio.sleep(0.05)
        a2_hears = Listener(agent2_calls[0])
        heard_consult = await a2_hears.recent()
        status = await customer_leg.refer(f"sip:200@127.0.0.1:{pbx_port}", replaces=consult_leg)
        ends = await asyncio.wait_for(
            asyncio.gather(customer_leg.wait_hangup(), consult_leg.wait_hangup()), 5
        )
        after = {"caller_hears": await hears.recent(), "agent2_hears": await a2_hears.recent()}
        await res.call.hangup()
        await asyncio.sleep(0.3)
        ports = pbx.media.ports_in_use
        for ep in (caller, pbx, agent1, agent2):
            await ep.stop()
        return heard_consult, status, ends, after, ports

    heard_consult, status, ends, after, ports = arun(main())
    assert abs(heard_consult - 1209) < 20  # agent 2 talked to agent 1 first
    assert status == 202
    assert all(h.by == "remote" for h in ends)  # the PBX released both of agent 1's legs
    assert abs(after["caller_hears"] - 1477) < 20 and abs(after["agent2_hears"] - 697) < 20
    assert ports == 0
