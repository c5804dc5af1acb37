"""In-band DTMF: a streaming detector (sans-IO) and tone generators.

Detection follows the common telephony design (Asterisk, SpanDSP) with two
additions that make the duration and frequency requirements hold at once:

1. **Block test** (fast path, every 102 samples = 12.75 ms at 8 kHz):
   Goertzel power at the 8 DTMF frequencies; the strongest row and column
   must pass an absolute threshold, the twist limits, a relative-peak test
   (every other tone of the group 8 dB weaker) and an energy-fraction test
   (the two tones hold most of the block's energy — speech does not).
2. **Confirmation** when two consecutive blocks agree (204 samples):

   * *frequency*: each tone's power is re-measured over a window whose
     length is inversely proportional to its frequency (about 195 samples
     at 697 Hz, 83 at 1633 Hz), so the loss for a given *percentage* offset
     is the same for all eight tones: ~1 dB at ±1.5 %, ~6 dB at ±3.5 %. The
     tones' share of the window's energy must stay above ``confirm_fraction``;
   * *duration*: the two tones' power over the first and over the last
     ~4 ms of the window must match the window's mean energy. Each edge
     slice lasts a whole number of beat periods of the pair, which puts the
     other tone on a spectral null of the slice, and a slice that is partly
     silent loses power with the *square* of its silent share. A tone
     shorter than 23 ms cannot fill 204 samples, so at least 10 samples of
     one edge are silent and the digit is refused; a tone of 40 ms or more
     contains two whole blocks and passes.

A digit ends after two consecutive blocks that do not carry it (a 40 ms pause
contains two whole blocks), so one long tone gives one digit and a dropout of
a single block does not split it.

>>> det = DtmfDetector()
>>> [e.digit for e in det.feed(dtmf_sequence("12#")) if isinstance(e, DtmfDigit)]
['1', '2', '#']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from callcore.fastpath import impl as _fp

__all__ = [
    "COLS",
    "DBM0_FULL_SCALE",
    "DIGITS",
    "ROWS",
    "DtmfDetector",
    "DtmfDigit",
    "DtmfStart",
    "detect_digits",
    "dtmf_sequence",
    "dtmf_tone",
    "tone",
]

#: Low-group (row) frequencies, Hz.
ROWS: tuple[float, ...] = (697.0, 770.0, 852.0, 941.0)
#: High-group (column) frequencies, Hz.
COLS: tuple[float, ...] = (1209.0, 1336.0, 1477.0, 1633.0)
#: Keypad layout: ``DIGITS[row * 4 + col]``.
DIGITS = "123A456B789C*0#D"
#: A full-scale 16-bit sine is +3.14 dBm0 (G.711 A-law; mu-law is +3.17).
DBM0_FULL_SCALE = 3.14
_DBM0_PEAK = 32767.0 * 10.0 ** (-DBM0_FULL_SCALE / 20.0)

_BLOCK = 102
#: frequency-scaled confirmation windows: N(f) * f is constant
_WINDOW_K = 135_800.0


@dataclass(frozen=True, slots=True)
class DtmfStart:
    """A digit was confirmed (about 25 ms into the tone); its end is still to come."""

    digit: str
    start_sample: int


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """A complete digit: the tone ran from ``start_sample`` to ``end_sample`` (exclusive).

    Sample positions count from the first sample fed, at block resolution
    (12.75 ms at 8 kHz).
    """

    digit: str
    start_sample: int
    end_sample: int

    @property
    def duration_samples(self) -> int:
        return self.end_sample - self.start_sample


def _db_power(db: float) -> float:
    return 10.0 ** (db / 10.0)


class DtmfDetector:
    """Streaming in-band DTMF detector for 16-bit mono PCM.

    Feed PCM of any length with :meth:`feed`; it returns :class:`DtmfStart`
    and :class:`DtmfDigit` events. :meth:`flush` ends a digit still sounding
    when the stream stops. All state is in the object; no clock, no I/O.

    Parameters (defaults meet ITU-T Q.24 / Bellcore-style requirements):
    ``min_level_dbm0`` weakest tone accepted (each of the two tones);
    ``normal_twist_db`` / ``reverse_twist_db`` largest accepted excess of the
    low over the high tone and of the high over the low tone (the 8 dB / 4 dB
    requirements plus 1.5 dB for the Goertzel loss at a 1.5 % offset);
    ``relative_peak_db`` how far every other tone of a group must stay below
    the strongest; ``block_fraction`` / ``confirm_fraction`` share of the
    energy the two tones must hold in a block / in the confirmation window;
    ``edge_ratio`` how loud the window's edges must be relative to its mean.
    ``fastpath`` overrides the kernel module (tests pass each twin).
    """

    def __init__(
        self,
        rate: int = 8000,
        *,
        min_level_dbm0: float = -36.0,
        normal_twist_db: float = 9.5,
        reverse_twist_db: float = 5.5,
        relative_peak_db: float = 8.0,
        block_fraction: float = 0.6,
        confirm_fraction: float = 0.75,
        edge_ratio: float = 0.72,
        fastpath: ModuleType | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._fp = _fp if fastpath is None else fastpath
        self.block = round(_BLOCK * rate / 8000)
        self._coeffs = tuple(2.0 * math.cos(2.0 * math.pi * f / rate) for f in ROWS + COLS)
        amp = _DBM0_PEAK * 10.0 ** (min_level_dbm0 / 20.0)
        # half the ideal power, leaving room for the loss at a 1.5 % offset
        self._threshold = 0.5 * (amp * self.block / 2.0) ** 2
        self._normal = _db_power(normal_twist_db)
        self._reverse = _db_power(reverse_twist_db)
        self._relative = _db_power(relative_peak_db)
        self._block_fraction = block_fraction
        self.confirm_fraction = confirm_fraction
        self.edge_ratio = edge_ratio
        win = 2 * self.block
        scale = rate / 8000.0
        self._windows = tuple(min(win, round(_WINDOW_K * scale / f)) for f in ROWS + COLS)
        self._edges: list[int] = []
        for r in ROWS:
            for c in COLS:
                period = rate / (c - r)
                k = max(1, math.ceil(28 * scale / period))
                self._edges.append(round(k * period))
        self._pending = bytearray()
        self._sample = 0  # sample index of the first byte of _pending
        self._prev = b""
        self._prev_code = 255
        self._digit = -1
        self._start = 0
        self._last_hit_end = 0
        self._misses = 0

    # ----------------------------------------------------------- internals
    def _confirm(self, window: bytes, code: int) -> bool:
        """Frequency-accuracy and duration test over two blocks of one digit."""
        r, c = divmod(code, 4)
        n = len(window) >> 1
        e_total = self._fp.energy(window)
        if e_total <= 0.0:
            return False
        mean = e_total / n
        share = 0.0
        for k in (r, 4 + c):
            nk = self._windows[k]
            p = self._fp.goertzel(window[2 * (n - nk) :], (self._coeffs[k],))[0]
            share += 2.0 * p / (nk * nk)
        if share < self.confirm_fraction * mean:
            return False
        edge = self._edges[code]
        pair = (self._coeffs[r], self._coeffs[4 + c])
        lim = self.edge_ratio * mean * edge * edge
        for part in (window[: 2 * edge], window[-2 * edge :]):
            pr, pc = self._fp.goertzel(part, pair)
            if 2.0 * (pr + pc) < lim:
                return False
        return True

    def _end_digit(self, events: list[DtmfStart | DtmfDigit]) -> None:
        events.append(DtmfDigit(DIGITS[self._digit], self._start, self._last_hit_end))
        self._digit = -1
        self._misses = 0

    def feed(self, pcm: bytes | bytearray | memoryview) -> list[DtmfStart | DtmfDigit]:
        """Analyse more PCM; return the events it completes, in order."""
        self._pending += pcm
        bb = 2 * self.block
        nblocks = len(self._pending) // bb
        if nblocks == 0:
            return []
        data = bytes(self._pending[: nblocks * bb])
        del self._pending[: nblocks * bb]
        codes = self._fp.dtmf_blocks(
            data,
            self._coeffs,
            self.block,
            self._threshold,
            self._normal,
            self._reverse,
            self._relative,
            self._block_fraction,
        )
        events: list[DtmfStart | DtmfDigit] = []
        prev_code = self._prev_code
        blk = self.block
        for i, code in enumerate(codes):
            if code == 255 and self._digit < 0:
                prev_code = 255
                continue
            start = self._sample + i * blk
            if self._digit >= 0:
                if code == self._digit:
                    self._misses = 0
                    self._last_hit_end = start + blk
                else:
                    self._misses += 1
                    if self._misses >= 2:
                        self._end_digit(events)
            if self._digit < 0 and code != 255 and code == prev_code:
                prev = self._prev if i == 0 else data[(i - 1) * bb : i * bb]
                if self._confirm(prev + data[i * bb : (i + 1) * bb], code):
                    self._digit = code
                    self._start = start - blk
                    self._last_hit_end = start + blk
                    self._misses = 0
                    events.append(DtmfStart(DIGITS[code], self._start))
            prev_code = code
        self._prev = data[-bb:] if codes[-1] != 255 else b""
        self._prev_code = prev_code
        self._sample += nblocks * blk
        return events

    def flush(self) -> list[DtmfStart | DtmfDigit]:
        """End of stream: finish a digit still sounding (trailing partial block ignored)."""
        events: list[DtmfStart | DtmfDigit] = []
        if self._digit >= 0:
            self._end_digit(events)
        return events

    def reset(self) -> None:
        """Forget everything (sample positions restart at 0)."""
        self._pending.clear()
        self._sample = 0
        self._prev = b""
        self._prev_code = 255
        self._digit = -1
        self._misses = 0


def detect_digits(pcm: bytes, rate: int = 8000, **options: object) -> str:
    """All digits in a complete recording, as a string (convenience wrapper)."""
    det = DtmfDetector(rate, **options)  # type: ignore[arg-type]
    events = det.feed(pcm) + det.flush()
    return "".join(e.digit for e in events if isinstance(e, DtmfDigit))


# ---------------------------------------------------------------- generators
def tone(
    frequencies: Sequence[float],
    ms: float,
    level_dbm0: float | Sequence[float] = -10.0,
    *,
    rate: int = 8000,
) -> bytes:
    """A sum of sines (single, dual or more tones) as 16-bit PCM.

    ``level_dbm0`` is each component's level, one value for all or one per
    frequency. The result is rounded and saturated to 16 bits.
    """
    n = round(rate * ms / 1000.0)
    levels = (
        [float(level_dbm0)] * len(frequencies)
        if isinstance(level_dbm0, int | float)
        else [float(x) for x in level_dbm0]
    )
    if len(levels) != len(frequencies):
        raise ValueError("one level per frequency")
    t = np.arange(n, dtype=np.float64) / rate
    x = np.zeros(n, dtype=np.float64)
    for f, lv in zip(frequencies, levels, strict=True):
        x += _DBM0_PEAK * 10.0 ** (lv / 20.0) * np.sin(2.0 * np.pi * f * t)
    return np.clip(np.rint(x), -32768, 32767).astype("<i2").tobytes()


def dtmf_tone(
    digit: str,
    ms: float,
    level_dbm0: float = -7.0,
    twist_db: float = 0.0,
    *,
    rate: int = 8000,
    freq_offset: tuple[float, float] = (0.0, 0.0),
) -> bytes:
    """The dual tone of ``digit`` for ``ms`` milliseconds.

    ``level_dbm0`` is the low (row) tone's level. ``twist_db`` is the low
    tone's level minus the high tone's: positive values are *normal* twist
    (high tone weaker, as after a long line), negative *reverse* twist.
    ``freq_offset`` shifts the (row, column) frequencies by a relative amount
    (``0.015`` = +1.5 %), for testing detectors.
    """
    key = digit.upper()
    if len(key) != 1 or key not in DIGITS:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    r, c = divmod(DIGITS.index(key), 4)
    freqs = (ROWS[r] * (1.0 + freq_offset[0]), COLS[c] * (1.0 + freq_offset[1]))
    return tone(freqs, ms, (level_dbm0, level_dbm0 - twist_db), rate=rate)


def dtmf_sequence(
    digits: str,
    on_ms: float = 80.0,
    off_ms: float = 60.0,
    level_dbm0: float = -7.0,
    *,
    rate: int = 8000,
) -> bytes:
    """``digits`` as tones of ``on_ms`` separated (and followed) by ``off_ms`` of silence."""
    gap = bytes(2 * round(rate * off_ms / 1000.0))
    return b"".join(dtmf_tone(d, on_ms, level_dbm0, rate=rate) + gap for d in digits)
