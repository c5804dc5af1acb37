from __future__ import annotations

from collections import Counter

import audio_fixtures
import numpy as np
import pytest
from audio_fixtures import frames, mix, noise, silence, sox_synth, speech, trim_silence

from callcore.media.amd import AmdConfig, AmdStatus, AnsweringMachineDetector
from callcore.media.vad import WebRtcVad

audio_cache = audio_fixtures.audio_cache


def _voice(ms: int, seed: int = 0) -> bytes:
    return noise(ms, 3000, seed)


def _decide(pcm: bytes, det: AnsweringMachineDetector | None = None):
    det = det or AnsweringMachineDetector()
    for f in frames(pcm):
        r = det.feed(f)
        if r is not None:
            return r
    return None


# -- decision rules on synthetic frames (exact app_amd causes) -----------------


def test_initial_silence():
    r = _decide(silence(4000))
    assert (r.status, r.cause, r.decided_at_ms) == (
        AmdStatus.MACHINE,
        "INITIALSILENCE-2500-2500",
        2500,
    )


def test_human_short_greeting_then_silence():
    r = _decide(silence(600) + _voice(400) + silence(2000))
    assert (r.status, r.cause, r.decided_at_ms) == (AmdStatus.HUMAN, "HUMAN-800-800", 1800)
    assert r.words == 1 and r.voice_ms == 400


def test_long_greeting():
    r = _decide(silence(200) + _voice(3000))
    assert (r.status, r.cause, r.decided_at_ms) == (
        AmdStatus.MACHINE,
        "LONGGREETING-1500-1500",
        1700,
    )


def test_max_words():
    words = (_voice(200, 1) + silence(100)) * 4
    r = _decide(silence(100) + words)
    # third word reaches 100 ms of voice at 100 + 2 * 300 + 100
    assert (r.status, r.cause, r.decided_at_ms) == (AmdStatus.MACHINE, "MAXWORDS-3-3", 800)


def test_short_gaps_do_not_split_words():
    words = (_voice(200, 1) + silence(40)) * 4  # gaps under between_words_silence
    r = _decide(silence(100) + words + silence(1000))
    assert r.status is AmdStatus.HUMAN and r.words == 1


def test_max_word_length():
    cfg = AmdConfig(greeting_ms=10_000, max_word_length_ms=1200, total_analysis_ms=9000)
    r = _decide(silence(100) + _voice(2000), AnsweringMachineDetector(cfg))
    assert (r.status, r.cause) == (AmdStatus.MACHINE, "MAXWORDLENGTH-1200")


def test_too_long():
    cfg = AmdConfig(initial_silence_ms=9000, total_analysis_ms=3000)
    r = _decide(silence(5000), AnsweringMachineDetector(cfg))
    assert (r.status, r.cause, r.decided_at_ms) == (AmdStatus.NOTSURE, "TOOLONG-3000", 3000)


def test_threshold_and_one_verdict_only():
    quiet = noise(3000, 150, seed=5)  # under the 256 threshold: silence
    det = AnsweringMachineDetector()
    r = _decide(quiet, det)
    assert r.cause == "INITIALSILENCE-2500-2500"
    assert det.feed(_voice(20)) is None and det.result is r
    det = AnsweringMachineDetector(AmdConfig(silence_threshold=100))
    assert _decide(quiet, det).status is AmdStatus.MACHINE
    assert det.result.cause.startswith(("LONGGREETING", "MAXWORD"))


def test_hangup():
    det = AnsweringMachineDetector()
    det.feed(silence(20))
    assert det.hangup().status is AmdStatus.HANGUP


def test_defaults_match_app_amd():
    c = AmdConfig()
    assert (
        c.initial_silence_ms, c.greeting_ms, c.after_greeting_silence_ms, c.total_analysis_ms,
        c.min_word_ms, c.between_words_silence_ms, c.max_words, c.silence_threshold,
        c.max_word_length_ms,
    ) == (2500, 1500, 800, 5000, 100, 50, 3, 256, 5000)  # fmt: skip
    with pytest.raises(ValueError):
        AmdConfig(max_words=0)
    with pytest.raises(ValueError):
        AmdConfig(greeting_ms=-1)


# -- labelled synthesized set -------------------------------------------------

HUMAN_TEXTS = [
    "Hello?", "Hello.", "Yes?", "Yes, speaking.", "Hi.", "Hello, yes?", "Speaking.",
    "Yeah?", "Hello, hello?", "Good morning.", "Hi there.", "Hey.",
]  # fmt: skip
MACHINE_TEXTS = [
    "Hi, you have reached the voicemail of John Smith. I am not available right now, "
    "please leave a message after the tone.",
    "Hello, this is Maria. Sorry I missed your call. Leave your name and number and I will "
    "call you back.",
    "The person you are calling is not available. Please leave a message after the beep.",
    "Thank you for calling Acme Bank. Our offices are closed. Please call again during "
    "business hours, Monday to Friday, nine to five.",
    "You have reached five five five, one two three four. Please leave a message.",
    "Hey, it's Tom. I can't get to the phone right now. You know what to do.",
]
# realistic hard cases: chatty humans, terse machines (app_amd is known to miss these)
HUMAN_HARD = ["Hello, who is calling please?", "Yes, this is David, who is this?"]
MACHINE_HARD = ["Leave a message.", "Not here. Beep."]
VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-scotland", "en-029", "en-us+m3", "en-gb-x-rp+f2"]


def _clip(
    cache, rng: np.random.Generator, text: str, lead_ms: float, beep: bool, noise_rms: float = 0
) -> bytes:
    voice = VOICES[int(rng.integers(len(VOICES)))]
    talk = trim_silence(
        speech(
            cache,
            text,
            voice=voice,
            speed=int(rng.integers(130, 200)),
            pitch=int(rng.integers(30, 70)),
            gain_db=float(np.round(rng.uniform(-14, 0), 1)),
        )
    )
    pcm = silence(lead_ms) + talk
    if beep:
        pcm += silence(300) + sox_synth(cache, 0.4, "sine", "1000", effects=("vol", "0.3"))
    pcm += silence(5500)
    level = noise_rms or float(rng.uniform(5, 60))
    line_noise = noise(len(pcm) * 500 // 8000, level, int(rng.integers(1 << 30)))
    return mix(pcm, line_noise)


def _labelled_set(cache):
    rng = np.random.default_rng(20240611)
    clips = []
    for i in range(24):
        text = HUMAN_TEXTS[i % len(HUMAN_TEXTS)]
        clips.append(("human", text, _clip(cache, rng, text, rng.uniform(200, 1500), False)))
    for i in range(18):
        text = MACHINE_TEXTS[i % len(MACHINE_TEXTS)]
        lead = rng.uniform(200, 1000)
        clips.append(("machine", text, _clip(cache, rng, text, lead, bool(i % 2))))
    for i in range(4):  # machines that answer with a long initial silence
        text = MACHINE_TEXTS[i]
        clips.append(("machine", text, _clip(cache, rng, text, rng.uniform(2700, 3500), False)))
    for i in range(4):
        text = HUMAN_HARD[i % 2]
        clips.append(("human", text, _clip(cache, rng, text, rng.uniform(200, 1000), False)))
    for i in range(4):
        text = MACHINE_HARD[i % 2]
        clips.append(("machine", text, _clip(cache, rng, text, rng.uniform(200, 1000), i >= 2)))
    for i in range(4):  # noisy lines (noise RMS near the 256 threshold)
        label, text = ("human", HUMAN_TEXTS[i]) if i % 2 else ("machine", MACHINE_TEXTS[i])
        clips.append((label, text, _clip(cache, rng, text, 500, False, noise_rms=180)))
    return clips


@pytest.mark.slow
@pytest.mark.parametrize("detector", ["level", "webrtcvad"])
def test_labelled_set_accuracy(audio_cache, detector, capsys):
    clips = _labelled_set(audio_cache)
    assert len(clips) >= 40
    verdicts = Counter()
    wrong = []
    times = []
    for label, text, pcm in clips:
        vad = WebRtcVad(mode=2) if detector == "webrtcvad" else None
        r = _decide(pcm, AnsweringMachineDetector(vad=vad))
        assert r is not None  # every clip outlasts total_analysis_ms
        got = {AmdStatus.HUMAN: "human", AmdStatus.MACHINE: "machine"}.get(r.status, "notsure")
        verdicts[(label, got)] += 1
        times.append(r.decided_at_ms)
        if got != label:
            wrong.append((label, r.cause, text))
    n_h = sum(v for (lab, _), v in verdicts.items() if lab == "human")
    n_m = sum(v for (lab, _), v in verdicts.items() if lab == "machine")
    acc_h = verdicts[("human", "human")] / n_h
    acc_m = verdicts[("machine", "machine")] / n_m
    overall = (verdicts[("human", "human")] + verdicts[("machine", "machine")]) / len(clips)
    notsure = sum(v for (_, got), v in verdicts.items() if got == "notsure") / len(clips)
    with capsys.disabled():
        print(
            f"\nAMD[{detector}] {len(clips)} clips: overall {overall:.1%}, human {acc_h:.1%} "
            f"({n_h}), machine {acc_m:.1%} ({n_m}), notsure {notsure:.1%}, "
            f"median decision {int(np.median(times))} ms"
        )
        for w in wrong:
            print("   miss:", w)
    assert overall >= 0.80
    assert acc_h >= 0.75 and acc_m >= 0.75
