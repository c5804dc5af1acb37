"""End to end on loopback with SIP stacks callcore did not write.

SIPp callers (RFC 2833 digits replayed from SIPp's pcaps) walk the bank
hotline's IVR and land in queues; baresip agents (``answermode=auto``)
register — which logs them in — and answer the calls the ACD offers them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from center_live_helpers import bank_example, check_acd_consistency
from sip_peers import baresip_agents, free_port, need

from callcore.center import BusinessHours
from callcore.center.events import CallAbandoned, CallAnswered, CallQueued
from callcore.center.live import BeepPrompts

pytestmark = [pytest.mark.peer, pytest.mark.slow]

SCENARIO = Path(__file__).parent / "scenarios" / "uac_ivr_caller.xml"
PCAPS = Path("/usr/share/sip-tester")
GOLD = "+8613800000004"  # a gold customer of the example's bank: priority 5


def _sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def _scenario(tmp: Path, name: str, caller: str, *, digit: str | None, pre_ms: int,
              hold_ms: int, audio: Path | None = None) -> Path:  # fmt: skip
    text = SCENARIO.read_text()
    text = text.replace("[caller]", caller).replace("[pre_ms]", str(pre_ms))
    text = text.replace("[hold_ms]", str(hold_ms))
    lines = []
    for line in text.splitlines():
        if "play_pcap_audio" in line:
            if digit is None:
                continue
            line = line.replace("[digit_pcap]", str(PCAPS / f"dtmf_2833_{digit}.pcap"))
        if "rtp_stream" in line:
            if audio is None:
                continue
            line = line.replace("[audio]", f"{audio},1,0")
        lines.append(line)
    path = tmp / f"{name}.xml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def _sipp(scenario: Path, center_port: int) -> int:
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-s", "95588", f"127.0.0.1:{center_port}",
        "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
        "-m", "1", "-timeout", "45s", "-nostdin",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return await asyncio.wait_for(proc.wait(), 60)


async def _until(pred, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def _center(tmp: Path, agents, **kw):
    ex = bank_example()
    specs = [ex.AgentSpec(aid, ext, queues=queues) for aid, ext, queues in agents]
    center = ex.build_bank_hotline(
        agents=specs, prompts=BeepPrompts(0.05), recordings_dir=tmp / "rec", wrap_up=0.5, **kw
    )
    numbers: dict[str, str] = {}
    center.endpoint.call_ended_hooks.append(
        lambda c: numbers.setdefault(c.call_id, c.caller_number)
    )
    return center, numbers


def test_sipp_callers_walk_the_ivr_and_baresip_agents_answer(tmp_path):
    need("sipp")
    need("sox")

    async def main():
        center, numbers = _center(tmp_path, [("b1", "8001", ("general", "collections")),
                                              ("b2", "8002", ("general", "collections"))])  # fmt: skip
        await center.start()
        try:
            async with baresip_agents(tmp_path, center.port, ["8001", "8002"]):
                await _until(lambda: center.runtime.snapshot()["agents_logged_in"] == 2)
                s1 = _scenario(
                    tmp_path, "c1", "+8613900000101", digit="0", pre_ms=300, hold_ms=4000
                )
                s2 = _scenario(
                    tmp_path, "c2", "+8613900000102", digit="4", pre_ms=300, hold_ms=4000
                )
                rcs = await asyncio.gather(_sipp(s1, center.port), _sipp(s2, center.port))
                await asyncio.sleep(0.5)
                agents_on_exit = center.runtime.snapshot()["agents_logged_in"]
            await _until(lambda: center.runtime.snapshot()["agents_logged_in"] == 0, 10)
            return center, numbers, rcs, agents_on_exit
        finally:
            await center.stop()

    center, numbers, rcs, agents_on_exit = asyncio.run(main())
    assert rcs == [0, 0]
    assert agents_on_exit == 2  # baresip quitting unregisters -> logged out (awaited above)
    answered = [e for e in center.stats.events if isinstance(e, CallAnswered)]
    by_number = {numbers[e.call_id]: e for e in answered}
    assert by_number["+8613900000101"].queue == "general"  # pressed 0
    assert by_number["+8613900000102"].queue == "collections"  # pressed 4
    assert {e.agent_id for e in answered} == {"b1", "b2"}
    assert sorted(r.outcome for r in center.results) == ["queue:collections", "queue:general"]
    assert all(r.inputs["menu"] in ("0", "4") for r in center.results)
    assert center.stats.totals["general"].abandoned == 0
    assert center.runtime.counters.completed == 2
    check_acd_consistency(center)


def test_vip_overtakes_and_abandons_are_counted(tmp_path):
    """One baresip agent busy with caller A; B and C queue, then gold caller G.
    When the agent frees, G is answered first; B and C give up and are counted
    as abandoned — exactly them."""
    need("sipp")
    need("sox")

    async def main():
        center, numbers = _center(tmp_path, [("b3", "8003", ("general",))])
        await center.start()
        try:
            async with baresip_agents(tmp_path, center.port, ["8003"]):
                await _until(lambda: center.runtime.snapshot()["agents_logged_in"] == 1)
                plan = [  # (start s, caller, hold ms after the digit)
                    (0.0, "+8613900000201", 4000),  # A: answered at once
                    (0.6, "+8613900000202", 9000),  # B: waits, gives up
                    (1.0, "+8613900000203", 9000),  # C: waits, gives up
                    (1.6, GOLD, 8000),  # G: gold, joins last, answered first
                ]

                async def one(start, caller, hold):
                    await asyncio.sleep(start)
                    s = _scenario(tmp_path, caller[-3:], caller, digit="0", pre_ms=300,
                                  hold_ms=hold)  # fmt: skip
                    return await _sipp(s, center.port)

                rcs = await asyncio.gather(*(one(*p) for p in plan))
                await asyncio.sleep(0.5)
            return center, numbers, rcs
        finally:
            await center.stop()

    center, numbers, rcs = asyncio.run(main())
    assert rcs == [0, 0, 0, 0]
    ev = center.stats.events
    queued = {numbers[e.call_id]: e for e in ev if isinstance(e, CallQueued)}
    answered = {numbers[e.call_id]: e for e in ev if isinstance(e, CallAnswered)}
    abandoned = {numbers[e.call_id]: e for e in ev if isinstance(e, CallAbandoned)}
    assert set(answered) == {"+8613900000201", GOLD}
    assert set(abandoned) == {"+8613900000202", "+8613900000203"}
    assert queued[GOLD].priority == 5 and queued[GOLD].at > queued["+8613900000203"].at
    assert answered[GOLD].at < min(e.at for e in abandoned.values())  # overtook B and C
    t = center.stats.totals["general"]
    assert (t.offered, t.answered, t.abandoned) == (4, 2, 2)
    check_acd_consistency(center)


def test_after_hours_caller_leaves_a_voicemail(tmp_path):
    """Closed hotline: the caller hears the closed message, a beep, and is recorded."""
    need("sipp")
    need("sox")
    audio = tmp_path / "speech.ulaw"
    _sox("-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(audio), "synth", "3",
         "sine", "500", "vol", "0.5")  # fmt: skip
    closed = BusinessHours(tz="Asia/Shanghai", weekly={}, holidays={dt.date.today()})

    async def main():
        center, _ = _center(tmp_path, [("b4", "8004", ("general",))], hours=closed)
        await center.start()
        try:
            s = _scenario(tmp_path, "vm", "+8613900000301", digit=None, pre_ms=100,
                          hold_ms=3000, audio=audio)  # fmt: skip
            rc = await _sipp(s, center.port)
            await _until(lambda: len(center.voicemail.list("hotline")) == 1, 5)
            return center, rc
        finally:
            await center.stop()

    center, rc = asyncio.run(main())
    assert rc == 0
    [msg] = center.voicemail.list("hotline")
    assert msg.caller == "+8613900000301"
    assert msg.meta["ivr_path"] == ["hours", "after_hours"]
    with wave.open(msg.path, "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
    assert len(pcm) / 8000 > 1.5  # recorded until the caller hung up
    # the caller's 500 Hz tone is in the recording (not silence)
    spectrum = np.abs(np.fft.rfft(pcm))
    peak_hz = np.argmax(spectrum) * 8000 / len(pcm)
    assert abs(peak_hz - 500) < 10
    assert np.sqrt(np.mean(pcm**2)) > 1000
    assert center.results[0].outcome == "voicemail:hotline"
