"""Conferences on real RTP over loopback: mix-minus per member (FFT), roles,
background music, three-way calling from a bridged call."""

from __future__ import annotations

import asyncio

import pytest
from confhelp import Capture, hears, level_at, pair, play_bg, tone, until

from callcore import App
from callcore.switch.bridge import bridge
from callcore.switch.conference import Conference, three_way

FREQS = {"a": 500.0, "b": 900.0, "c": 1400.0}


def test_three_members_hear_the_other_two_not_themselves(arun, fastpath):
    app = App()
    conf = Conference("room", fastpath=fastpath)

    @app.route("room", public=True)
    async def room(call):
        await call.answer()
        conf.join(call)
        await call.wait_hangup()

    async def main():
        server, client, port = await pair(app)
        caps: dict[str, Capture] = {}
        legs = {}
        for who in FREQS:
            res = await client.dial(f"sip:room@127.0.0.1:{port}", caller=who, timeout=5)
            assert res.answered
            legs[who] = res.call
            caps[who] = Capture()
            res.call.session.taps.append(caps[who])
            play_bg(res.call, tone(FREQS[who], 4.0))
        await until(lambda: len(conf) == 3)
        await asyncio.sleep(0.4)
        for c in caps.values():
            c.armed = True
        await asyncio.sleep(0.8)
        mixes_per_tick = conf.mixes
        for call in legs.values():
            await call.hangup()
        await until(lambda: len(conf) == 0)
        ticks = server.media.clock.ticks
        await asyncio.sleep(0.1)
        ports = server.media.ports_in_use
        await server.stop()
        await client.stop()
        return {k: c.pcm for k, c in caps.items()}, ports, mixes_per_tick, ticks

    heard, ports, mixes, ticks = arun(main())
    for who, pcm in heard.items():
        assert len(pcm) >= 8000, f"{who} heard too little audio"
        for other, f in FREQS.items():
            if other == who:
                assert level_at(pcm, f) < 300, f"{who} hears itself"
            else:
                assert hears(pcm, f, 2000), f"{who} does not hear {other}"
    # one mix per clock tick, whatever the number of members
    assert mixes <= ticks
    assert ports == 0


def test_three_way_from_a_bridged_call_and_muted_listener_not_heard(arun):
    """A customer bridged to an agent; a third party is added (three-way). Then a
    muted and a listen-only member join: nobody hears them, they hear the rest."""
    server_app, client_app = App(), App()
    legs: dict[str, object] = {}
    state: dict[str, object] = {}

    @server_app.route("b2b", public=True)
    async def b2b(call):
        await call.answer()
        out = await call.endpoint.dial(f"sip:agent@127.0.0.1:{state['client_port']}", timeout=5)
        legs["customer"], legs["agent"] = call, out.call
        await bridge(call, out.call)

    @server_app.route("extra", public=True)
    async def extra(call):
        await call.answer()
        legs[call.caller_number] = call
        await call.wait_hangup()

    played = {"agent": 900.0}

    @client_app.route("agent", public=True)
    async def agent(call):
        await call.answer()
        play_bg(call, tone(played["agent"], 5.0))
        await call.wait_hangup()

    async def main():
        server, client, port = await pair(server_app, client_app)
        state["client_port"] = client.local_address("udp")[1]
        res = {}
        caps = {}
        freqs = {"customer": 500.0, "third": 1400.0, "muted": 1900.0, "listener": 2300.0}
        for who in ("customer", "third", "muted", "listener"):
            route = "b2b" if who == "customer" else "extra"
            r = await client.dial(f"sip:{route}@127.0.0.1:{port}", caller=who, timeout=5)
            assert r.answered
            res[who] = r.call
            caps[who] = Capture()
            r.call.session.taps.append(caps[who])
            play_bg(r.call, tone(freqs[who], 5.0))
        await until(lambda: {"customer", "agent", "third", "muted", "listener"} <= set(legs))
        conf = three_way(legs["customer"], legs["third"])
        conf.join(legs["muted"], "muted")
        conf.join(legs["listener"], "listener")
        await asyncio.sleep(0.4)
        for c in caps.values():
            c.armed = True
        await asyncio.sleep(0.8)
        for r in res.values():
            await r.hangup()
        await asyncio.sleep(0.2)
        ports = server.media.ports_in_use
        await server.stop()
        await client.stop()
        return {k: c.pcm for k, c in caps.items()}, freqs, ports

    heard, freqs, ports = arun(main())
    agent_f = played["agent"]
    # the three-way: customer, agent and third hear each other
    assert hears(heard["customer"], agent_f, 2000) and hears(
        heard["customer"], freqs["third"], 2000
    )
    assert hears(heard["third"], agent_f, 2000) and hears(heard["third"], freqs["customer"], 2000)
    # the muted and listen-only members are heard by nobody
    for who in ("customer", "third", "muted", "listener"):
        for silent in ("muted", "listener"):
            if who != silent:
                assert level_at(heard[who], freqs[silent]) < 300, f"{who} hears {silent}"
    # but they hear the conference
    for who in ("muted", "listener"):
        assert hears(heard[who], agent_f, 2000) and hears(heard[who], freqs["customer"], 2000)
    assert ports == 0


def test_background_music_and_end_with_last_moderator(arun):
    app = App()
    conf = Conference("music", end_with_last_moderator=True)
    conf.play_music(tone(700.0, 1.0), gain=1.0)
    roles = {"boss": "moderator", "guest": "speaker"}

    @app.route("music", public=True)
    async def room(call):
        await call.answer()
        conf.join(call, roles[call.caller_number])
        await call.wait_hangup()

    async def main():
        server, client, port = await pair(app)
        boss = (await client.dial(f"sip:music@127.0.0.1:{port}", caller="boss")).call
        guest = (await client.dial(f"sip:music@127.0.0.1:{port}", caller="guest")).call
        cap = Capture()
        guest.session.taps.append(cap)
        await until(lambda: len(conf) == 2)
        await asyncio.sleep(0.3)
        cap.armed = True
        await asyncio.sleep(0.6)
        cap.armed = False
        await boss.hangup()
        hung = await asyncio.wait_for(guest.wait_hangup(), 5)
        await conf.wait_ended()
        await server.stop()
        await client.stop()
        return cap.pcm, hung

    pcm, hung = arun(main())
    assert hears(pcm, 700.0, 2000), "background music not heard"
    assert hung.by == "remote"  # the conference (server side) hung the guest up
    assert conf.closed


def test_roles_are_validated():
    conf = Conference()
    with pytest.raises(ValueError):
        conf.set_role(object(), "chair")  # type: ignore[arg-type]
