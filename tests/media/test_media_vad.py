from __future__ import annotations

import audio_fixtures
import pytest
from audio_fixtures import frames, silence, speech, trim_silence

from callcore.media.vad import VoiceActivityDetector, WebRtcVad, frame_bytes

audio_cache = audio_fixtures.audio_cache


def test_frame_bytes():
    assert frame_bytes(8000, 20) == 320
    assert frame_bytes(48000, 10) == 960


@pytest.mark.parametrize("rate", [8000, 16000, 32000, 48000])
@pytest.mark.parametrize("ms", [10, 20, 30])
def test_accepts_every_valid_frame(rate, ms):
    vad = WebRtcVad(mode=3, rate=rate)
    assert vad.is_speech(bytes(frame_bytes(rate, ms))) is False


@pytest.mark.parametrize("size", [0, 318, 322, 640 + 2, 1000])
def test_wrong_frame_size_is_a_clear_value_error(size):
    vad = WebRtcVad(rate=8000)
    with pytest.raises(ValueError, match=rf"160 bytes \(10 ms\).*got {size} bytes"):
        vad.is_speech(bytes(size))


@pytest.mark.parametrize("mode", [-1, 4, 1.5, "2", True])
def test_bad_mode(mode):
    with pytest.raises(ValueError):
        WebRtcVad(mode=mode)


def test_bad_rate():
    with pytest.raises(ValueError, match="rate"):
        WebRtcVad(rate=11025)


def test_mode_switch():
    vad = WebRtcVad(mode=0)
    vad.mode = 3
    assert vad.mode == 3


def test_is_a_voice_activity_detector():
    assert isinstance(WebRtcVad(), VoiceActivityDetector)


def test_speech_vs_silence(audio_cache):
    talk = trim_silence(speech(audio_cache, "hello, this is a test of the voice detector"))
    vad = WebRtcVad(mode=2)
    flags = [vad.is_speech(f) for f in frames(talk)]
    assert sum(flags) / len(flags) > 0.6
    fresh = WebRtcVad(mode=2)
    quiet = [fresh.is_speech(f) for f in frames(silence(1000))]
    assert not any(quiet)


def test_frame_rms_and_energy():
    import numpy as np

    from callcore.media.vad import frame_energy, frame_rms

    x = np.array([3, -4] * 80, dtype="<i2").tobytes()
    assert frame_energy(x) == 80 * 25
    assert abs(frame_rms(x) - np.sqrt(12.5)) < 1e-9
    assert frame_rms(b"") == 0.0
    full = np.full(160, -32768, dtype="<i2").tobytes()
    assert frame_energy(full) == 160 * 32768**2
