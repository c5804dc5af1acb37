"""Call recording on real RTP: stereo bridge (caller left, agent right), pause over
in-band DTMF, conference mix, and a process SIGKILLed mid-call leaving a
readable WAV and a CDR row."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
from confhelp import hears, level_at, pair, play_bg, tone, until

from callcore import App, Endpoint
from callcore.media.dtmf import detect_digits, dtmf_sequence
from callcore.store.cdr import SqliteCdrStore
from callcore.switch.bridge import bridge
from callcore.switch.conference import Conference
from callcore.switch.recording import (
    record_bridge,
    record_conference,
    record_leg,
    recordings_of,
)

HERE = Path(__file__).parent
CUSTOMER, AGENT = 500.0, 900.0


def read_wav(path) -> tuple[int, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        ch = w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return ch, data.reshape(-1, ch)


def test_stereo_bridge_recording_caller_left_agent_right(arun, tmp_path):
    server_app, client_app = App(), App()
    legs: dict[str, object] = {}
    ports: dict[str, int] = {}
    wav = tmp_path / "bridge.wav"

    @server_app.route("b2b", public=True)
    async def b2b(call):
        await call.answer()
        out = await call.endpoint.dial(f"sip:agent@127.0.0.1:{ports['client']}", timeout=5)
        legs["customer"], legs["agent"] = call, out.call
        legs["rec"] = record_bridge(call, out.call, wav, flush_ms=200)
        await bridge(call, out.call)

    @client_app.route("agent", public=True)
    async def agent(call):
        await call.answer()
        play_bg(call, tone(AGENT, 5.0))
        await call.wait_hangup()

    async def main():
        server, client, port = await pair(server_app, client_app)
        ports["client"] = client.local_address("udp")[1]
        cust = (await client.dial(f"sip:b2b@127.0.0.1:{port}", caller="customer", timeout=5)).call
        play_bg(cust, tone(CUSTOMER, 5.0))
        await until(lambda: "rec" in legs)
        await asyncio.sleep(1.2)
        await cust.hangup()
        rec = legs["rec"]
        await asyncio.wait_for(until(lambda: not rec.active), 5)
        await rec.stop()
        refs = [r.reference for r in recordings_of(legs["customer"])]
        await server.stop()
        await client.stop()
        return rec, refs

    rec, refs = arun(main())
    assert refs == [str(wav)] and rec.error is None
    ch, data = read_wav(wav)
    assert ch == 2 and len(data) >= 8000  # at least a second of audio
    left, right = data[:, 0].tobytes(), data[:, 1].tobytes()
    assert hears(left, CUSTOMER, 2000) and level_at(left, AGENT) < 300
    assert hears(right, AGENT, 2000) and level_at(right, CUSTOMER) < 300


def test_pause_records_silence_where_dtmf_was_keyed(arun, tmp_path):
    app = App()
    recs: dict[str, object] = {}
    paused_wav, full_wav = tmp_path / "paused.wav", tmp_path / "full.wav"

    @app.route("pay", public=True)
    async def pay(call):
        await call.answer()
        recs["paused"] = record_leg(call, paused_wav, flush_ms=200)
        recs["full"] = record_leg(call, full_wav, flush_ms=200)  # control: never paused
        await call.wait_hangup()

    async def main():
        server, client, port = await pair(app)
        call = (await client.dial(f"sip:pay@127.0.0.1:{port}", caller="payer", timeout=5)).call
        await until(lambda: "paused" in recs)
        await call.play(tone(CUSTOMER, 0.6))
        rec = recs["paused"]
        with rec.paused_span():
            await asyncio.sleep(0.1)
            await call.play(dtmf_sequence("4111222233334444", 70, 50))
            await asyncio.sleep(0.25)
        await call.play(tone(CUSTOMER, 0.6))
        await call.hangup()
        for r in recs.values():
            await r.stop()
        await server.stop()
        await client.stop()
        return rec.paused_seconds

    paused_seconds = arun(main())
    _, full = read_wav(full_wav)
    _, paused = read_wav(paused_wav)
    # the control recording holds the card number; the paused one holds none of it
    assert "4111222233334444" in detect_digits(full.tobytes())
    assert detect_digits(paused.tobytes()) == ""
    assert paused_seconds >= 1.9
    # the timeline is intact: same length, audio before and after the silent span
    assert abs(len(full) - len(paused)) <= 160
    x = paused[:, 0]
    zero = x == 0
    # longest run of digital silence covers the whole keyed sequence
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate(([0], zero.astype(int), [0])))))[::2]
    assert runs.max() >= int(1.9 * 8000)
    assert hears(x[:4000].tobytes(), CUSTOMER, 1000)
    assert hears(x[-6000:].tobytes(), CUSTOMER, 1000)


def test_conference_recording_holds_the_mix(arun, tmp_path):
    app = App()
    conf = Conference("rec")
    wav = tmp_path / "conf.wav"
    recs: list = []

    @app.route("room", public=True)
    async def room(call):
        await call.answer()
        conf.join(call)
        if len(conf) == 2:
            recs.append(record_conference(conf, wav, flush_ms=200))
        await call.wait_hangup()

    async def main():
        server, client, port = await pair(app)
        calls = []
        for f in (CUSTOMER, AGENT):
            c = (await client.dial(f"sip:room@127.0.0.1:{port}", timeout=5)).call
            play_bg(c, tone(f, 3.0))
            calls.append(c)
        await until(lambda: bool(recs))
        await asyncio.sleep(1.0)
        await conf.end()
        await recs[0].stop()
        await server.stop()
        await client.stop()

    arun(main())
    ch, data = read_wav(wav)
    assert ch == 1 and len(data) >= 6000
    pcm = data[:, 0].tobytes()
    assert hears(pcm, CUSTOMER, 2000) and hears(pcm, AGENT, 2000)


def test_sigkill_mid_call_leaves_readable_wav_and_cdr_row(tmp_path):
    wav, db = tmp_path / "crash.wav", tmp_path / "cdr.sqlite"
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "rec_crash_server.py"), str(wav), str(db)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # "PORT <n>" once listening
        assert line.startswith("PORT "), line
        port = int(line.split()[1])

        async def main():
            client = Endpoint(App())
            await client.start(["udp:127.0.0.1:0"])
            res = await client.dial(f"sip:rec@127.0.0.1:{port}", caller="555123", timeout=5)
            assert res.answered
            play_bg(res.call, tone(CUSTOMER, 5.0))
            await asyncio.sleep(1.5)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
            await client.stop()

        asyncio.run(main())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == -signal.SIGKILL
    ch, data = read_wav(wav)  # the header is valid: wave parses it
    assert ch == 1 and len(data) >= 4000  # most of the 1.5 s made it to disk
    assert hears(data[:, 0].tobytes(), CUSTOMER, 2000)
    store = SqliteCdrStore(db)
    rows = store.query(number="555123")
    store.close()
    assert len(rows) == 1
    row = rows[0]
    assert row.answered_at is not None and row.ended_at is None and not row.complete
    assert row.recording == str(wav)
    assert row.direction == "inbound" and row.callee == "rec"


def test_ticks_the_media_clock_skipped_are_recorded_as_silence(tmp_path):
    """A clock that falls behind skips ticks (their audio is dropped to keep the delay
    down); the recording keeps its timeline with silence for them."""

    class Clock:  # the two counters a recording reads from the media clock
        ticks = 0
        skipped_ticks = 0

    class Session:
        def __init__(self) -> None:
            self.taps: list = []
            self.clock = Clock()

    class Leg:
        def __init__(self) -> None:
            self.session = Session()

        def _need_media(self):
            return self.session

        async def wait_hangup(self):
            await asyncio.Event().wait()

    wav = tmp_path / "gap.wav"
    loud = (np.full(160, 3000, dtype="<i2")).tobytes()

    async def main():
        leg = Leg()
        rec = record_leg(leg, wav, flush_ms=200)
        tap = leg.session.taps[0]
        clock = leg.session.clock
        for t in range(10):  # ten ticks on time
            clock.ticks = t
            tap(loud)
        clock.skipped_ticks += 5  # the loop stalled for 100 ms: 5 grid points skipped
        for t in range(10, 15):
            clock.ticks = t
            tap(loud)
        await rec.stop()

    asyncio.run(main())
    _, data = read_wav(wav)
    x = data[:, 0]
    assert len(x) == (10 + 5 + 5) * 160  # 20 ticks of wall time, not 15
    assert (x[: 10 * 160] == 3000).all()
    assert (x[10 * 160 : 15 * 160] == 0).all()  # the skipped ticks: silence
    assert (x[15 * 160 :] == 3000).all()
