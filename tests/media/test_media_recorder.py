from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import wave

import numpy as np
import pytest
from audio_fixtures import tone_peak_hz

from callcore.media.recorder import (
    AsyncRecorder,
    Recorder,
    RecorderError,
    WavChunkWriter,
    export_mp3,
)
from callcore.media.tones import ToneGenerator, ToneSequence, beep

DTMF = {"1": (697, 1209), "2": (697, 1336), "5": (770, 1336), "9": (852, 1477)}


def _read(path) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        x = np.frombuffer(w.readframes(params.nframes), "<i2")
    return params, x.reshape(-1, params.nchannels)


def _header_sizes(path) -> tuple[int, int, int]:
    with open(path, "rb") as f:
        raw = f.read()
    riff = int.from_bytes(raw[4:8], "little")
    i = raw.index(b"data")
    data = int.from_bytes(raw[i + 4 : i + 8], "little")
    return riff, data, len(raw) - (i + 8)


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from callcore.media.recorder import AsyncRecorder
    from callcore.media.tones import ToneGenerator, beep

    async def main(path):
        rec = AsyncRecorder(path, "mono", flush_ms=500)
        gen = ToneGenerator(beep(1000, 60_000, level_dbfs=-10))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for n in range(1, 3000):
            rec.feed(gen.next_frame())
            if n % 5 == 0:
                print(n * 20, flush=True)
            # pace at real time: frame n is due at t0 + n * 20 ms
            await asyncio.sleep(max(0.0, t0 + n * 0.02 - loop.time()))

    asyncio.run(main(sys.argv[1]))
    """
)


@pytest.mark.slow
def test_killed_process_leaves_readable_wav(tmp_path):
    path = tmp_path / "crash.wav"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        fed = 0
        while fed < 2500:
            line = proc.stdout.readline()
            assert line, "child exited early"
            fed = int(line)
            assert time.monotonic() < deadline
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    riff, data, present = _header_sizes(path)
    # The header is self-consistent; a kill between a chunk's write and the header
    # patch that follows it leaves at most that one chunk beyond the declared size.
    assert riff == 36 + data and data <= present <= data + 16000
    params, x = _read(path)
    assert params.nchannels == 1 and params.framerate == 8000 and params.sampwidth == 2
    assert params.nframes >= 8000  # at least 1 s survived
    assert params.nframes % 4000 == 0  # whole flushed chunks only
    assert abs(tone_peak_hz(x[:, 0].tobytes()) - 1000) < 5
    assert np.abs(x[:, 0].astype(int)).max() > 10000


def test_header_valid_after_every_chunk(tmp_path):
    path = tmp_path / "w.wav"
    w = WavChunkWriter(path, channels=2)
    assert _header_sizes(path) == (36, 0, 0)
    for k in range(1, 4):
        w.write(bytes(range(256)) * 10)
        riff, data, present = _header_sizes(path)
        assert data == present == 2560 * k and riff == 36 + 2560 * k
    w.close()
    assert _read(path)[0].nframes == 1920


def _caller_stream():
    """1.2 s: 440 Hz, then digits 1 2 9 5 (70 ms on / 50 ms off), then 440 Hz again."""
    talk = ToneSequence.of([((440,), 400, 0)])
    digits = ToneSequence.of([(DTMF[d], 70, 50) for d in "1295"])
    return talk, digits


def test_pause_records_silence_over_dtmf(arun, tmp_path):
    path = tmp_path / "pause.wav"
    talk, digits = _caller_stream()
    pre = ToneGenerator(talk)
    dig = ToneGenerator(digits)
    post = ToneGenerator(talk)

    async def main():
        async with AsyncRecorder(path, "mono") as rec:
            sent = []
            for _ in range(20):
                f = pre.next_frame()
                sent.append(f)
                rec.feed(f)
            rec.pause()
            assert rec.paused
            for _ in range(24):  # 480 ms of digits
                rec.feed(dig.next_frame())
            rec.resume()
            for _ in range(20):
                f = post.next_frame()
                sent.append(f)
                rec.feed(f)
            return sent

    sent = arun(main())
    _, x = _read(path)
    x = x[:, 0]
    assert len(x) == 64 * 160
    assert x[:3200].tobytes() == b"".join(sent[:20])
    assert not x[3200 : 3200 + 24 * 160].any()  # digital silence where the digits were
    assert x[3200 + 24 * 160 :].tobytes() == b"".join(sent[20:])


def test_stereo_keeps_caller_left_agent_right(arun, tmp_path):
    path = tmp_path / "st.wav"
    cg, ag = ToneGenerator(beep(500, 2000)), ToneGenerator(beep(1300, 2000))

    async def main():
        rec = AsyncRecorder(path, "stereo", flush_ms=200)
        for i in range(100):
            rec.feed(cg.next_frame(), ag.next_frame() if i % 10 else None)
        await rec.aclose()

    arun(main())
    params, x = _read(path)
    assert params.nchannels == 2 and params.nframes == 16000
    assert abs(tone_peak_hz(x[:, 0].tobytes()) - 500) < 5
    assert abs(tone_peak_hz(x[:, 1].tobytes()) - 1300) < 5
    assert not x[:160, 1].any()  # frame 0 had no agent audio


def test_mono_mix_saturates():
    r = Recorder("mono", flush_ms=20)
    a = np.full(160, 30000, "<i2").tobytes()
    b = np.full(160, 10000, "<i2").tobytes()
    out = np.frombuffer(r.feed(a, b), "<i2")
    assert (out == 32767).all()
    out = np.frombuffer(r.feed(None, b), "<i2")
    assert (out == 10000).all()
    assert r.feed(None, None) is None
    with pytest.raises(ValueError):
        r.feed(a, b[:100])


def test_chunks_every_flush_interval():
    r = Recorder("stereo", flush_ms=1000)
    chunks = [c for c in (r.feed(bytes(320), bytes(320)) for _ in range(120)) if c]
    assert [len(c) for c in chunks] == [32000, 32000]
    assert len(r.flush()) == 20 * 640
    assert r.samples == 120 * 160


def test_writer_error_surfaces(arun, tmp_path):
    async def main():
        rec = AsyncRecorder(tmp_path / "no" / "such" / "dir.wav")
        with pytest.raises(RecorderError):
            await rec.aclose()

    arun(main())


def test_mp3_export(tmp_path):
    av = pytest.importorskip("av")
    wav = tmp_path / "m.wav"
    w = WavChunkWriter(wav, channels=1)
    w.write(ToneGenerator(beep(800, 2000, level_dbfs=-6)).read(16000))
    w.close()
    mp3 = tmp_path / "m.mp3"
    size = export_mp3(wav, mp3)
    assert size == os.path.getsize(mp3) > 1000
    with av.open(str(mp3)) as c:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    assert len(pcm) >= 16000
    spec = np.abs(np.fft.rfft(pcm[2000:10000] * np.hanning(8000)))
    assert abs(np.argmax(spec) * 8000 / 8000 - 800) < 10
