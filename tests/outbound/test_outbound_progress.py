"""Outbound call progress: the SIP outcome table, the sans-IO analyzer on
synthesized clips, and live classification of a farm of real SIPp callees."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import os
import time
from collections import Counter, defaultdict

import pytest
from farm import EXPECTED, Farm, af

from callcore import App, Endpoint
from callcore.media.amd import AmdConfig
from callcore.outbound.progress import (
    Outcome,
    ProgressAnalyzer,
    Verdict,
    analyze_call,
    classify_attempt,
    outcome_from_sip,
)
from callcore.switch.call import DialResult

audio_cache = af.audio_cache

# -- (a) sans-IO: the SIP table -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (486, "busy"), (600, "busy"),
        (408, "no_answer"), (480, "no_answer"), (487, "no_answer"),
        (404, "invalid_number"), (410, "invalid_number"), (484, "invalid_number"),
        (485, "invalid_number"), (604, "invalid_number"),
        (403, "rejected"), (603, "rejected"), (488, "rejected"), (401, "rejected"),
        (407, "rejected"), (606, "rejected"),
        (500, "network_failure"), (502, "network_failure"), (503, "network_failure"),
        (504, "network_failure"), (None, "network_failure"),
        # fallbacks by class
        (302, "network_failure"), (415, "rejected"), (499, "rejected"),
        (513, "network_failure"), (599, "network_failure"), (699, "rejected"),
        (200, "unknown"), (183, "network_failure"),
    ],
)  # fmt: skip
def test_outcome_from_sip_table(status, outcome):
    assert outcome_from_sip(status) == outcome
    assert isinstance(outcome_from_sip(status), Outcome)


def test_q850_cause_in_reason_wins_over_the_status():
    assert outcome_from_sip(480, 'Q.850;cause=17;text="User busy"') == Outcome.BUSY
    assert outcome_from_sip(503, "Q.850 ; cause=1") == Outcome.INVALID_NUMBER
    assert outcome_from_sip(480, "q.850;cause=21") == Outcome.REJECTED
    assert outcome_from_sip(None, "Q.850;cause=38") == Outcome.NETWORK_FAILURE
    # an unmapped cause or a plain reason phrase leaves the status in charge
    assert outcome_from_sip(486, "Q.850;cause=16") == Outcome.BUSY
    assert outcome_from_sip(404, "Busy Here") == Outcome.INVALID_NUMBER


def test_classify_unanswered_results():
    run = asyncio.run
    assert run(classify_attempt(DialResult("busy", 486, "Busy Here"))) == Verdict(
        Outcome.BUSY, 0, "", None, 486
    )
    assert run(classify_attempt(DialResult("failed", None, "no response"))).outcome == (
        Outcome.NETWORK_FAILURE
    )
    # a ring group that rang out has no status but says what happened
    assert run(classify_attempt(DialResult("no_answer", None, "nobody answered"))).outcome == (
        Outcome.NO_ANSWER
    )


# -- (a) sans-IO: the analyzer on synthesized clips ---------------------------------------


def _run(pcm: bytes, analyzer: ProgressAnalyzer | None = None) -> list[Verdict]:
    a = analyzer or ProgressAnalyzer()
    out = []
    for f in af.frames(pcm):
        v = a.feed(f)
        if v is not None:
            out.append(v)
        if a.done:
            break
    assert a.done
    return out


def _hello(cache, text="Hello?", voice="en-us") -> bytes:
    return af.trim_silence(af.speech(cache, text, voice=voice, speed=160))


def _greeting(cache) -> bytes:
    return af.trim_silence(
        af.speech(
            cache,
            "Hi, you have reached the voicemail of John Smith. I am not available right now, "
            "please leave a message after the tone.",
            speed=160,
        )
    )


def _beep(cache, ms=500, freq=1000) -> bytes:
    return af.sox_synth(cache, ms / 1000, "sine", str(freq), effects=("vol", "0.3"))


def _line(pcm: bytes, seed=1) -> bytes:
    return af.mix(pcm, af.noise(len(pcm) // 16, 20, seed))


@pytest.mark.parametrize(
    ("text", "voice"),
    [("Hello?", "en-us"), ("Hello, who is this?", "en-gb"), ("Yes, hello?", "en-us+f3")],
)
def test_human_clip_is_human(audio_cache, text, voice):
    (v,) = _run(_line(af.silence(400) + _hello(audio_cache, text, voice) + af.silence(4000)))
    assert v.outcome is Outcome.HUMAN and v.final and v.beep_at_ms is None
    assert v.amd_cause == "HUMAN-800-800" and v.decided_ms < 3000


def test_machine_greeting_then_beep(audio_cache):
    pcm = af.silence(400) + _greeting(audio_cache) + af.silence(300)
    beep_end = (len(pcm) + len(_beep(audio_cache))) // 16
    pcm = _line(pcm + _beep(audio_cache) + af.silence(3000))
    (v,) = _run(pcm)  # without wait_for_beep: one final verdict, early
    assert v.outcome is Outcome.MACHINE and v.final and v.beep_at_ms is None
    assert v.decided_ms < 3000 and v.amd_cause.startswith(("LONGGREETING", "MAXWORDS"))
    first, final = _run(pcm, ProgressAnalyzer(wait_for_beep=True))
    assert first.outcome is final.outcome is Outcome.MACHINE
    assert not first.final and first.beep_at_ms is None
    assert final.final and final.decided_ms == first.decided_ms
    assert abs(final.beep_at_ms - beep_end) <= 60  # the moment to start the message


def test_beep_before_amd_decides_means_machine(audio_cache):
    """A terse greeting AMD would call human ("Leave a message." then silence)
    is a machine once its beep is heard."""
    short = af.trim_silence(af.speech(audio_cache, "Leave a message.", speed=170))
    pcm = _line(af.silence(300) + short + af.silence(300) + _beep(audio_cache, 400, 1400))
    pcm += af.silence(3000)
    (v,) = _run(pcm)
    assert (v.outcome, v.amd_cause) == (Outcome.MACHINE, "BEEP-1400")
    assert v.beep_at_ms is not None
    (v,) = _run(pcm, ProgressAnalyzer(beep_means_machine=False))
    assert v.outcome is Outcome.HUMAN  # what app_amd alone says


@pytest.mark.parametrize("lead_ms", [0, 500, 1500, 2500])
def test_ced_is_fax_not_a_long_greeting(audio_cache, lead_ms):
    ced = af.sox_synth(audio_cache, 3.3, "sine", "2100", effects=("vol", "0.3"))
    (v,) = _run(_line(af.silence(lead_ms) + ced + af.silence(3000)))
    assert (v.outcome, v.amd_cause) == (Outcome.FAX, "FAX-CED-2100")
    assert v.decided_ms <= lead_ms + 3000


def test_cng_is_fax_within_3_s(audio_cache):
    burst = af.sox_synth(audio_cache, 0.5, "sine", "1100", effects=("vol", "0.3"))
    (v,) = _run(_line(af.silence(300) + (burst + af.silence(3000)) * 3))
    assert (v.outcome, v.amd_cause) == (Outcome.FAX, "FAX-CNG-1100")
    assert v.decided_ms <= 1000


def test_silence_is_a_machine_after_the_fax_guard():
    (v,) = _run(af.silence(8000))
    assert (v.outcome, v.amd_cause) == (Outcome.MACHINE, "INITIALSILENCE-2500-2500")
    assert v.decided_ms == 2500 + 1000
    (v,) = _run(af.silence(8000), ProgressAnalyzer(fax_guard_ms=0))
    assert v.decided_ms == 2500


@pytest.mark.parametrize(
    ("notsure_as", "expected"),
    [("human", Outcome.HUMAN), ("machine", Outcome.MACHINE), (Outcome.UNKNOWN, Outcome.UNKNOWN)],
)
def test_notsure_mapping(notsure_as, expected):
    cfg = AmdConfig(initial_silence_ms=9000, total_analysis_ms=3000)
    (v,) = _run(af.silence(5000), ProgressAnalyzer(cfg, notsure_as=notsure_as))
    assert (v.outcome, v.amd_cause, v.decided_ms) == (expected, "TOOLONG-3000", 3000)


def test_notsure_as_is_checked_and_default_is_human():
    assert ProgressAnalyzer().notsure_as is Outcome.HUMAN
    with pytest.raises(ValueError):
        ProgressAnalyzer(notsure_as="fax")


def test_stop_reports_what_is_known(audio_cache):
    a = ProgressAnalyzer()
    for f in af.frames(af.silence(400)):
        assert a.feed(f) is None
    assert a.stop("HANGUP") == Verdict(Outcome.UNKNOWN, 400, "HANGUP")
    assert a.done and a.feed(af.silence(20)) is None and a.stop() is a.verdict
    a = ProgressAnalyzer(wait_for_beep=True)  # a machine hanging up before its beep
    got = [a.feed(f) for f in af.frames(af.silence(300) + _greeting(audio_cache)[:48000])]
    assert [v.final for v in got if v] == [False]
    v = a.stop()
    assert (v.outcome, v.final, v.beep_at_ms) == (Outcome.MACHINE, True, None)


def test_steady_tone_ends_unknown(audio_cache):
    hum = af.sox_synth(audio_cache, 14, "sine", "1100", effects=("vol", "0.3"))
    (v,) = _run(hum)
    assert v.outcome is Outcome.UNKNOWN and v.amd_cause.startswith("NODECISION")


def test_frame_size_is_checked():
    with pytest.raises(ValueError):
        ProgressAnalyzer().feed(bytes(100))


# -- analyze_call over a stand-in call (the adapter alone, no network) --------------------


class _Session:
    closed = False

    def __init__(self) -> None:
        self.taps: list = []


class _Call:
    """What analyze_call uses of a Call: ``session.taps``, ``ended``, ``wait_hangup()``."""

    def __init__(self) -> None:
        self.session = _Session()
        self.ended = False
        self._ended = asyncio.get_running_loop().create_future()

    async def wait_hangup(self):
        return await asyncio.shield(self._ended)

    def hang_up(self) -> None:
        self.ended = True
        self._ended.set_result("bye")


async def _media_clock(call: _Call, pcm: bytes, ticks: list[int], hangup_after: int | None = None):
    """Feed the taps one frame per loop turn (as the media clock does, only faster)."""
    for i, f in enumerate(af.frames(pcm)):
        if hangup_after is not None and i == hangup_after:
            call.hang_up()
            return
        for tap in list(call.session.taps):
            tap(f)
        ticks[0] += 1
        await asyncio.sleep(0)


def test_analyze_call_resolves_on_the_decision_and_detaches(audio_cache):
    pcm = af.silence(400) + _hello(audio_cache) + af.silence(8000)

    async def main():
        call, ticks, seen = _Call(), [0], []
        clock = asyncio.ensure_future(_media_clock(call, pcm, ticks))
        v = await analyze_call(call, timeout=30, on_verdict=seen.append)
        at_return = ticks[0]
        await clock
        return v, at_return, seen, call.session.taps

    v, at_return, seen, taps = asyncio.run(main())
    assert v.outcome is Outcome.HUMAN and seen == [v] and taps == []
    # resolved as soon as the deciding frame was fed, not at the end of the audio
    assert at_return - v.decided_ms // 20 <= 3


def test_analyze_call_machine_waits_for_the_beep(audio_cache):
    pcm = af.silence(300) + _greeting(audio_cache) + af.silence(300) + _beep(audio_cache)
    pcm += af.silence(4000)

    async def main():
        call, ticks, seen = _Call(), [0], []
        clock = asyncio.ensure_future(_media_clock(call, pcm, ticks))
        v = await analyze_call(call, wait_for_beep=True, on_verdict=seen.append)
        clock.cancel()
        return v, seen

    v, seen = asyncio.run(main())
    assert [x.final for x in seen] == [False, True] and seen[-1] is v
    assert v.outcome is Outcome.MACHINE and v.beep_at_ms is not None


def test_analyze_call_ends_with_the_call_or_the_timeout(audio_cache):
    async def hangup():
        call, ticks = _Call(), [0]
        clock = asyncio.ensure_future(_media_clock(call, af.silence(5000), ticks, 30))
        v = await analyze_call(call, timeout=30)
        await clock
        return v

    v = asyncio.run(hangup())
    assert (v.outcome, v.amd_cause, v.decided_ms) == (Outcome.UNKNOWN, "HANGUP", 600)

    async def silent_line():  # no frames at all (no media clock)
        return await analyze_call(_Call(), timeout=0.05)

    assert asyncio.run(silent_line()) == Verdict(Outcome.UNKNOWN, 0, "TIMEOUT")

    async def ended():
        call = _Call()
        call.hang_up()
        return await analyze_call(call)

    assert asyncio.run(ended()).amd_cause == "HANGUP"


# -- (b) live: a farm of real SIPp callees ----------------------------------------------

DEFAULT_LOOP = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
PER_CLASS = 3
#: an RTP port range of our own (other test processes on this host start at 20000)
RTP_PORTS = (42000 + 400 * (os.getpid() % 40), 42000 + 400 * (os.getpid() % 40) + 398)
#: dial (ring) timeouts: short where nobody will answer
DIAL_TIMEOUT = {"no_answer": 4.0, "network_failure": 4.0}


async def _attempt(ep: Endpoint, uri: str, behaviour: str, message: bytes, ring: float) -> dict:
    t0 = time.monotonic()
    res = await ep.dial(uri, timeout=ring)
    factory = functools.partial(ProgressAnalyzer, wait_for_beep=True, beep_timeout_ms=12_000)
    verdict = await classify_attempt(res, factory, timeout=25)
    left_message = False
    if res.call is not None:
        if verdict.outcome is Outcome.MACHINE and verdict.beep_at_ms is not None:
            await res.call.play(message, interruptible=False)  # leave the message
            left_message = True
        await res.call.hangup()
    return {
        "behaviour": behaviour,
        "uri": uri,
        "verdict": verdict,
        "seconds": time.monotonic() - t0,
        "left_message": left_message,
    }


async def _classify_farm(
    uris: dict[str, list[str]], message: bytes, ring: dict[str, float] = DIAL_TIMEOUT
) -> list[dict]:
    ep = Endpoint(App(), rtp_ports=RTP_PORTS)
    await ep.start(["udp:127.0.0.1:0"])
    try:
        jobs = []
        for behaviour, targets in uris.items():
            for uri in targets:
                jobs.append(_attempt(ep, uri, behaviour, message, ring.get(behaviour, 10.0)))
                await asyncio.sleep(0.02)  # spread the INVITEs a little
        return await asyncio.gather(*(asyncio.ensure_future(j) for j in jobs))
    finally:
        await ep.stop()


def _report(results: list[dict], farm: Farm) -> dict[str, tuple[int, int]]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    print("\noutbound call progress against the SIPp farm:")
    for r in results:
        v: Verdict = r["verdict"]
        ok = str(v.outcome) == EXPECTED[r["behaviour"]]
        per[r["behaviour"]][0] += ok
        per[r["behaviour"]][1] += 1
        callee = farm.callees[r["uri"]]
        print(
            f"  {r['behaviour']:16} -> {v.outcome!s:16} {'ok ' if ok else 'BAD'} "
            f"cause={v.amd_cause or '-':26} sip={v.sip_status} decided={v.decided_ms} ms "
            f"beep={v.beep_at_ms} (clip beep end {callee.beep_end_ms}) "
            f"in {r['seconds']:.1f} s  [{callee.clip}]"
        )
    print("accuracy per class:")
    for behaviour, (ok, n) in per.items():
        print(f"  {behaviour:16} {ok}/{n}")
    return {b: (ok, n) for b, (ok, n) in per.items()}


@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.parametrize("loop_factory", [DEFAULT_LOOP], indirect=True)
def test_live_farm_is_classified(arun, tmp_path_factory, audio_cache):
    """Every behaviour dialed PER_CLASS times at once over real SIP/RTP.

    Run on the default loop only (uvloop when installed) to keep the file
    under ~90 s; the smaller test below covers both loops."""
    farm = Farm(audio_cache)
    message = af.sox_synth(audio_cache, 0.6, "sine", "600", effects=("vol", "0.2"))
    try:
        uris = farm.start({b: PER_CLASS for b in EXPECTED})
        results = arun(_classify_farm(uris, message))
    finally:
        stats = farm.stop()
    acc = _report(results, farm)
    for behaviour in ("busy", "no_answer", "invalid", "rejected", "network_failure", "fax"):
        assert acc[behaviour] == (PER_CLASS, PER_CLASS), (behaviour, results)
    for behaviour in ("human", "machine"):
        ok, n = acc[behaviour]
        assert n == PER_CLASS and ok >= PER_CLASS - 1, (behaviour, results)
    for r in results:
        v = r["verdict"]
        callee = farm.callees[r["uri"]]
        if r["behaviour"] == "machine" and v.outcome is Outcome.MACHINE:
            # the beep is found where the clip has it (plus the jitter buffer's delay)
            assert v.beep_at_ms is not None and r["left_message"], r
            assert -100 <= v.beep_at_ms - callee.beep_end_ms <= 600, r
        if r["behaviour"] == "fax":
            assert v.decided_ms <= 4000, r
    # SIPp accepted every scenario and saw every call through
    for behaviour, procs in stats.items():
        for s in procs:
            assert s.clean, (behaviour, s.returncode, s.successful, s.failed, s.output[-1500:])
    assert "network_failure" not in stats  # nobody listens there


@pytest.mark.peer
def test_live_smoke_on_both_loops(arun, audio_cache):
    farm = Farm(audio_cache)
    try:
        uris = farm.start({"human": 1, "busy": 1, "network_failure": 1}, ring_ms={"human": 300})
        results = arun(_classify_farm(uris, b"", {"network_failure": 2.0}))
    finally:
        stats = farm.stop()
    got = Counter((r["behaviour"], str(r["verdict"].outcome)) for r in results)
    assert got[("busy", "busy")] == got[("network_failure", "network_failure")] == 1, results
    assert got[("human", "human")] == 1, results
    assert all(s.clean for procs in stats.values() for s in procs), stats
