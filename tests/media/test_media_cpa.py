from __future__ import annotations

import audio_fixtures
import pytest
from audio_fixtures import frames, noise, silence, sox_synth, speech, trim_silence

from callcore.media.cpa import Beep, CallProgressAnalyzer, CpaConfig, FaxTone

audio_cache = audio_fixtures.audio_cache


def _run(pcm: bytes, cfg: CpaConfig | None = None) -> list:
    cpa = CallProgressAnalyzer(cfg)
    out = []
    for f in frames(pcm):
        out += cpa.feed(f)
    return out


def _tone(cache, seconds, freq, vol="0.3"):
    return sox_synth(cache, seconds, "sine", str(freq), effects=("vol", vol))


def _greeting(cache):
    return trim_silence(
        speech(cache, "Hi, you have reached Anna. Please leave a message after the tone.")
    )


def test_cng_calling_fax(audio_cache):
    cng = (_tone(audio_cache, 0.5, 1100) + silence(3000)) * 2
    ev = _run(silence(300) + cng)
    assert len(ev) == 1 and isinstance(ev[0], FaxTone) and ev[0].kind == "CNG"
    assert abs(ev[0].freq_hz - 1100) < 5 and abs(ev[0].start_ms - 300) <= 20
    two = _run(silence(300) + cng, CpaConfig(cng_bursts=2))
    assert [(e.kind, e.bursts) for e in two] == [("CNG", 2)]
    assert abs(two[0].detected_at_ms - (300 + 3500 + 500)) <= 40


def test_cng_with_noise_and_quieter(audio_cache):
    cng = (_tone(audio_cache, 0.5, 1100, vol="0.05") + silence(3000)) * 2
    ev = _run(audio_fixtures.mix(cng, noise(7000, 40, seed=3)))
    assert [e.kind for e in ev if isinstance(e, FaxTone)] == ["CNG"]


def test_ced_answering_fax(audio_cache):
    ev = _run(silence(500) + _tone(audio_cache, 3.3, 2100) + silence(500))
    assert len(ev) == 1 and ev[0].kind == "CED"
    assert abs(ev[0].freq_hz - 2100) < 5
    assert ev[0].detected_at_ms - ev[0].start_ms >= 2500  # reported while sounding
    assert ev[0].detected_at_ms < 500 + 3300


@pytest.mark.parametrize(
    "freq,ms", [(1000, 300), (440, 150), (1400, 1000), (2100, 500), (850, 600)]
)
def test_beep_after_greeting(audio_cache, freq, ms):
    pcm = silence(300) + _greeting(audio_cache) + silence(300)
    at = len(pcm) // 16
    pcm += _tone(audio_cache, ms / 1000, freq) + silence(1000)
    ev = _run(pcm)
    beeps = [e for e in ev if isinstance(e, Beep)]
    assert len(ev) == len(beeps) == 1
    b = beeps[0]
    assert abs(b.freq_hz - freq) < 10
    assert abs(b.start_ms - at) <= 40 and abs(b.duration_ms - ms) <= 40
    assert b.after_speech


def test_beep_without_speech_is_flagged(audio_cache):
    (b,) = _run(silence(500) + _tone(audio_cache, 0.4, 1000) + silence(500))
    assert isinstance(b, Beep) and not b.after_speech


def test_too_short_or_too_long_is_no_beep(audio_cache):
    assert _run(silence(300) + _tone(audio_cache, 0.08, 1000) + silence(300)) == []
    assert _run(silence(300) + _tone(audio_cache, 4.0, 700) + silence(300)) == []


def test_long_1100_hz_is_not_cng(audio_cache):
    ev = _run(silence(300) + _tone(audio_cache, 1.5, 1100) + silence(300))
    assert [type(e) for e in ev] == [Beep]


def test_detect_subset(audio_cache):
    cng = _tone(audio_cache, 0.5, 1100) + silence(1000)
    assert [type(e) for e in _run(cng, CpaConfig(detect=frozenset({"BEEP"})))] == [Beep]
    assert _run(cng, CpaConfig(detect=frozenset({"CED"}))) == []


@pytest.mark.parametrize(
    "text,voice",
    [
        ("Hello? Hello, who is this?", "en-us"),
        ("Yes, speaking. How can I help you today?", "en-gb"),
        ("Hi, you have reached the voicemail of John Smith. Please leave a message.", "en-us+f3"),
        ("Mmmmm. Ooooh. Aaaaah. Eeeee.", "en-us"),
    ],
)
def test_speech_is_not_a_tone(audio_cache, text, voice):
    pcm = silence(300) + speech(audio_cache, text, voice=voice) + silence(300)
    assert _run(pcm) == []


def test_silence_and_noise_are_not_tones():
    assert _run(silence(3000)) == []
    assert _run(noise(3000, 2000, seed=1)) == []


def test_wrong_frame_size():
    with pytest.raises(ValueError):
        CallProgressAnalyzer().feed(bytes(100))
