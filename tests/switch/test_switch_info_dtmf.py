"""DTMF in SIP INFO reaches the call like an RFC 4733 digit: collect, barge-in and
dtmf_listeners see it. The far end is SIPp (tests/switch/scenarios/uac_info_dtmf.xml),
then a callcore caller for the response codes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from sip_peers import free_port, need, run_sipp

from callcore import App, Endpoint
from callcore.switch import in_dialog

HERE = Path(__file__).parent


def long_tone(seconds: float = 20.0) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return (6000 * np.sin(2 * np.pi * 425 * t)).astype("<i2").tobytes()


def test_sipp_info_digits_barge_in_and_are_collected_in_order(arun):
    need("sipp")
    app = App()
    seen: dict[str, object] = {}

    @app.route("ivr", public=True)
    async def ivr(call):
        heard: list[str] = []
        call.dtmf_listeners.append(heard.append)
        await call.answer()
        seen["play"] = await call.play(long_tone())  # a 20 s prompt the first digit cuts short
        seen["collected"] = await call.collect(10, terminator="#", first_timeout=8, inter_timeout=3)
        await call.wait_hangup()
        seen["listeners"] = "".join(heard)
        events = []
        while not call.events.empty():
            ev = call.events.get_nowait()
            if ev.kind == "dtmf":
                events.append(ev.data)
        seen["events"] = "".join(events)

    async def main():
        server = Endpoint(app)
        await server.start(["udp:127.0.0.1:0"])
        port = server.local_address("udp")[1]
        loop = asyncio.get_running_loop()
        res = await loop.run_in_executor(
            None,
            run_sipp,
            ["-sf", str(HERE / "scenarios" / "uac_info_dtmf.xml"), f"127.0.0.1:{port}", "-s", "ivr",
             "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()), "-m", "1",
             "-timeout", "30"],
        )  # fmt: skip
        await asyncio.sleep(0.3)
        stats = dict(server.stats.answered_errors)
        await server.stop()
        return res, stats

    res, errors = arun(main())
    # SIPp fails the call on any unexpected response: 200s for the digits, 400 + Warning
    # for "Signal=X", 415 + Accept for the text/plain body
    assert res.failed == 0 and res.successful == 1, res.output[-3000:]
    assert seen["play"] == "dtmf:4"
    assert seen["collected"] == "4557*0"
    assert seen["listeners"] == "4557*0#"
    assert seen["events"] == "4557*0#"
    assert errors.get(400) == 1 and errors.get(415) == 1


def test_info_responses_from_a_callcore_caller(arun):
    app = App()
    got: dict[str, str] = {}

    @app.route("ivr", public=True)
    async def ivr(call):
        await call.answer()
        got["digits"] = await call.collect(10, terminator="#", first_timeout=5)
        await call.wait_hangup()

    async def main():
        server, client = Endpoint(app), Endpoint(App())
        await server.start(["udp:127.0.0.1:0"])
        await client.start(["udp:127.0.0.1:0"])
        res = await client.dial(f"sip:ivr@127.0.0.1:{server.local_address('udp')[1]}", timeout=5)
        assert res.answered
        call = res.call
        sends = [
            (b"", None),  # no body: a probe of the dialog
            (b"Signal=9\nDuration=80\n", "application/dtmf-relay"),  # LF line ends
            (b"Duration=160\r\n", "application/dtmf-relay"),  # no Signal
            (b"\xff\xfe", "application/dtmf"),  # not text
            (b'{"digit": "1"}', "application/json"),
            (b"b", "application/dtmf"),
            (b"Signal=11\r\n", "Application/DTMF-Relay; charset=utf-8"),  # '#' as event code
        ]
        answers = []
        for body, ctype in sends:
            resp = await in_dialog.request(client, call, "INFO", body=body, content_type=ctype)
            answers.append((resp.status, resp.headers.get("accept"), resp.headers.get("warning")))
        await asyncio.sleep(0.1)
        await call.hangup()
        await asyncio.sleep(0.1)
        await server.stop()
        await client.stop()
        return answers

    answers = arun(main())
    assert [a[0] for a in answers] == [200, 200, 400, 400, 415, 200, 200]
    assert answers[4][1] == "application/dtmf-relay, application/dtmf"
    assert "Signal" in (answers[2][2] or "") and (answers[3][2] or "").startswith("399 ")
    assert got["digits"] == "9B"  # the refused bodies delivered nothing; '#' ended the collect
