"""Voice activity detection: a common protocol and a webrtcvad wrapper.

Every detector in callcore answers one question per frame —
``is_speech(frame: bytes) -> bool`` — over 16-bit signed little-endian mono
PCM. The energy detector (:mod:`callcore.media.energy`) and :class:`WebRtcVad`
both satisfy :class:`VoiceActivityDetector`, so AMD, barge-in and recording
triggers take either.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np
import webrtcvad

from callcore.fastpath import impl as _fp

__all__ = [
    "VALID_FRAME_MS",
    "VALID_RATES",
    "VoiceActivityDetector",
    "WebRtcVad",
    "frame_bytes",
    "frame_energy",
    "frame_rms",
]

#: Sample rates webrtcvad accepts.
VALID_RATES: tuple[int, ...] = (8000, 16000, 32000, 48000)
#: Frame durations webrtcvad accepts, in milliseconds.
VALID_FRAME_MS: tuple[int, ...] = (10, 20, 30)


@runtime_checkable
class VoiceActivityDetector(Protocol):
    """Anything that classifies one PCM frame as speech or not."""

    def is_speech(self, frame: bytes) -> bool:
        """True when ``frame`` (16-bit LE mono PCM) carries speech."""
        ...


def frame_bytes(rate: int, ms: int) -> int:
    """Size in bytes of a 16-bit mono frame of ``ms`` milliseconds at ``rate`` Hz."""
    return rate * ms // 1000 * 2


class WebRtcVad:
    """:class:`VoiceActivityDetector` over Google's WebRTC VAD.

    ``mode`` 0 (least aggressive, most frames called speech) to 3 (most
    aggressive). Frames must be exactly 10, 20 or 30 ms at ``rate``; any other
    length raises :class:`ValueError` naming the accepted sizes (webrtcvad
    itself only says "Error while processing frame").
    """

    __slots__ = ("_mode", "_rate", "_sizes", "_vad")

    def __init__(self, mode: int = 2, rate: int = 8000) -> None:
        if rate not in VALID_RATES:
            raise ValueError(f"webrtcvad rate must be one of {VALID_RATES} Hz, got {rate}")
        self._vad = webrtcvad.Vad()
        self._rate = rate
        self._sizes = {frame_bytes(rate, ms): ms for ms in VALID_FRAME_MS}
        self._mode = 0
        self.mode = mode

    @property
    def rate(self) -> int:
        return self._rate

    @property
    def mode(self) -> int:
        return self._mode

    @mode.setter
    def mode(self, mode: int) -> None:
        if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 3:
            raise ValueError(f"webrtcvad mode must be an int 0..3, got {mode!r}")
        self._vad.set_mode(mode)
        self._mode = mode

    @property
    def frame_sizes(self) -> dict[int, int]:
        """Accepted frame sizes in bytes mapped to their duration in ms."""
        return dict(self._sizes)

    def is_speech(self, frame: bytes) -> bool:
        if len(frame) not in self._sizes:
            sizes = ", ".join(f"{b} bytes ({ms} ms)" for b, ms in self._sizes.items())
            raise ValueError(
                f"webrtcvad frame at {self._rate} Hz must be one of {sizes}; got {len(frame)} bytes"
            )
        return self._vad.is_speech(frame, self._rate)


def _energy_np(pcm: bytes) -> float:
    # float64 is exact here: 16-bit squares summed over < 2**22 samples stay under 2**53
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.dot(x, x))


#: Sum of squares of a 16-bit PCM frame: the fast path's ``energy`` when it is
#: built into this checkout, else a numpy equivalent with the same result.
frame_energy = getattr(_fp, "energy", None) or _energy_np


def frame_rms(pcm: bytes) -> float:
    """Root-mean-square level of 16-bit LE PCM (0.0 for an empty frame)."""
    n = len(pcm) // 2
    return math.sqrt(frame_energy(pcm) / n) if n else 0.0
