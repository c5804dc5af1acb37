"""Call-progress analysis: fax tones (CNG, CED) and answering-machine beeps.

Sans-IO: :meth:`CallProgressAnalyzer.feed` takes 20 ms frames of 16-bit mono
PCM and returns the events they complete.

Every frame loud enough to matter is checked for a single steady tone: the
current and previous frame (40 ms, Hann window) are transformed with
numpy's FFT, the strongest peak located to a few Hz by parabolic
interpolation, and the frame is *tonal* when at least ``purity`` of the
energy lies within ±50 Hz of that peak (speech spreads its energy over many
harmonics and fails this). Consecutive tonal frames at the same frequency
form a tone run, classified when it ends (or, for CED, as soon as it is long
enough):

* **CNG** (calling fax): 1100 Hz ± ``cng_tol_hz``, a burst of
  ``cng_on_ms`` (0.5 s nominal, repeated every 3.5 s);
  ``cng_bursts`` bursts are required (1 = fastest; 2 = also checks the 3 s
  gap).
* **CED** (answering fax): 2100 Hz ± ``ced_tol_hz`` lasting
  ``ced_min_ms`` (2.6–4 s nominal), reported while still sounding.
* **Beep**: any other steady tone in ``beep_band_hz`` lasting
  ``beep_min_ms``–``beep_max_ms``, reported when it ends (the moment to start
  talking to a voicemail). ``after_speech`` tells whether speech (a greeting)
  was heard before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from callcore.media.vad import frame_energy

__all__ = ["Beep", "CallProgressAnalyzer", "CpaConfig", "CpaEvent", "FaxTone"]


@dataclass(frozen=True, slots=True)
class FaxTone:
    """A fax tone: ``kind`` CNG (calling) or CED (answering)."""

    kind: Literal["CNG", "CED"]
    freq_hz: float
    start_ms: int
    detected_at_ms: int
    bursts: int = 1


@dataclass(frozen=True, slots=True)
class Beep:
    """A steady single tone of beep length that has just ended."""

    freq_hz: float
    start_ms: int
    end_ms: int
    after_speech: bool

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


CpaEvent = FaxTone | Beep


@dataclass(frozen=True, slots=True)
class CpaConfig:
    detect: frozenset[str] = frozenset({"CNG", "CED", "BEEP"})
    cng_hz: float = 1100.0
    cng_tol_hz: float = 38.0
    cng_on_ms: tuple[int, int] = (350, 800)
    cng_gap_ms: tuple[int, int] = (2500, 4000)
    cng_bursts: int = 1
    ced_hz: float = 2100.0
    ced_tol_hz: float = 30.0
    ced_min_ms: int = 2500
    beep_band_hz: tuple[float, float] = (300.0, 2300.0)
    beep_min_ms: int = 120
    beep_max_ms: int = 2500
    #: frames under this RMS (16-bit units, ≈ −50 dBFS) are never tonal
    min_rms: float = 100.0
    #: fraction of the window's energy within ±50 Hz of the peak
    purity: float = 0.85
    #: a tone run continues while the frequency stays within this of its mean
    stability_hz: float = 25.0
    #: non-tonal frames at or above this RMS count as speech
    speech_rms: float = 256.0
    speech_min_ms: int = 200


class CallProgressAnalyzer:
    """Fax tone and beep detector over 20 ms frames (see module doc)."""

    def __init__(self, config: CpaConfig | None = None, rate: int = 8000, frame_ms: int = 20):
        self.cfg = config or CpaConfig()
        self.rate = rate
        self.frame_ms = frame_ms
        n = rate * frame_ms // 1000
        self._n = n
        self._win = np.hanning(2 * n)
        self._nfft = 1 << math.ceil(math.log2(2 * n))  # 512 at 8 kHz: 15.6 Hz bins
        self._bin_hz = rate / self._nfft
        self._band = max(1, round(50.0 / self._bin_hz))
        self._prev = np.zeros(n)
        self._now = 0
        self._speech_ms = 0
        # current tone run
        self._run_start = -1
        self._run_frames = 0
        self._run_sum = 0.0
        self._run_ced = False
        self._run_speech_before = False
        # CNG burst bookkeeping
        self._cng_count = 0
        self._cng_last_end = -(10**9)
        self._cng_first_start = 0

    @property
    def now_ms(self) -> int:
        return self._now

    def _tone(self, x: np.ndarray) -> float | None:
        """Peak frequency if the 40 ms window ending with ``x`` is a pure tone."""
        w = np.concatenate((self._prev, x))
        w = (w - w.mean()) * self._win
        spec = np.fft.rfft(w, self._nfft)
        p = spec.real**2 + spec.imag**2
        total = p.sum()
        if total <= 0.0:
            return None
        k = int(np.argmax(p[1:-1])) + 1
        lo, hi = max(0, k - self._band), k + self._band + 1
        if p[lo:hi].sum() < self.cfg.purity * total:
            return None
        a, b, c = (math.log(max(v, 1e-30)) for v in p[k - 1 : k + 2])
        den = a - 2 * b + c
        delta = 0.5 * (a - c) / den if den != 0 else 0.0
        return (k + delta) * self._bin_hz

    def feed(self, frame: bytes) -> list[CpaEvent]:
        """Analyse one frame; returns the events it completes (usually none)."""
        if len(frame) != 2 * self._n:
            raise ValueError(f"expected {2 * self._n} bytes ({self.frame_ms} ms), got {len(frame)}")
        cfg = self.cfg
        start = self._now
        self._now += self.frame_ms
        level = math.sqrt(frame_energy(frame) / self._n)
        x = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        f = self._tone(x) if level >= cfg.min_rms else None
        self._prev = x
        events: list[CpaEvent] = []
        if f is not None and self._run_frames:
            mean = self._run_sum / self._run_frames
            if abs(f - mean) > cfg.stability_hz:
                self._end_run(start, events)
        if f is None:
            if self._run_frames:
                self._end_run(start, events)
            if level >= cfg.speech_rms:
                self._speech_ms += self.frame_ms
            return events
        if not self._run_frames:
            self._run_start = start
            self._run_ced = False
            self._run_speech_before = self._speech_ms >= cfg.speech_min_ms
        self._run_frames += 1
        self._run_sum += f
        mean = self._run_sum / self._run_frames
        dur = self._run_frames * self.frame_ms
        if (
            "CED" in cfg.detect
            and not self._run_ced
            and abs(mean - cfg.ced_hz) <= cfg.ced_tol_hz
            and dur >= cfg.ced_min_ms
        ):
            self._run_ced = True
            events.append(FaxTone("CED", round(mean, 1), self._run_start, self._now))
        return events

    def _end_run(self, end: int, events: list[CpaEvent]) -> None:
        cfg = self.cfg
        freq = self._run_sum / self._run_frames
        dur = self._run_frames * self.frame_ms
        start = self._run_start
        ced = self._run_ced
        self._run_frames = 0
        self._run_sum = 0.0
        if ced:
            return
        lo, hi = cfg.cng_on_ms
        if "CNG" in cfg.detect and abs(freq - cfg.cng_hz) <= cfg.cng_tol_hz and lo <= dur <= hi:
            gap = start - self._cng_last_end
            glo, ghi = cfg.cng_gap_ms
            if self._cng_count and glo <= gap <= ghi:
                self._cng_count += 1
            else:
                self._cng_count = 1
                self._cng_first_start = start
            self._cng_last_end = end
            if self._cng_count == cfg.cng_bursts:
                events.append(
                    FaxTone("CNG", round(freq, 1), self._cng_first_start, end, self._cng_count)
                )
            return
        blo, bhi = cfg.beep_band_hz
        if (
            "BEEP" in cfg.detect
            and blo <= freq <= bhi
            and cfg.beep_min_ms <= dur <= cfg.beep_max_ms
        ):
            events.append(Beep(round(freq, 1), start, end, self._run_speech_before))
