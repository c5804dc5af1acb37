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
    "ToneCadenceDetector",
    "ToneDetected",
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


# -- cadence detection ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToneDetected:
    """A plan's tone (``name``: ringback, busy, congestion) recognised by cadence."""

    name: str
    country: str
    start_ms: int
    detected_at_ms: int


class ToneCadenceDetector:
    """Recognises a :class:`TonePlan`'s ringback / busy / congestion by cadence.

    Sans-IO over 20 ms frames. A frame is *on* for a signal when at least
    ``purity`` of its energy sits at that signal's frequencies (a DFT at
    exactly those frequencies) and it is above ``min_rms``. A signal is
    reported after ``cycles`` on-periods in a row whose lengths match the
    plan's on time and whose gaps match its off time, each within
    ``±(tolerance · nominal + 40 ms)``. Busy is thus recognised after
    on-off-on (≈1 s), ringback after one full cycle plus the next burst.
    Continuous tones (dial) are not cadence signals and are not reported.
    """

    def __init__(
        self,
        plan: TonePlan,
        rate: int = 8000,
        frame_ms: int = 20,
        cycles: int = 2,
        tolerance: float = 0.15,
        purity: float = 0.6,
        min_rms: float = 100.0,
    ) -> None:
        self.plan = plan
        self.rate = rate
        self.frame_ms = frame_ms
        self.cycles = cycles
        self.tolerance = tolerance
        self.purity = purity
        self.min_rms = min_rms
        n = rate * frame_ms // 1000
        self._n = n
        t = np.arange(n) / rate
        self._signals = []
        for name in ("ringback", "busy", "congestion"):
            seq: ToneSequence = getattr(plan, name)
            seg = seq.segments[0]
            if seg.off_ms == 0 or not seg.freqs:
                continue
            basis = np.exp(-2j * math.pi * np.outer(seg.freqs, t))
            self._signals.append(_CadenceTrack(name, seg.on_ms, seg.off_ms, basis))
        self._now = 0

    def _match(self, got: int, nominal: int) -> bool:
        return abs(got - nominal) <= self.tolerance * nominal + 40

    def feed(self, frame: bytes) -> list[ToneDetected]:
        if len(frame) != 2 * self._n:
            raise ValueError(f"expected {2 * self._n} bytes, got {len(frame)}")
        x = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        e = float(np.dot(x, x))
        start = self._now
        self._now += self.frame_ms
        loud = e > self.min_rms**2 * self._n
        out = []
        for tr in self._signals:
            on = False
            if loud:
                p = np.abs(tr.basis @ x) ** 2 * (2.0 / self._n)
                on = float(p.sum()) >= self.purity * e
            ev = tr.step(on, start, self.frame_ms, self)
            if ev is not None:
                out.append(ToneDetected(tr.name, self.plan.country, ev, self._now))
        return out


class _CadenceTrack:
    __slots__ = ("basis", "name", "off_ms", "ok", "on_ms", "reported", "run", "run_on", "t0")

    def __init__(self, name: str, on_ms: int, off_ms: int, basis: np.ndarray) -> None:
        self.name = name
        self.on_ms = on_ms
        self.off_ms = off_ms
        self.basis = basis
        self.run_on = False
        self.run = 0
        self.ok = 0  # matching on-periods in a row
        self.t0 = 0
        self.reported = False

    def step(self, on: bool, start: int, ms: int, det: ToneCadenceDetector) -> int | None:
        if on == self.run_on:
            self.run += ms
            if not on and self.ok and self.run > det.tolerance * self.off_ms + 40 + self.off_ms:
                self.ok = 0  # gap too long: the pattern broke
            if on and self.run > self.on_ms * (1 + det.tolerance) + 40:
                self.ok = 0
            return None
        # a run just ended
        ended_on, length = self.run_on, self.run
        self.run_on, self.run = on, ms
        if ended_on:
            if det._match(length, self.on_ms):
                if self.ok == 0:
                    self.t0 = start - length
                self.ok += 1
                if self.ok >= det.cycles and not self.reported:
                    self.reported = True
                    return self.t0
            else:
                self.ok = 0
        elif self.ok and not det._match(length, self.off_ms):
            self.ok = 0
        return None
