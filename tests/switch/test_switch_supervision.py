"""Listen / whisper / barge on a live bridged call, checked by tone detection on
each leg (real RTP over loopback), and force-release."""

from __future__ import annotations

import asyncio

from confhelp import Capture, hears, level_at, pair, play_bg, tone, until

from callcore import App
from callcore.switch.bridge import bridge
from callcore.switch.supervision import bridged_pairs, force_release, supervise

CUSTOMER, AGENT, SUPERVISOR = 500.0, 900.0, 1400.0


def _setup():
    """Server: customer → b2b → agent (dialed back on the client), plus a
    'sup' route where the supervisor's leg lands. Client: agent answers with a tone."""
    server_app, client_app = App(), App()
    legs: dict[str, object] = {}
    ports: dict[str, int] = {}

    @server_app.route("b2b", public=True)
    async def b2b(call):
        await call.answer()
        out = await call.endpoint.dial(f"sip:agent@127.0.0.1:{ports['client']}", timeout=5)
        legs["customer"], legs["agent"] = call, out.call
        legs["bridge"] = await bridge(call, out.call)

    @server_app.route("sup", public=True)
    async def sup(call):
        await call.answer()
        legs["supervisor"] = call
        await call.wait_hangup()

    caps: dict[str, Capture] = {"agent": Capture()}

    @client_app.route("agent", public=True)
    async def agent(call):
        await call.answer()
        call.session.taps.append(caps["agent"])
        play_bg(call, tone(AGENT, 8.0))
        await call.wait_hangup()

    return server_app, client_app, legs, ports, caps


async def _window(caps: dict[str, Capture], seconds: float = 0.7) -> dict[str, bytes]:
    for c in caps.values():
        c.frames.clear()
        c.armed = True
    await asyncio.sleep(seconds)
    for c in caps.values():
        c.armed = False
    return {k: c.pcm for k, c in caps.items()}


def test_listen_whisper_barge_each_leg_hears_the_right_parties(arun):
    server_app, client_app, legs, ports, caps = _setup()

    async def main():
        server, client, port = await pair(server_app, client_app)
        ports["client"] = client.local_address("udp")[1]
        cust = (await client.dial(f"sip:b2b@127.0.0.1:{port}", caller="customer", timeout=5)).call
        caps["customer"] = Capture()
        cust.session.taps.append(caps["customer"])
        play_bg(cust, tone(CUSTOMER, 8.0))
        sup = (await client.dial(f"sip:sup@127.0.0.1:{port}", caller="sup", timeout=5)).call
        caps["supervisor"] = Capture()
        sup.session.taps.append(caps["supervisor"])
        play_bg(sup, tone(SUPERVISOR, 8.0))
        await until(lambda: {"customer", "agent", "supervisor"} <= set(legs))
        await asyncio.sleep(0.2)
        pairs = bridged_pairs(server)
        assert len(pairs) == 1 and set(pairs[0]) == {legs["customer"], legs["agent"]}
        out = {}
        s = await supervise(legs["supervisor"], legs["agent"], "listen")
        await asyncio.sleep(0.3)
        out["listen"] = await _window(caps)
        s.whisper()
        await asyncio.sleep(0.3)
        out["whisper"] = await _window(caps)
        s.barge()
        await asyncio.sleep(0.3)
        out["barge"] = await _window(caps)
        await s.stop()
        await asyncio.sleep(0.3)
        out["after"] = await _window(caps)
        await sup.hangup()
        await cust.hangup()
        await asyncio.sleep(0.3)
        p = server.media.ports_in_use
        await server.stop()
        await client.stop()
        return out, s.end_reason, p

    out, reason, ports_left = arun(main())
    for mode, heard in out.items():
        # the call itself keeps working in every mode
        assert hears(heard["customer"], AGENT, 2000), mode
        assert hears(heard["agent"], CUSTOMER, 2000), mode
        # the customer never hears the supervisor except when barged
        if mode == "barge":
            assert hears(heard["customer"], SUPERVISOR, 2000)
        else:
            assert level_at(heard["customer"], SUPERVISOR) < 300, f"customer hears sup in {mode}"
        # the agent hears the supervisor when whispered to or barged
        if mode in ("whisper", "barge"):
            assert hears(heard["agent"], SUPERVISOR, 2000), mode
        else:
            assert level_at(heard["agent"], SUPERVISOR) < 300, f"agent hears sup in {mode}"
        # the supervisor hears both parties while supervising, and itself never
        if mode != "after":
            assert hears(heard["supervisor"], CUSTOMER, 2000), mode
            assert hears(heard["supervisor"], AGENT, 2000), mode
            assert level_at(heard["supervisor"], SUPERVISOR) < 300
        else:
            assert level_at(heard["supervisor"], CUSTOMER) < 300
    assert reason == "stopped"
    assert ports_left == 0


def test_supervisor_hangup_restores_the_call_and_force_release_ends_it(arun):
    server_app, client_app, legs, ports, caps = _setup()

    async def main():
        server, client, port = await pair(server_app, client_app)
        ports["client"] = client.local_address("udp")[1]
        cust = (await client.dial(f"sip:b2b@127.0.0.1:{port}", caller="customer", timeout=5)).call
        caps["customer"] = Capture()
        cust.session.taps.append(caps["customer"])
        play_bg(cust, tone(CUSTOMER, 8.0))
        sup = (await client.dial(f"sip:sup@127.0.0.1:{port}", caller="sup", timeout=5)).call
        await until(lambda: {"customer", "agent", "supervisor"} <= set(legs))
        s = await supervise(legs["supervisor"], legs["agent"], "barge")
        await asyncio.sleep(0.3)
        await sup.hangup()
        reason = await asyncio.wait_for(s.wait_ended(), 5)
        await asyncio.sleep(0.2)
        after = await _window(caps)
        await force_release(legs["agent"], "supervisor_released")
        cust_hangup = await asyncio.wait_for(cust.wait_hangup(), 5)
        agent_leg, customer_leg = legs["agent"], legs["customer"]
        await asyncio.sleep(0.2)
        p = server.media.ports_in_use
        await server.stop()
        await client.stop()
        return reason, after, cust_hangup, agent_leg.hangup_info, customer_leg.hangup_info, p

    reason, after, cust_hangup, agent_info, customer_info, p = arun(main())
    assert reason == "supervisor_left"
    assert hears(after["customer"], AGENT, 2000) and hears(after["agent"], CUSTOMER, 2000)
    assert cust_hangup.by == "remote"
    assert agent_info.cause == "supervisor_released" and agent_info.by == "local"
    assert customer_info.cause == "supervisor_released" and customer_info.by == "local"
    assert p == 0
