"""Call recording on the media clock: one leg, a bridge in stereo, or a conference mix.

Recordings hang off the media clock's *taps* — every tick each leg's session
feeds its taps with what its far end said (``heard``) — and write through
:class:`callcore.media.recorder.AsyncRecorder`: the tap only buffers frames,
one writer thread per recording does the file I/O, and the WAV header is
patched after every chunk, so a process killed mid-call leaves a readable
file missing at most ``flush_ms`` of audio.

* :func:`record_leg` — mono, what one leg's far end says;
* :func:`record_bridge` — stereo, caller (``a``) on the left and agent
  (``b``) on the right, frames of the same tick side by side;
* :func:`record_conference` — mono, the full conference mix.

:meth:`Recording.pause` / :meth:`Recording.resume` (or ``with
recording.paused_span():``) record digital silence of the same length, so
card numbers keyed during a payment never reach the file and the timeline
stays intact. A recording stops by itself when a recorded leg (or the
conference) ends. When the media clock falls behind and skips ticks, the
recording gets silence for them, so its length always matches the call's;
:func:`recordings_of` gives a call's recordings, which the
CDR writer uses for the recording reference, and :data:`recording_started`
hooks hear about every new recording (the CDR writer stores the reference at
once, so even a crash leaves it in the CDR).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Literal

from callcore.media.recorder import AsyncRecorder, RecorderError
from callcore.switch.call import CallError

if TYPE_CHECKING:
    from callcore.switch.call import Call
    from callcore.switch.conference import Conference
    from callcore.switch.media import MediaSession

__all__ = [
    "Recording",
    "record_bridge",
    "record_conference",
    "record_leg",
    "recording_started",
    "recordings_of",
]

log = logging.getLogger("callcore.recording")

Kind = Literal["leg", "bridge", "conference"]

_SILENCE = bytes(320)  # one 20 ms frame of 8 kHz 16-bit silence
_MAX_GAP = 500  # ticks of silence recorded for one gap at most (10 s)

#: hooks called with every :class:`Recording` when it starts (CDR writers)
recording_started: list[Callable[[Recording], None]] = []

_BY_CALL: weakref.WeakKeyDictionary[Call, list[Recording]] = weakref.WeakKeyDictionary()


def recordings_of(call: Call) -> list[Recording]:
    """The recordings that include ``call`` (started, running or finished)."""
    return list(_BY_CALL.get(call, ()))


class Recording:
    """One running or finished recording (created by the ``record_*`` functions)."""

    def __init__(
        self,
        kind: Kind,
        path: str | os.PathLike[str],
        calls: tuple[Call, ...],
        *,
        stereo: bool,
        flush_ms: int,
        fsync: bool,
    ) -> None:
        self.kind: Kind = kind
        self.path = os.fspath(path)
        self.calls = calls
        self.started_at = time.time()
        self.ended_at: float | None = None
        self.error: BaseException | None = None
        self._rec = AsyncRecorder(
            self.path, "stereo" if stereo else "mono", flush_ms=flush_ms, fsync=fsync
        )
        self._detach: list[Callable[[], None]] = []
        sessions = [c.session for c in calls if getattr(c, "session", None) is not None]
        self._clock = getattr(sessions[0], "clock", None) if sessions else None
        self._pos: int | None = None
        self._watch: asyncio.Task | None = None
        self._closing: asyncio.Future | None = None
        for call in calls:
            _BY_CALL.setdefault(call, []).append(self)

    # ------------------------------------------------------------ public
    @property
    def reference(self) -> str:
        """What a CDR stores to find the recording again (the file path)."""
        return self.path

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def paused(self) -> bool:
        return self._rec.paused

    @property
    def seconds(self) -> float:
        """Audio recorded so far (paused spans included, as silence)."""
        return self._rec.recorder.samples / self._rec.recorder.rate

    @property
    def paused_seconds(self) -> float:
        return self._rec.recorder.paused_samples / self._rec.recorder.rate

    def pause(self) -> None:
        """From the next tick on, record silence instead of audio."""
        self._rec.pause()

    def resume(self) -> None:
        self._rec.resume()

    @contextlib.contextmanager
    def paused_span(self) -> Iterator[Recording]:
        """``with rec.paused_span(): card = await call.collect(16)``"""
        self.pause()
        try:
            yield self
        finally:
            self.resume()

    async def stop(self) -> None:
        """Detach from the media, write the tail and close the file (idempotent)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    # ------------------------------------------------------------ internals
    def _feed(self, a: bytes | None, b: bytes | None = None) -> None:
        if self.ended_at is not None:
            return
        clock = self._clock
        try:
            if clock is not None:
                # a clock that fell behind skips ticks (their audio is dropped to keep
                # the delay down): record silence for them so the timeline stays true
                pos = clock.ticks + clock.skipped_ticks
                last = self._pos
                self._pos = pos
                if last is not None and pos - last > 1:
                    for _ in range(min(pos - last - 1, _MAX_GAP)):
                        self._rec.feed(
                            _SILENCE, _SILENCE if self._rec.recorder.channels == 2 else None
                        )
            self._rec.feed(a, b)
        except RecorderError as exc:  # disk full …: stop recording, never break the clock
            self.error = exc
            log.error("%s", exc)
            self._unhook()
            self.ended_at = time.time()

    def _tap(self, session: MediaSession, fn: Callable[[bytes], None]) -> None:
        session.taps.append(fn)

        def undo() -> None:
            with contextlib.suppress(ValueError):
                session.taps.remove(fn)

        self._detach.append(undo)

    def _unhook(self) -> None:
        for undo in self._detach:
            undo()
        self._detach.clear()

    async def _close(self) -> None:
        self._unhook()
        if self._watch is not None and self._watch is not asyncio.current_task():
            self._watch.cancel()
        try:
            await self._rec.aclose()
        except RecorderError as exc:
            self.error = self.error or exc
        if self.ended_at is None:
            self.ended_at = time.time()

    def _start(self, ends: list[Callable[[], object]]) -> Recording:
        async def watch() -> None:
            futs = [asyncio.ensure_future(w()) for w in ends]  # type: ignore[arg-type]
            try:
                await asyncio.wait(futs, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for f in futs:
                    f.cancel()
            await self.stop()

        self._watch = asyncio.get_running_loop().create_task(watch())
        for hook in recording_started:
            try:
                hook(self)
            except Exception:
                log.exception("recording_started hook failed")
        return self

    def __repr__(self) -> str:
        state = "active" if self.active else "done"
        return f"<Recording {self.kind} {self.path} {state}>"


def record_leg(
    call: Call, path: str | os.PathLike[str], *, flush_ms: int = 1000, fsync: bool = False
) -> Recording:
    """Record what ``call``'s far end says (mono) until the call ends or :meth:`Recording.stop`."""
    session = call._need_media()
    rec = Recording("leg", path, (call,), stereo=False, flush_ms=flush_ms, fsync=fsync)
    rec._tap(session, rec._feed)
    return rec._start([call.wait_hangup])


def record_bridge(
    a: Call,
    b: Call | None = None,
    path: str | os.PathLike[str] = "",
    *,
    flush_ms: int = 1000,
    fsync: bool = False,
) -> Recording:
    """Record a bridged pair in stereo: ``a`` (the caller) left, ``b`` (the agent,
    default ``a.partner``) right. Stops when either leg ends."""
    b = b if b is not None else a.partner
    if b is None:
        raise CallError("record_bridge() needs two legs (b, or a bridged a)")
    if not path:
        raise ValueError("record_bridge() needs a path")
    sa, sb = a._need_media(), b._need_media()
    if sa.clock is not sb.clock:
        raise CallError("both legs must share one media clock (one Endpoint)")
    rec = Recording("bridge", path, (a, b), stereo=True, flush_ms=flush_ms, fsync=fsync)
    clock = sa.clock
    # pair the two legs' frames of the same tick (the receive pass visits legs in any order)
    slot: list = [-1, None, -2, None]  # tick_a, frame_a, tick_b, frame_b

    def tap_a(pcm: bytes) -> None:
        slot[0], slot[1] = clock.ticks, pcm
        if slot[2] == slot[0]:
            rec._feed(pcm, slot[3])
            slot[0], slot[2] = -1, -2

    def tap_b(pcm: bytes) -> None:
        slot[2], slot[3] = clock.ticks, pcm
        if slot[0] == slot[2]:
            rec._feed(slot[1], pcm)
            slot[0], slot[2] = -1, -2

    rec._tap(sa, tap_a)
    rec._tap(sb, tap_b)
    return rec._start([a.wait_hangup, b.wait_hangup])


def record_conference(
    conf: Conference, path: str | os.PathLike[str], *, flush_ms: int = 1000, fsync: bool = False
) -> Recording:
    """Record a conference's full mix (mono) until it ends or :meth:`Recording.stop`."""
    calls = tuple(p.call for p in conf.participants)
    rec = Recording("conference", path, calls, stereo=False, flush_ms=flush_ms, fsync=fsync)
    conf.taps.append(rec._feed)

    def undo() -> None:
        with contextlib.suppress(ValueError):
            conf.taps.remove(rec._feed)

    rec._detach.append(undo)
    return rec._start([conf.wait_ended])
