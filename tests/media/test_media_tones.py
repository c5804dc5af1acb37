from __future__ import annotations

import audio_fixtures
import numpy as np
import pytest
from audio_fixtures import frames, mix, noise, sox_synth, speech, tone_peak_hz

from callcore.media.tones import (
    TONE_PLANS,
    ToneCadenceDetector,
    ToneGenerator,
    ToneSegment,
    ToneSequence,
    beep,
    render,
    silence,
)

audio_cache = audio_fixtures.audio_cache


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


# -- cadence detection (signals synthesized by sox, independent of the generator) --


def _sox_cadence(cache, freqs, on_ms, off_ms, cycles, vol="0.2"):
    synth = ["sine", str(freqs[0])]
    for f in freqs[1:]:
        synth += ["sine", str(f)]
    effects = ("remix", "-", "vol", vol) if len(freqs) > 1 else ("vol", vol)
    # with two sines sox makes two channels; "remix -" sums them into one
    burst = sox_synth(cache, on_ms / 1000, *synth, effects=effects)
    return (burst + bytes(2 * 8 * off_ms)) * cycles


def _detect(plan, pcm):
    det = ToneCadenceDetector(TONE_PLANS[plan])
    out = []
    for f in frames(pcm):
        out += det.feed(f)
    return out


@pytest.mark.parametrize(
    "plan,name,freqs,on,off,cycles",
    [
        ("cn", "busy", (450,), 350, 350, 4),
        ("cn", "ringback", (450,), 1000, 4000, 2),
        ("us", "busy", (480, 620), 500, 500, 3),
        ("us", "ringback", (440, 480), 2000, 4000, 2),
    ],
)
def test_cadence_detects_plan_tones(audio_cache, plan, name, freqs, on, off, cycles):
    pcm = bytes(2 * 8 * 300) + _sox_cadence(audio_cache, freqs, on, off, cycles)
    pcm = mix(pcm, noise(len(pcm) // 16, 60, seed=11))
    ev = _detect(plan, pcm)
    assert [(e.name, e.country) for e in ev] == [(name, plan)]
    assert abs(ev[0].start_ms - 300) <= 40
    assert abs(ev[0].detected_at_ms - (300 + 2 * on + off)) <= 60


def test_cadence_rejects_wrong_timing_and_speech(audio_cache):
    # 450 Hz at 200/200 or 2000/2000: no Chinese cadence (350/350, 700/700, 1000/4000)
    assert _detect("cn", _sox_cadence(audio_cache, (450,), 200, 200, 6)) == []
    assert _detect("cn", _sox_cadence(audio_cache, (450,), 2000, 2000, 3)) == []
    # US busy timing at the wrong frequencies
    assert _detect("us", _sox_cadence(audio_cache, (950, 1400), 500, 500, 4)) == []
    # a steady tone is no cadence
    assert _detect("cn", _sox_cadence(audio_cache, (450,), 5000, 0, 1)) == []
    talk = speech(audio_cache, "Hello, hello, is anybody there? Hello?") * 3
    assert _detect("us", talk) == [] and _detect("cn", talk) == []
