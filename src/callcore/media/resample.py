"""Sample-rate conversion between telephony rates (8/16/48 kHz, and others).

Both paths use :func:`scipy.signal.resample_poly` (polyphase FIR, Kaiser
window), so one-shot and streamed output agree to rounding.

* :func:`resample` — one shot over a whole buffer (prompts, recordings).
* :class:`StreamResampler` — fixed frames in, fixed frames out, for live
  legs. ``resample_poly`` keeps no filter state between calls, so the streamer
  keeps it itself: it holds the last ``2·L`` input samples (``L`` = the FIR
  half length in input samples, rounded up to a multiple of the decimation
  factor) and runs each new frame together with that history. Every output
  sample is then computed from a full filter support — no edge effects at
  frame joins — at the price of a fixed delay of ``L`` input samples
  (:attr:`StreamResampler.delay_in`: 11 samples for 8→16 kHz, 22 for
  16→8 kHz, 66 for 48→8 kHz — 1.375 ms in each case).
  :meth:`StreamResampler.flush` returns the last ``L`` samples' worth.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import resample_poly

__all__ = ["StreamResampler", "resample", "resample_array"]


def _ratio(src: int, dst: int) -> tuple[int, int]:
    if src <= 0 or dst <= 0:
        raise ValueError("sample rates must be positive")
    g = math.gcd(src, dst)
    return dst // g, src // g


def _to_i16(y: np.ndarray) -> bytes:
    return np.clip(np.rint(y), -32768, 32767).astype("<i2").tobytes()


def resample_array(x: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Float samples at ``src_rate`` to float samples at ``dst_rate``."""
    up, down = _ratio(src_rate, dst_rate)
    if up == down:
        return np.asarray(x, dtype=np.float64)
    return resample_poly(np.asarray(x, dtype=np.float64), up, down)


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """One-shot conversion of 16-bit LE mono PCM; output has ``ceil(n·dst/src)`` samples."""
    if len(pcm) % 2:
        raise ValueError("PCM length must be even (16-bit samples)")
    if src_rate == dst_rate:
        return bytes(pcm)
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return _to_i16(resample_array(x, src_rate, dst_rate))


class StreamResampler:
    """Frame-by-frame converter with carried filter history (see module doc).

    ``frame_samples`` input samples per :meth:`process` call; each call returns
    ``frame_samples · dst / src`` output samples (must be an integer).
    """

    __slots__ = ("_down", "_frame", "_hist", "_lag", "_out_n", "_up", "dst_rate", "src_rate")

    def __init__(self, src_rate: int, dst_rate: int, frame_samples: int = 160) -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._up, self._down = _ratio(src_rate, dst_rate)
        if (frame_samples * self._up) % self._down:
            raise ValueError(
                f"{frame_samples} samples at {src_rate} Hz is not a whole number of samples at {dst_rate} Hz"
            )
        self._frame = frame_samples
        self._out_n = frame_samples * self._up // self._down
        # resample_poly's default FIR has half length 10·max(up, down) at the up-sampled rate.
        half_in = math.ceil(10 * max(self._up, self._down) / self._up) + 1
        lag = math.ceil(half_in / self._down) * self._down
        self._lag = lag if self._up != self._down else 0
        self._hist = np.zeros(2 * self._lag, dtype=np.float64)

    @property
    def delay_in(self) -> int:
        """Delay added by streaming, in input samples."""
        return self._lag

    @property
    def delay_out(self) -> int:
        """Delay added by streaming, in output samples."""
        return self._lag * self._up // self._down

    @property
    def frame_out(self) -> int:
        return self._out_n

    def process(self, frame: bytes) -> bytes:
        """Convert one frame of exactly ``frame_samples`` input samples."""
        if len(frame) != 2 * self._frame:
            raise ValueError(f"expected {2 * self._frame} bytes, got {len(frame)}")
        x = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        if self._up == self._down:
            return bytes(frame)
        buf = np.concatenate((self._hist, x))
        y = resample_poly(buf, self._up, self._down)
        start = self._lag * self._up // self._down
        out = y[start : start + self._out_n]
        self._hist = buf[-2 * self._lag :]
        return _to_i16(out)

    def flush(self) -> bytes:
        """Output still held back by the streaming delay (``delay_out`` samples)."""
        if self._lag == 0:
            return b""
        buf = np.concatenate((self._hist, np.zeros(self._lag, dtype=np.float64)))
        y = resample_poly(buf, self._up, self._down)
        start = self._lag * self._up // self._down
        n = self._lag * self._up // self._down
        self._hist = buf[-2 * self._lag :]
        return _to_i16(y[start : start + n])
