"""RFC 4028 session timers between real UAs, with short intervals."""

from __future__ import annotations

import asyncio

from callcore import App, Endpoint


def answering_app(calls: list) -> App:
    app = App()

    @app.route("_!", public=True)
    async def answer(call):
        calls.append(call)
        await call.answer()
        await call.wait_hangup()

    return app


async def pair(calls: list, *, offer: int, server_min: int = 1):
    server = Endpoint(answering_app(calls))
    server.min_se = server_min
    await server.start(["udp:127.0.0.1:0"])
    caller = Endpoint(App())
    caller.session_expires = offer
    caller.min_se = 1
    await caller.start(["udp:127.0.0.1:0"])
    return server, caller, f"sip:1@127.0.0.1:{server.local_address('udp')[1]}"


def test_refreshed_sessions_stay_up(arun):
    async def main():
        calls: list = []
        server, caller, uri = await pair(calls, offer=2)
        res = await caller.dial(uri)
        await asyncio.sleep(3.5)
        up = (res.call.state, calls[0].state)
        refreshes = (res.call.session_timer.refreshes, calls[0].session_timer.refreshes)
        header = calls[0].session_timer.header()
        await res.call.hangup()
        await server.stop()
        await caller.stop()
        return up, refreshes, header

    up, refreshes, header = arun(main())
    assert up == ("answered", "answered")
    assert refreshes[0] >= 2 and refreshes[1] >= 2  # the caller refreshed, the server saw it
    assert header == "2;refresher=uac"


def test_session_not_refreshed_is_cleared_with_bye(arun):
    async def main():
        calls: list = []
        server, caller, uri = await pair(calls, offer=2)
        res = await caller.dial(uri)
        res.call.session_timer.cancel()  # the caller goes silent (crashed phone)
        hangup = await asyncio.wait_for(res.call.wait_hangup(), 5)
        server_side = calls[0].hangup_info
        await server.stop()
        await caller.stop()
        return hangup, server_side

    hangup, server_side = arun(main())
    assert hangup.by == "remote"
    assert server_side.cause == "session_expired" and server_side.by == "local"


def test_interval_below_min_se_gets_422(arun):
    async def main():
        calls: list = []
        server, caller, uri = await pair(calls, offer=30, server_min=90)
        res = await caller.dial(uri)
        await server.stop()
        await caller.stop()
        return res.status, calls

    status, calls = arun(main())
    assert status == 422 and calls == []
