"""Energy VAD, energy/peak kernels, on both twins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from callcore.media.dtmf import tone
from callcore.media.energy import EnergyDetector, EnergyVad, SpeechEnd, SpeechStart, rms_dbfs
from callcore.media.vad import VoiceActivityDetector

N = 160


def pcm(x) -> bytes:
    return np.asarray(x, dtype="<i2").tobytes()


def test_energy_and_peak_kernels(fastpath):
    x = np.array([3, -4, 0, 32767, -32768], dtype=np.int64)
    assert fastpath.energy(pcm(x)) == float((x * x).sum())
    assert fastpath.peak(pcm(x)) == 32768
    assert fastpath.peak(pcm([5, -7, 6])) == 7
    assert fastpath.energy(b"") == 0.0 and fastpath.peak(b"") == 0
    rng = np.random.default_rng(3)
    y = rng.integers(-32768, 32768, 100_000)  # long buffer: the GIL-free path
    assert fastpath.energy(pcm(y)) == float((y * y).sum())
    assert fastpath.peak(pcm(y)) == int(np.abs(y).max())


def test_goertzel_kernel_matches_theory(fastpath):
    n, f = 400, 1000.0
    x = np.rint(10000 * np.sin(2 * np.pi * f * np.arange(n) / 8000))
    c = 2 * math.cos(2 * math.pi * f / 8000)
    off = 2 * math.cos(2 * math.pi * 2500 / 8000)
    on_bin, off_bin = fastpath.goertzel(pcm(x), (c, off))
    assert on_bin == pytest.approx((10000 * n / 2) ** 2, rel=0.01)
    assert off_bin < 1e-4 * on_bin
    assert fastpath.goertzel(pcm(x), ()) == ()


def test_satisfies_vad_protocol():
    assert isinstance(EnergyVad(), VoiceActivityDetector)
    assert EnergyDetector is EnergyVad


def test_is_speech_threshold(fastpath):
    vad = EnergyVad(threshold=300, fastpath=fastpath)
    assert not vad.is_speech(pcm([299] * N))
    assert vad.is_speech(pcm([301] * N))
    assert not vad.is_speech(b"")


def test_talk_spurt_with_hangover(fastpath):
    vad = EnergyVad(threshold=200, hangover_ms=100, attack=2, fastpath=fastpath)
    loud = tone([400.0], 200, -20)  # 10 frames
    gap = bytes(2 * 8 * 60)  # 60 ms: shorter than the hangover
    quiet = bytes(2 * 8 * 300)
    events = []
    stream = bytes(2 * 8 * 100) + loud + gap + loud + quiet
    for i in range(0, len(stream), 2 * 97):  # odd chunking on purpose
        events += vad.feed(stream[i : i + 2 * 97])
    assert [type(e) for e in events] == [SpeechStart, SpeechEnd]
    assert events[0].sample == 800
    assert events[1].sample == 800 + 1600 + 480 + 1600
    assert events[0].level > 200
    assert not vad.active


def test_single_click_is_not_speech(fastpath):
    vad = EnergyVad(threshold=200, attack=2, fastpath=fastpath)
    click = pcm([20000] * N)
    assert vad.feed(bytes(2 * N) + click + bytes(2 * N * 20)) == []


def test_reset_and_validation(fastpath):
    vad = EnergyVad(threshold=10, attack=1, fastpath=fastpath)
    assert isinstance(vad.feed(pcm([1000] * N))[0], SpeechStart)
    vad.reset()
    assert not vad.active
    with pytest.raises(ValueError):
        EnergyVad(attack=0)


def test_rms_dbfs():
    assert rms_dbfs(b"") == -math.inf
    assert rms_dbfs(bytes(320)) == -math.inf
    full = pcm([32767, -32767] * 80)
    assert rms_dbfs(full) == pytest.approx(0.0, abs=1e-9)
    assert rms_dbfs(tone([1000.0], 100, 3.14)) == pytest.approx(-3.01, abs=0.05)
