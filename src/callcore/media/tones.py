"""Tone sequences (ringback, busy, beeps) rendered to PCM frames, sans-IO.

A :class:`ToneSequence` is a list of :class:`ToneSegment` — frequencies, on
time, off time — played ``repeat`` times (``None`` = until stopped).
:class:`ToneGenerator` renders it frame by frame with exact cadence in
samples: a segment of ``on_ms`` at 8 kHz lasts exactly ``on_ms * 8`` samples,
wherever frame boundaries fall. Phase restarts at every burst, so each burst
starts at zero amplitude and the output is the same however it is framed.

National plans (:data:`TONE_PLANS`) follow ITU-T E.180 figures:
China ringback 450 Hz 1 s on / 4 s off, busy 450 Hz 0.35/0.35 s; North
America ringback 440+480 Hz 2 s / 4 s, busy 480+620 Hz 0.5/0.5 s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TONE_PLANS",
    "ToneGenerator",
    "TonePlan",
    "ToneSegment",
    "ToneSequence",
    "beep",
    "render",
    "silence",
]

#: Default level of each frequency component, dBFS (sine peak relative to 32767).
DEFAULT_LEVEL_DBFS = -16.0


@dataclass(frozen=True, slots=True)
class ToneSegment:
    """``freqs`` played together for ``on_ms``, then ``off_ms`` of silence."""

    freqs: tuple[float, ...]
    on_ms: int
    off_ms: int = 0
    level_dbfs: float = DEFAULT_LEVEL_DBFS

    def __post_init__(self) -> None:
        if self.on_ms < 0 or self.off_ms < 0:
            raise ValueError("on_ms and off_ms must be >= 0")
        if any(f <= 0 for f in self.freqs):
            raise ValueError("tone frequencies must be > 0 Hz")


@dataclass(frozen=True, slots=True)
class ToneSequence:
    """Segments played in order, the whole list ``repeat`` times (``None``: forever)."""

    segments: tuple[ToneSegment, ...]
    repeat: int | None = 1
    name: str = ""

    def __post_init__(self) -> None:
        if self.repeat is not None and self.repeat < 0:
            raise ValueError("repeat must be >= 0 or None")
        if self.repeat is None and self.cycle_ms() == 0:
            raise ValueError("an endless sequence needs a non-zero cycle")

    @classmethod
    def of(
        cls,
        parts: Sequence[tuple[Sequence[float], int, int]],
        repeat: int | None = 1,
        name: str = "",
        level_dbfs: float = DEFAULT_LEVEL_DBFS,
    ) -> ToneSequence:
        """Build from ``[(freqs, on_ms, off_ms), ...]``."""
        segs = tuple(ToneSegment(tuple(f), on, off, level_dbfs) for f, on, off in parts)
        return cls(segs, repeat, name)

    def cycle_ms(self) -> int:
        return sum(s.on_ms + s.off_ms for s in self.segments)

    def duration_ms(self) -> int | None:
        """Total length, ``None`` for an endless sequence."""
        return None if self.repeat is None else self.cycle_ms() * self.repeat


@dataclass(frozen=True, slots=True)
class TonePlan:
    """A country's call-progress tones."""

    country: str
    ringback: ToneSequence
    busy: ToneSequence
    congestion: ToneSequence
    dial: ToneSequence


def _endless(name: str, freqs: tuple[float, ...], on: int, off: int) -> ToneSequence:
    return ToneSequence((ToneSegment(freqs, on, off),), None, name)


TONE_PLANS: dict[str, TonePlan] = {
    "cn": TonePlan(
        "cn",
        ringback=_endless("ringback", (450.0,), 1000, 4000),
        busy=_endless("busy", (450.0,), 350, 350),
        congestion=_endless("congestion", (450.0,), 700, 700),
        dial=_endless("dial", (450.0,), 1000, 0),
    ),
    "us": TonePlan(
        "us",
        ringback=_endless("ringback", (440.0, 480.0), 2000, 4000),
        busy=_endless("busy", (480.0, 620.0), 500, 500),
        congestion=_endless("congestion", (480.0, 620.0), 250, 250),
        dial=_endless("dial", (350.0, 440.0), 1000, 0),
    ),
}


def beep(
    freq: float = 1000.0, ms: int = 250, level_dbfs: float = DEFAULT_LEVEL_DBFS
) -> ToneSequence:
    """A single beep (e.g. the 'record after the tone' beep)."""
    return ToneSequence((ToneSegment((freq,), ms, 0, level_dbfs),), 1, "beep")


def silence(ms: int) -> ToneSequence:
    """``ms`` of digital silence as a sequence (a segment with no frequencies)."""
    return ToneSequence((ToneSegment((), 0, ms),), 1, "silence")


class ToneGenerator:
    """Renders a :class:`ToneSequence` into fixed-size frames.

    ``next_frame()`` returns ``frame_samples`` samples of 16-bit LE PCM; after
    the sequence ends it pads with silence and :attr:`done` is true. Use
    :meth:`read` for exact sample counts (the player does, to play items back
    to back without gaps).
    """

    __slots__ = ("_cycle", "_frame", "_pos", "_rate", "_seg_bounds", "_seq", "_total")

    def __init__(self, sequence: ToneSequence, rate: int = 8000, frame_samples: int = 160) -> None:
        self._seq = sequence
        self._rate = rate
        self._frame = frame_samples
        bounds = []
        start = 0
        for seg in sequence.segments:
            on = seg.on_ms * rate // 1000
            off = seg.off_ms * rate // 1000
            bounds.append((start, on, off, seg))
            start += on + off
        self._seg_bounds = bounds
        self._cycle = start
        self._total = None if sequence.repeat is None else start * sequence.repeat
        self._pos = 0

    @property
    def sequence(self) -> ToneSequence:
        return self._seq

    @property
    def position(self) -> int:
        """Samples rendered so far (including padding after the end)."""
        return self._pos

    @property
    def total_samples(self) -> int | None:
        return self._total

    @property
    def done(self) -> bool:
        return self._total is not None and self._pos >= self._total

    def remaining(self) -> int | None:
        return None if self._total is None else max(0, self._total - self._pos)

    def next_frame(self) -> bytes:
        return self.read(self._frame)

    def read(self, n: int) -> bytes:
        """Exactly ``n`` samples; silence past the end of the sequence."""
        out = np.zeros(n, dtype=np.float64)
        start = self._pos
        self._pos += n
        if self._cycle == 0:
            return out.astype("<i2").tobytes()
        end = start + n if self._total is None else min(start + n, self._total)
        pos = start
        while pos < end:
            cyc_off = pos % self._cycle
            for bound in self._seg_bounds:
                seg_start, on, off, seg = bound
                if cyc_off < seg_start + on + off:
                    break
            in_seg = cyc_off - seg_start
            seg_left = on + off - in_seg
            take = min(seg_left, end - pos)
            if in_seg < on and seg.freqs:
                k = min(on - in_seg, take)
                t = np.arange(in_seg, in_seg + k, dtype=np.float64) / self._rate
                amp = 32767.0 * 10.0 ** (seg.level_dbfs / 20.0)
                acc = out[pos - start : pos - start + k]
                for f in seg.freqs:
                    acc += amp * np.sin(2.0 * math.pi * f * t)
            pos += take
        return np.clip(np.rint(out), -32768, 32767).astype("<i2").tobytes()


def render(sequence: ToneSequence, rate: int = 8000) -> bytes:
    """The whole (finite) sequence as one PCM buffer."""
    gen = ToneGenerator(sequence, rate)
    total = gen.total_samples
    if total is None:
        raise ValueError("cannot render an endless sequence; use ToneGenerator")
    return gen.read(total)
