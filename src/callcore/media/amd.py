"""Answering-machine detection after Asterisk's ``app_amd`` (sans-IO).

Feed the called party's audio frame by frame from the moment of answer; a
single :class:`AmdResult` comes back once the detector has decided. The
parameters, defaults, decision rules and cause strings are those of
``app_amd``:

* frames whose level is below ``silence_threshold`` (or that the injected
  VAD calls non-speech) are silence; the rest are voice;
* voice in a run of at least ``min_word_ms`` after at least
  ``between_words_silence_ms`` of silence is a new word;
* MACHINE when the initial silence reaches ``initial_silence_ms``
  (``INITIALSILENCE-<silence>-<limit>``), when total voice in the greeting
  reaches ``greeting_ms`` (``LONGGREETING-<voice>-<limit>``), when the word
  count reaches ``max_words`` (``MAXWORDS-<words>-<limit>``) or one word
  lasts ``max_word_length_ms`` (``MAXWORDLENGTH-<ms>``);
* HUMAN when, after the greeting started, silence reaches
  ``after_greeting_silence_ms`` (``HUMAN-<silence>-<limit>``);
* NOTSURE when ``total_analysis_ms`` pass without a decision
  (``TOOLONG-<ms>``).

Difference from ``app_amd``: the level is the frame's RMS (from the fast
path's ``energy``) where Asterisk uses the mean absolute sample; for speech
and noise RMS is 1.1–1.4 × the mean absolute value, so the same threshold
calls slightly more quiet frames voice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callcore.media.vad import VoiceActivityDetector, frame_rms

__all__ = ["AmdConfig", "AmdResult", "AmdStatus", "AnsweringMachineDetector"]


class AmdStatus(StrEnum):
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"
    HANGUP = "HANGUP"


@dataclass(frozen=True, slots=True)
class AmdConfig:
    """``app_amd`` parameters; all durations in ms, the threshold in 16-bit units."""

    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_ms: int = 5000
    min_word_ms: int = 100
    between_words_silence_ms: int = 50
    max_words: int = 3
    silence_threshold: int = 256
    max_word_length_ms: int = 5000

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.max_words < 1:
            raise ValueError("max_words must be >= 1")


@dataclass(frozen=True, slots=True)
class AmdResult:
    """The verdict: status, ``app_amd``-style cause, and when it was reached."""

    status: AmdStatus
    cause: str
    decided_at_ms: int
    words: int
    voice_ms: int


class AnsweringMachineDetector:
    """Sans-IO AMD: ``feed(frame)`` until it returns an :class:`AmdResult`.

    ``vad`` replaces the level threshold with any
    :class:`~callcore.media.vad.VoiceActivityDetector` (e.g. ``WebRtcVad``),
    which is more robust on noisy lines.
    """

    __slots__ = (
        "_cfg",
        "_consecutive_voice",
        "_in_greeting",
        "_in_initial_silence",
        "_in_word",
        "_rate",
        "_result",
        "_silence",
        "_total",
        "_vad",
        "_voice",
        "_words",
    )

    def __init__(
        self,
        config: AmdConfig | None = None,
        rate: int = 8000,
        vad: VoiceActivityDetector | None = None,
    ) -> None:
        self._cfg = config or AmdConfig()
        self._rate = rate
        self._vad = vad
        self._result: AmdResult | None = None
        self._total = 0
        self._silence = 0
        self._voice = 0
        self._consecutive_voice = 0
        self._words = 0
        self._in_word = False  # app_amd starts in STATE_IN_SILENCE
        self._in_initial_silence = True
        self._in_greeting = False

    @property
    def config(self) -> AmdConfig:
        return self._cfg

    @property
    def result(self) -> AmdResult | None:
        return self._result

    @property
    def elapsed_ms(self) -> int:
        return self._total

    def _decide(self, status: AmdStatus, cause: str) -> AmdResult:
        self._result = AmdResult(status, cause, self._total, self._words, self._voice)
        return self._result

    def hangup(self) -> AmdResult:
        """The far end hung up before a verdict."""
        if self._result is None:
            return self._decide(AmdStatus.HANGUP, "HANGUP")
        return self._result

    def is_silence(self, frame: bytes) -> bool:
        if self._vad is not None:
            return not self._vad.is_speech(frame)
        return frame_rms(frame) < self._cfg.silence_threshold

    def feed(self, frame: bytes) -> AmdResult | None:
        """Analyse one frame (any whole number of ms; 20 ms is usual).

        Returns the verdict once, on the frame that decides it; ``None``
        before and after.
        """
        if self._result is not None:
            return None
        c = self._cfg
        ms = (len(frame) // 2) * 1000 // self._rate
        self._total += ms
        if self._total >= c.total_analysis_ms:
            return self._decide(AmdStatus.NOTSURE, f"TOOLONG-{self._total}")
        if self.is_silence(frame):
            self._silence += ms
            if self._silence >= c.between_words_silence_ms:
                self._in_word = False
                self._consecutive_voice = 0
            if self._in_initial_silence and self._silence >= c.initial_silence_ms:
                return self._decide(
                    AmdStatus.MACHINE, f"INITIALSILENCE-{self._silence}-{c.initial_silence_ms}"
                )
            if self._in_greeting and self._silence >= c.after_greeting_silence_ms:
                return self._decide(
                    AmdStatus.HUMAN, f"HUMAN-{self._silence}-{c.after_greeting_silence_ms}"
                )
            return None
        self._silence = 0
        self._consecutive_voice += ms
        self._voice += ms
        if self._consecutive_voice >= c.min_word_ms and not self._in_word:
            self._words += 1
            self._in_word = True
        if self._consecutive_voice >= c.max_word_length_ms:
            return self._decide(AmdStatus.MACHINE, f"MAXWORDLENGTH-{self._consecutive_voice}")
        if self._words >= c.max_words:
            return self._decide(AmdStatus.MACHINE, f"MAXWORDS-{self._words}-{c.max_words}")
        if self._in_greeting and self._voice >= c.greeting_ms:
            return self._decide(AmdStatus.MACHINE, f"LONGGREETING-{self._voice}-{c.greeting_ms}")
        if self._consecutive_voice >= c.min_word_ms and not self._in_greeting:
            self._in_initial_silence = False
            self._in_greeting = True
        return None
