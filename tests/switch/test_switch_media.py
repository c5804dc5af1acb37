"""Anchored media on real RTP sockets: echo, digits from SIPp's RFC 2833 pcaps,
no leaked RTP ports."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import pytest
from sip_peers import free_port, need, run_sipp

from callcore import App, Endpoint

HERE = Path(__file__).parent


def tone(freq: float, seconds: float, level: float = 8000.0) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return (level * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def peak_hz(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / 8000)[int(np.argmax(spec))])


def test_echo_returns_the_callers_audio_and_frees_ports(arun):
    app = App()

    @app.route("echo", public=True)
    async def echo(call):
        await call.answer()
        call.echo()
        await call.wait_hangup()

    async def main():
        server, client = Endpoint(app), Endpoint(App())
        await server.start(["udp:127.0.0.1:0"])
        await client.start(["udp:127.0.0.1:0"])
        port = server.local_address("udp")[1]
        res = await client.dial(f"sip:echo@127.0.0.1:{port}", timeout=5)
        assert res.answered
        heard: list[bytes] = []
        session = res.call.session
        session.taps.append(heard.append)
        play = asyncio.ensure_future(res.call.play(tone(697, 1.5)))
        await play
        await asyncio.sleep(0.2)
        await res.call.hangup()
        await asyncio.sleep(0.2)
        ports = (server.media.ports_in_use, client.media.ports_in_use)
        await server.stop()
        await client.stop()
        return b"".join(heard), ports

    heard, ports = arun(main())
    loud = [heard[i : i + 3200] for i in range(0, len(heard) - 3200, 3200)]
    loud = [c for c in loud if np.abs(np.frombuffer(c, "<i2")).max() > 2000]
    assert len(loud) >= 3, "the echo brought back less than 0.6 s of audio"
    assert all(abs(peak_hz(c) - 697) < 15 for c in loud)
    assert ports == (0, 0)


def test_rfc2833_digits_from_sipp_pcaps_are_collected(arun):
    need("sipp")
    if os.geteuid() != 0:
        pytest.skip("SIPp's play_pcap_audio needs root (CI runs as root)")
    app = App()
    collected: list[str] = []

    @app.route("ivr", public=True)
    async def ivr(call):
        await call.answer()
        collected.append(await call.collect(10, terminator="#", first_timeout=8, inter_timeout=3))
        await call.wait_hangup()

    async def main():
        server = Endpoint(app)
        await server.start(["udp:127.0.0.1:0"])
        port = server.local_address("udp")[1]
        loop = asyncio.get_running_loop()
        res = await loop.run_in_executor(
            None,
            run_sipp,
            ["-sf", str(HERE / "scenarios" / "uac_rfc2833_digits.xml"), f"127.0.0.1:{port}", "-s", "ivr",
             "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()), "-m", "1", "-timeout", "30"],
        )  # fmt: skip
        await asyncio.sleep(0.3)
        ports = server.media.ports_in_use
        await server.stop()
        return res, ports

    res, ports = arun(main())
    assert res.failed == 0 and res.successful == 1, res.output[-2000:]
    assert collected == ["1593"]
    assert ports == 0


def test_play_a_wav_prompt_file_at_another_rate(tmp_path, arun):
    import wave

    path = tmp_path / "welcome.wav"
    pcm16k = (6000 * np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm16k)
    app = App()

    @app.route("ivr", public=True)
    async def ivr(call):
        await call.answer()
        await call.play(str(path))
        await call.hangup()

    async def main():
        server, client = Endpoint(app), Endpoint(App())
        await server.start(["udp:127.0.0.1:0"])
        await client.start(["udp:127.0.0.1:0"])
        res = await client.dial(f"sip:ivr@127.0.0.1:{server.local_address('udp')[1]}")
        heard: list[bytes] = []
        res.call.session.taps.append(heard.append)
        hangup = await asyncio.wait_for(res.call.wait_hangup(), 5)
        await server.stop()
        await client.stop()
        return b"".join(heard), hangup

    heard, hangup = arun(main())
    assert hangup.by == "remote"
    assert len(heard) >= 2 * 8000 * 0.8  # about a second of prompt reached the caller
    assert abs(peak_hz(heard) - 1000) < 15  # the 16 kHz file was converted, not garbled


# -- the media clock falling behind (fake time: no sockets, no timing assertions) --------


class FakeLoop:
    """What MediaClock uses of an event loop, on a clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.timer: tuple[float, object] | None = None

    def time(self) -> float:
        return self.t

    def call_at(self, when, callback):
        self.timer = (when, callback)
        return self  # the handle: cancel()

    def cancel(self) -> None:
        self.timer = None


class FakeEndpoint:
    port = 40000
    remote_addr = ("127.0.0.1", 40002)

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, payload: bytes, payload_type: int, timestamp: int, marker: bool) -> None:
        self.sent.append(payload)


def test_a_clock_that_falls_behind_drops_the_skipped_frames_instead_of_adding_delay(
    monkeypatch,
):
    """An echo call on a clock driven by fake time; the event loop stalls for 200 ms once
    (the packets that came meanwhile are read when it resumes, the tick runs 200 ms late
    and the clock skips ten ticks). The echo keeps the delay it had before the stall."""
    from callcore.rtp.packet import RtpPacket
    from callcore.switch import media

    loop = FakeLoop()
    monkeypatch.setattr(media.asyncio, "get_running_loop", lambda: loop)
    clock = media.MediaClock(ptime=0.02)
    endpoint = FakeEndpoint()
    session = media.MediaSession(clock, endpoint, media.Codec("PCMU"), te_pt=None)
    session.source = lambda: session.heard  # what call.echo() does
    clock.add(session)

    # the caller sends packet i at t0 + 20 ms * i; its payload byte is i mod 127 (μ-law
    # byte 127 is the one that does not survive decode + encode)
    t0 = loop.t + 0.005
    pending = [(t0 + 0.02 * i + 0.001, i) for i in range(400)]
    echoes: list[tuple[float, int]] = []  # (tick time, packet echoed)
    stalled = 0.0

    def read(until: float, at: float | None = None) -> None:
        while pending and pending[0][0] <= until:
            arrival, i = pending.pop(0)
            loop.t = arrival if at is None else at
            payload = bytes([i % 127]) * 160
            session.on_packet(RtpPacket(0, i, 160 * i, 7, payload), ("127.0.0.1", 40002))

    while clock.ticks < 300:
        assert loop.timer is not None
        when, tick = loop.timer
        if clock.ticks == 150:  # the loop is busy for 200 ms, then reads the backlog
            stalled = when + 0.202
            read(stalled, at=stalled)
            loop.t = stalled
        else:
            read(when + 0.002)  # normally a tick runs 2 ms late
            loop.t = when + 0.002
        n = len(endpoint.sent)
        tick()
        if len(endpoint.sent) > n and endpoint.sent[-1][0] != 0xFF:  # not silence
            code = endpoint.sent[-1][0]
            i = max(j for j in range(code, 400, 127) if t0 + 0.02 * j <= loop.t)
            echoes.append((loop.t, i))

    delay = [round(t - (t0 + 0.02 * i), 4) for t, i in echoes]  # tick time - send time
    stall = next(k for k, (t, _) in enumerate(echoes) if t == stalled)
    assert len(set(delay[100:stall])) == 1  # steady before the stall
    assert delay[stall:] == [delay[stall - 1]] * (len(delay) - stall)  # and the same after
    assert clock.late_ticks == 1 and clock.skipped_ticks == 10
    st = session.jitter.stats
    assert st.skipped == 10 and st.concealed == 0 and st.late == 0
    clock.remove(session)
