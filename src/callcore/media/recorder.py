"""Call recording to WAV: crash-safe headers, pause/resume, mono or stereo.

Three layers:

* :class:`Recorder` (sans-IO) takes one frame per leg per tick — caller and
  agent — and returns a chunk of interleaved PCM every ``flush_ms`` of audio.
  ``mode="stereo"`` puts the caller on the left channel and the agent on the
  right; ``mode="mono"`` mixes both with saturation. While paused it records
  digital silence of the same length instead of the audio, so the timeline
  stays intact but card numbers or DTMF never reach the file.
* :class:`WavChunkWriter` (blocking) appends chunks with :mod:`wave` and
  flushes after each one. :mod:`wave` patches the RIFF and ``data`` sizes on
  every ``writeframes``; with the flush, the file on disk is a valid WAV up
  to its last chunk at every moment, so a killed process leaves a readable
  recording (minus at most ``flush_ms`` of audio). ``fsync=True`` also
  survives power loss, at a disk-sync per chunk.
* :class:`AsyncRecorder` wires them together for asyncio: ``feed`` is cheap
  and never blocks; chunks go through a queue to one background writer
  thread (file open, writes and close all happen there).

:func:`export_mp3` converts a finished WAV to MP3 with ``lameenc``.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import wave
from typing import Literal

import numpy as np

__all__ = ["AsyncRecorder", "Recorder", "RecorderError", "WavChunkWriter", "export_mp3"]

Mode = Literal["mono", "stereo"]


class RecorderError(Exception):
    """The background writer failed (disk full, permission, ...)."""


class Recorder:
    """Sans-IO frame accumulator (see module doc).

    Frames are appended to one growing buffer per channel — no per-frame
    arrays — and interleaved (stereo) or mixed (mono with both legs) once per
    chunk, when ``flush_ms`` of audio is buffered: the per-tick cost is two
    ``bytearray`` appends.
    """

    __slots__ = (
        "_buffered",
        "_flush_samples",
        "_left",
        "_paused",
        "_right",
        "_stereo",
        "mode",
        "paused_samples",
        "rate",
        "samples",
    )

    def __init__(self, mode: Mode = "mono", rate: int = 8000, flush_ms: int = 1000) -> None:
        if mode not in ("mono", "stereo"):
            raise ValueError("mode must be 'mono' or 'stereo'")
        if flush_ms <= 0:
            raise ValueError("flush_ms must be > 0")
        self.mode = mode
        self.rate = rate
        self._stereo = mode == "stereo"
        self._flush_samples = rate * flush_ms // 1000
        # stereo: caller / agent channels, always the same length; mono: the frames
        # (caller, or agent when the caller is silent) / the agent's part of frames
        # where both spoke, zero-padded to line up (empty while nobody overlapped)
        self._left = bytearray()
        self._right = bytearray()
        self._buffered = 0
        self._paused = False
        #: Samples (per channel) recorded so far, paused spans included.
        self.samples = 0
        #: Of which recorded as silence because of pause().
        self.paused_samples = 0

    @property
    def channels(self) -> int:
        return 2 if self.mode == "stereo" else 1

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """From the next frame on, record silence instead of audio."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def feed(self, caller: bytes | None, agent: bytes | None = None) -> bytes | None:
        """Add one frame per leg (``None``/empty = that leg is silent).

        Returns a chunk of interleaved 16-bit PCM once ``flush_ms`` of audio is
        buffered, else ``None``.
        """
        lc = len(caller) if caller else 0
        la = len(agent) if agent else 0
        if lc != la:
            if (lc and lc % 2) or (la and la % 2):
                raise ValueError("frames must hold whole 16-bit samples")
            if lc and la:
                raise ValueError(f"caller and agent frames differ in length ({lc} vs {la} bytes)")
            nb = lc or la
        else:
            if lc % 2:
                raise ValueError("frames must hold whole 16-bit samples")
            nb = lc
        if nb == 0:
            return None
        left = self._left
        if self._paused:
            left += _zeros(nb)
            if self._stereo:
                self._right += _zeros(nb)
            self.paused_samples += nb >> 1
        elif self._stereo:
            left += caller if lc else _zeros(nb)  # type: ignore[operator]
            self._right += agent if la else _zeros(nb)  # type: ignore[operator]
        elif lc and la:  # mono, both legs: mixed when the chunk is cut
            right = self._right
            if len(right) < len(left):
                right += _zeros(len(left) - len(right))
            left += caller  # type: ignore[operator]
            right += agent  # type: ignore[operator]
        else:
            left += caller if lc else agent  # type: ignore[operator]
        n = nb >> 1
        self.samples += n
        self._buffered += n
        if self._buffered >= self._flush_samples:
            return self.flush()
        return None

    def flush(self) -> bytes:
        """Whatever is buffered (possibly ``b""``)."""
        left, right = self._left, self._right
        if self._stereo:
            out = np.empty(len(left), dtype="<i2")  # 2 channels x len/2 samples
            out[0::2] = np.frombuffer(left, dtype="<i2")
            out[1::2] = np.frombuffer(right, dtype="<i2")
            chunk = out.tobytes()
        elif right:
            if len(right) < len(left):
                right += _zeros(len(left) - len(right))
            s = np.frombuffer(left, dtype="<i2").astype(np.int32) + np.frombuffer(
                right, dtype="<i2"
            )
            chunk = np.clip(s, -32768, 32767).astype("<i2").tobytes()
        else:
            chunk = bytes(left)
        self._left = bytearray()
        self._right = bytearray()
        self._buffered = 0
        return chunk


_ZEROS: dict[int, bytes] = {}


def _zeros(nbytes: int) -> bytes:
    """``bytes(nbytes)``, shared (frames have one or two sizes)."""
    z = _ZEROS.get(nbytes)
    if z is None:
        z = bytes(nbytes)
        if len(_ZEROS) < 64:
            _ZEROS[nbytes] = z
    return z


class WavChunkWriter:
    """Blocking WAV appender whose header is valid after every :meth:`write`."""

    def __init__(
        self, path: str | os.PathLike[str], channels: int = 1, rate: int = 8000, fsync: bool = False
    ) -> None:
        self.path = os.fspath(path)
        self._fsync = fsync
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)
        # Write a header (zero frames) right away so even an empty recording is a valid WAV.
        self._wav.writeframes(b"")
        self._sync()

    def _sync(self) -> None:
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def write(self, chunk: bytes) -> None:
        """Append interleaved frames; RIFF/data sizes are patched, then flushed."""
        if chunk:
            self._wav.writeframes(chunk)
            self._sync()

    def close(self) -> None:
        if self._file.closed:
            return
        self._wav.close()
        self._sync()
        self._file.close()


_STOP = object()


class AsyncRecorder:
    """Records to a WAV file from the event loop; one writer thread does the I/O.

    ``feed``, ``pause`` and ``resume`` are synchronous and never block (call
    them from the media tick); ``await aclose()`` writes the tail and waits for
    the writer. Writer errors surface as :class:`RecorderError` on the next
    ``feed`` or on ``aclose``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: Mode = "mono",
        rate: int = 8000,
        flush_ms: int = 1000,
        fsync: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self.recorder = Recorder(mode, rate, flush_ms)
        self._q: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(
            target=self._run,
            args=(self.path, self.recorder.channels, rate, fsync),
            name=f"recorder:{os.path.basename(self.path)}",
            daemon=True,
        )
        self._thread.start()

    def _run(self, path: str, channels: int, rate: int, fsync: bool) -> None:
        writer = None
        try:
            writer = WavChunkWriter(path, channels, rate, fsync)
            while True:
                item = self._q.get()
                if item is _STOP:
                    break
                writer.write(item)  # type: ignore[arg-type]
        except BaseException as e:  # report to the loop side
            self._error = e
        finally:
            if writer is not None:
                try:
                    writer.close()
                except BaseException as e:
                    self._error = self._error or e

    def _check(self) -> None:
        if self._error is not None:
            raise RecorderError(f"recording to {self.path} failed: {self._error}") from self._error

    def feed(self, caller: bytes | None, agent: bytes | None = None) -> None:
        if self._closed:
            raise RecorderError("recorder is closed")
        if self._error is not None:
            self._check()
        chunk = self.recorder.feed(caller, agent)
        if chunk:
            self._q.put(chunk)

    def pause(self) -> None:
        self.recorder.pause()

    def resume(self) -> None:
        self.recorder.resume()

    @property
    def paused(self) -> bool:
        return self.recorder.paused

    async def aclose(self) -> None:
        """Write what is buffered, close the file, join the writer thread."""
        if not self._closed:
            self._closed = True
            tail = self.recorder.flush()
            if tail:
                self._q.put(tail)
            self._q.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._check()

    async def __aenter__(self) -> AsyncRecorder:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def export_mp3(
    wav_path: str | os.PathLike[str],
    mp3_path: str | os.PathLike[str],
    bitrate_kbps: int = 32,
    quality: int = 5,
) -> int:
    """Encode a 16-bit WAV as MP3 with ``lameenc`` (blocking; run it in a thread).

    Returns the MP3 size in bytes. Needs the ``mp3`` extra (``lameenc``).
    """
    try:
        import lameenc
    except ImportError as e:  # pragma: no cover
        raise RecorderError("MP3 export needs lameenc (pip install callcore[mp3])") from e
    with wave.open(os.fspath(wav_path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError("MP3 export expects 16-bit PCM WAV")
        ch, rate = w.getnchannels(), w.getframerate()
        enc = lameenc.Encoder()
        enc.set_bit_rate(bitrate_kbps)
        enc.set_in_sample_rate(rate)
        enc.set_channels(ch)
        enc.set_quality(quality)
        size = 0
        with open(os.fspath(mp3_path), "wb") as out:
            while True:
                frames = w.readframes(rate)
                if not frames:
                    break
                data = enc.encode(frames)
                out.write(data)
                size += len(data)
            data = enc.flush()
            out.write(data)
            size += len(data)
    return size
