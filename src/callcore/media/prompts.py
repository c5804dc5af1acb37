"""WAV prompts: load any common WAV, convert once to 8 kHz 16-bit mono, cache.

Reading uses the stdlib :mod:`wave` module (PCM 8/16/24/32-bit, any rate,
mono or multi-channel); files ``wave`` rejects — ``WAVE_FORMAT_EXTENSIBLE``
headers (sox writes them for 24/32-bit), IEEE float — are read with
:func:`scipy.io.wavfile.read` instead. Channels are averaged to mono and the
rate converted with :func:`callcore.media.resample.resample_array`.

:class:`PromptCache` keys entries by resolved path, modification time and
size, so an edited prompt is re-read on next use and an unchanged one never
is.
"""

from __future__ import annotations

import os
import threading
import wave
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callcore.media.resample import resample_array

__all__ = ["Prompt", "PromptCache", "PromptError", "load_prompt", "read_wav"]

StrPath = str | os.PathLike[str]


class PromptError(Exception):
    """The prompt file is missing, unreadable, or not a supported WAV."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt converted to 16-bit LE mono PCM at ``rate``."""

    pcm: bytes
    rate: int
    source: str
    source_rate: int
    source_channels: int
    source_width: int

    @property
    def samples(self) -> int:
        return len(self.pcm) // 2

    @property
    def duration_ms(self) -> float:
        return 1000.0 * self.samples / self.rate


def _read_with_wave(path: str) -> tuple[np.ndarray, int, int, int]:
    with wave.open(path, "rb") as w:
        ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    elif width == 3:
        b = np.frombuffer(raw[: len(raw) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v & 0x800000, v - 0x1000000, v)
        x = v.astype(np.float64) / 256.0
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0
    else:  # pragma: no cover - wave itself rejects other widths
        raise PromptError(f"{path}: unsupported sample width {width} bytes")
    x = x[: len(x) // ch * ch].reshape(-1, ch)
    return x, rate, ch, width


def _read_with_scipy(path: str) -> tuple[np.ndarray, int, int, int]:
    from scipy.io import wavfile

    rate, data = wavfile.read(path)
    width = data.dtype.itemsize
    if data.dtype == np.uint8:
        x = (data.astype(np.float64) - 128.0) * 256.0
    elif data.dtype.kind == "f":
        x = data.astype(np.float64) * 32768.0
    elif data.dtype.kind == "i":
        x = data.astype(np.float64) / float(2 ** (8 * width - 16))
    else:
        raise PromptError(f"{path}: unsupported sample type {data.dtype}")
    if x.ndim == 1:
        x = x[:, None]
    return x, int(rate), x.shape[1], width


def read_wav(path: StrPath) -> tuple[np.ndarray, int, int, int]:
    """``(samples[n, channels] scaled to 16-bit range, rate, channels, width)``.

    ``width`` is the container width in bytes (scipy returns 24-bit
    ``WAVE_FORMAT_EXTENSIBLE`` data in 4-byte containers).
    """
    p = os.fspath(path)
    try:
        return _read_with_wave(p)
    except FileNotFoundError as e:
        raise PromptError(f"{p}: no such file") from e
    except IsADirectoryError as e:
        raise PromptError(f"{p}: is a directory") from e
    except PermissionError as e:
        raise PromptError(f"{p}: permission denied") from e
    except (wave.Error, EOFError) as e:
        first = e
    try:
        return _read_with_scipy(p)
    except PromptError:
        raise
    except Exception as e:  # scipy raises ValueError/EOFError/... for broken files
        raise PromptError(f"{p}: not a readable WAV file ({first}; {e})") from e


def load_prompt(path: StrPath, rate: int = 8000) -> Prompt:
    """Read ``path`` and convert it to 16-bit mono PCM at ``rate`` (no caching)."""
    x, src_rate, ch, width = read_wav(path)
    if src_rate < 1000:
        raise PromptError(f"{os.fspath(path)}: implausible sample rate {src_rate} Hz")
    mono = x.mean(axis=1) if ch > 1 else x[:, 0]
    y = resample_array(mono, src_rate, rate)
    pcm = np.clip(np.rint(y), -32768, 32767).astype("<i2").tobytes()
    return Prompt(pcm, rate, os.fspath(path), src_rate, ch, width)


class PromptCache:
    """Thread-safe LRU cache of converted prompts keyed by (path, mtime, size).

    ``max_bytes`` bounds the PCM held (default 64 MiB ≈ 70 minutes at 8 kHz).
    """

    def __init__(self, rate: int = 8000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.rate = rate
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[tuple[int, int], Prompt]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, path: StrPath) -> Prompt:
        """The converted prompt, loading it if new or changed on disk."""
        key = str(Path(path).resolve())
        try:
            st = os.stat(key)
        except OSError as e:
            raise PromptError(f"{os.fspath(path)}: {e.strerror or e}") from e
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] == stamp:
                self._items.move_to_end(key)
                self.hits += 1
                return hit[1]
        prompt = load_prompt(key, self.rate)
        with self._lock:
            self.misses += 1
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1].pcm)
            self._items[key] = (stamp, prompt)
            self._bytes += len(prompt.pcm)
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, (_, ev) = self._items.popitem(last=False)
                self._bytes -= len(ev.pcm)
        return prompt

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)
