from __future__ import annotations

import numpy as np
import pytest
from audio_fixtures import tone_peak_hz

from callcore.media.tones import (
    TONE_PLANS,
    ToneGenerator,
    ToneSegment,
    ToneSequence,
    beep,
    render,
    silence,
)


def _pcm(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<i2").astype(np.int32)


def _bursts(x: np.ndarray, gap: int = 16) -> list[tuple[int, int]]:
    """(first, last) non-zero sample of each burst separated by >= gap zero samples."""
    nz = np.flatnonzero(x)
    out = []
    start = prev = int(nz[0])
    for i in nz[1:]:
        if i - prev > gap:
            out.append((start, prev))
            start = int(i)
        prev = int(i)
    out.append((start, prev))
    return out


def test_plans_match_reference():
    cn, us = TONE_PLANS["cn"], TONE_PLANS["us"]
    assert cn.ringback.segments == (ToneSegment((450.0,), 1000, 4000),)
    assert cn.busy.segments == (ToneSegment((450.0,), 350, 350),)
    assert us.ringback.segments == (ToneSegment((440.0, 480.0), 2000, 4000),)
    assert us.busy.segments == (ToneSegment((480.0, 620.0), 500, 500),)
    assert cn.ringback.repeat is None


@pytest.mark.parametrize(
    "plan,which,on,off",
    [("cn", "busy", 350, 350), ("us", "busy", 500, 500), ("cn", "ringback", 1000, 4000)],
)
def test_cadence_in_samples(plan, which, on, off):
    seq = getattr(TONE_PLANS[plan], which)
    gen = ToneGenerator(seq)
    x = _pcm(b"".join(gen.next_frame() for _ in range(3 * (on + off) // 20)))
    bursts = _bursts(x)
    on_s, cyc = on * 8, (on + off) * 8
    assert len(bursts) == 3
    for k, (a, b) in enumerate(bursts):
        # each burst starts at a cycle boundary (sin(0) = 0, so first non-zero is +1)
        assert a in (k * cyc, k * cyc + 1)
        assert k * cyc + on_s - 3 <= b <= k * cyc + on_s - 1
        assert not x[k * cyc + on_s : (k + 1) * cyc].any()


def test_frequencies():
    x = render(ToneSequence.of([((450,), 1000, 0)]))
    assert abs(tone_peak_hz(x) - 450) < 5
    dual = _pcm(render(ToneSequence.of([((480, 620), 1000, 0)])))
    spec = np.abs(np.fft.rfft(dual * np.hanning(len(dual))))
    top2 = sorted(np.argsort(spec)[-2:] * 8000 / len(dual))
    assert abs(top2[0] - 480) < 5 and abs(top2[1] - 620) < 5


def test_framing_does_not_change_output():
    seq = ToneSequence.of([((697, 1209), 70, 50), ((941, 1336), 45, 55)], repeat=3)
    one = render(seq)
    gen = ToneGenerator(seq)
    parts = []
    while not gen.done:
        parts.append(gen.read(37))
    assert b"".join(parts)[: len(one)] == one
    assert len(one) == 2 * 8 * (70 + 50 + 45 + 55) * 3


def test_level():
    x = _pcm(render(beep(1000, 500, level_dbfs=-6.0)))
    assert abs(np.abs(x).max() - 32767 * 10 ** (-6 / 20)) < 2


def test_silence_and_end_padding():
    gen = ToneGenerator(silence(30))
    assert gen.total_samples == 240
    assert gen.next_frame() == bytes(320)
    assert not gen.done and gen.remaining() == 80
    assert gen.next_frame() == bytes(320)
    assert gen.done and gen.remaining() == 0


def test_endless_cannot_render():
    with pytest.raises(ValueError):
        render(TONE_PLANS["us"].ringback)


def test_validation():
    with pytest.raises(ValueError):
        ToneSegment((0.0,), 10)
    with pytest.raises(ValueError):
        ToneSequence((ToneSegment((), 0, 0),), repeat=None)
