"""Per-channel cost of media analysis per 20 ms frame, against raw webrtcvad.

Run: .venv/bin/pytest benchmarks/bench_media_analysis.py --benchmark-enable --benchmark-only

Every test processes the same 50 frames (1 s of one channel, 8 kHz, speech-
level audio with a few silent gaps); divide the mean by 50 for the cost per
frame, and 20 ms by that for channels per core.

* media-vad: baseline ``webrtcvad.Vad.is_speech`` called directly; our
  ``WebRtcVad`` wrapper (adds frame-size checking); the level check AMD uses by
  default (``frame_rms(frame) >= 256``: the fast path's ``energy`` plus a square
  root); the energy VAD ``callcore.media.energy.EnergyVad`` (``is_speech``: one
  ``energy`` call against a squared threshold, compiled and pure twin; ``feed``:
  the streaming form with attack and hangover, compiled).
* media-amd: ``AnsweringMachineDetector`` with the level detector and with
  webrtcvad, and ``CallProgressAnalyzer`` (FFT tone check on every loud
  frame), each against the same raw-webrtcvad baseline.
"""

from __future__ import annotations

import numpy as np
import pytest
import webrtcvad

from callcore import _fastpath_py
from callcore.fastpath import load
from callcore.media.amd import AmdConfig, AnsweringMachineDetector
from callcore.media.cpa import CallProgressAnalyzer
from callcore.media.energy import EnergyVad
from callcore.media.vad import WebRtcVad, frame_rms

try:
    FAST = load(pure=False)
except ImportError:  # pragma: no cover
    FAST = None

needs_ext = pytest.mark.skipif(FAST is None, reason="compiled fast path not built")

RATE = 8000
N = 50


def _frames() -> list[bytes]:
    rng = np.random.default_rng(1)
    t = np.arange(N * 160) / RATE
    # vowel-like: 120 Hz pulse train harmonics with a slow envelope, plus noise
    x = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 20)) * 3000
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)
    x += rng.normal(0, 300, len(t))
    x[20 * 160 : 24 * 160] = rng.normal(0, 20, 4 * 160)  # a pause
    pcm = np.clip(x, -32768, 32767).astype("<i2").tobytes()
    return [pcm[i * 320 : (i + 1) * 320] for i in range(N)]


FRAMES = _frames()
# limits that never decide, so every frame takes the full path
NEVER = AmdConfig(
    initial_silence_ms=10**9,
    greeting_ms=10**9,
    after_greeting_silence_ms=10**9,
    total_analysis_ms=10**9,
    max_words=10**9,
    max_word_length_ms=10**9,
)


def _raw_webrtcvad():
    vad = webrtcvad.Vad(2)

    def run():
        for f in FRAMES:
            vad.is_speech(f, RATE)

    return run


@pytest.mark.benchmark(group="media-vad")
def test_baseline_webrtcvad_raw(benchmark):
    benchmark(_raw_webrtcvad())


@pytest.mark.benchmark(group="media-vad")
def test_vad_webrtcvad_wrapper(benchmark):
    vad = WebRtcVad(mode=2)

    def run():
        for f in FRAMES:
            vad.is_speech(f)

    benchmark(run)


@pytest.mark.benchmark(group="media-vad")
def test_vad_level_threshold(benchmark):
    def run():
        for f in FRAMES:
            frame_rms(f) >= 256  # noqa: B015

    benchmark(run)


@needs_ext
@pytest.mark.benchmark(group="media-vad")
def test_vad_energy_is_speech_compiled(benchmark):
    vad = EnergyVad(threshold=256, fastpath=FAST)

    def run():
        for f in FRAMES:
            vad.is_speech(f)

    benchmark(run)
    assert [vad.is_speech(f) for f in FRAMES] == [frame_rms(f) > 256 for f in FRAMES]


@pytest.mark.benchmark(group="media-vad")
def test_vad_energy_is_speech_pure(benchmark):
    vad = EnergyVad(threshold=256, fastpath=_fastpath_py)

    def run():
        for f in FRAMES:
            vad.is_speech(f)

    benchmark(run)


@needs_ext
@pytest.mark.benchmark(group="media-vad")
def test_vad_energy_feed_compiled(benchmark):
    """The streaming form (attack 2 frames, 200 ms hangover), one frame per call."""
    vad = EnergyVad(threshold=256, fastpath=FAST)

    def run():
        for f in FRAMES:
            vad.feed(f)

    benchmark(run)


@pytest.mark.benchmark(group="media-amd")
def test_baseline_webrtcvad_raw_amd_group(benchmark):
    benchmark(_raw_webrtcvad())


@pytest.mark.benchmark(group="media-amd")
def test_amd_level(benchmark):
    det = AnsweringMachineDetector(NEVER)

    def run():
        for f in FRAMES:
            det.feed(f)

    benchmark(run)
    assert det.result is None


@pytest.mark.benchmark(group="media-amd")
def test_amd_webrtcvad(benchmark):
    det = AnsweringMachineDetector(NEVER, vad=WebRtcVad(mode=2))

    def run():
        for f in FRAMES:
            det.feed(f)

    benchmark(run)
    assert det.result is None


@pytest.mark.benchmark(group="media-amd")
def test_cpa_tones(benchmark):
    cpa = CallProgressAnalyzer()

    def run():
        for f in FRAMES:
            cpa.feed(f)

    benchmark(run)
