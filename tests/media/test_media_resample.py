from __future__ import annotations

import numpy as np
import pytest

from callcore.media.resample import StreamResampler, resample


def _tone(freq, rate, seconds=1.0, amp=10000.0):
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(amp * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def _snr(ref: np.ndarray, got: np.ndarray) -> float:
    err = ref - got
    return 10 * np.log10(np.sum(ref**2) / max(np.sum(err**2), 1e-9))


@pytest.mark.parametrize(
    "src,dst", [(8000, 16000), (16000, 8000), (8000, 48000), (48000, 8000), (16000, 48000)]
)
def test_lengths(src, dst):
    x = _tone(440, src, 0.5)
    y = resample(x, src, dst)
    assert len(y) // 2 == int(np.ceil(len(x) // 2 * dst / src))


@pytest.mark.parametrize("mid", [16000, 48000])
def test_round_trip_snr(mid):
    x = _tone(1000, 8000, 1.0)
    back = resample(resample(x, 8000, mid), mid, 8000)
    a = np.frombuffer(x, "<i2").astype(float)[200:-200]
    b = np.frombuffer(back, "<i2").astype(float)[200:-200]
    assert _snr(a, b) > 40


def test_downsample_removes_out_of_band():
    x = _tone(6000, 16000, 1.0)  # above 4 kHz Nyquist of 8 kHz
    y = np.frombuffer(resample(x, 16000, 8000), "<i2").astype(float)[100:-100]
    assert np.sqrt(np.mean(y**2)) < 10000 / np.sqrt(2) * 10 ** (-40 / 20)


@pytest.mark.parametrize(
    "src,dst,frame",
    [(8000, 16000, 160), (16000, 8000, 320), (8000, 48000, 160), (48000, 8000, 960)],
)
def test_streaming_matches_one_shot(src, dst, frame):
    rng = np.random.default_rng(7)
    x = np.clip(rng.normal(0, 4000, frame * 25), -32768, 32767).astype("<i2")
    sr2 = StreamResampler(src, dst, frame)
    chunks = [sr2.process(x[i : i + frame].tobytes()) for i in range(0, len(x), frame)]
    assert {len(c) for c in chunks} == {2 * sr2.frame_out}
    out = b"".join(chunks) + sr2.flush()
    got = np.frombuffer(out, "<i2").astype(int)
    # the stream lags by delay_out samples, then equals the one-shot result
    ref = np.frombuffer(resample(x.tobytes(), src, dst), "<i2").astype(int)
    assert len(got) - sr2.delay_out == len(ref)
    assert np.abs(got[sr2.delay_out :] - ref).max() <= 1


def test_stream_rejects_bad_frames():
    with pytest.raises(ValueError):
        StreamResampler(8000, 48000, 160).process(bytes(100))
    with pytest.raises(ValueError):
        StreamResampler(48000, 8000, 100)  # 100 samples is not whole at 8 kHz


def test_identity():
    x = _tone(300, 8000, 0.1)
    assert resample(x, 8000, 8000) == x
    assert StreamResampler(8000, 8000).process(x[:320]) == x[:320]
