"""Adaptive jitter buffer (sans-IO): ``push(packet, now)`` on receive, ``pop(now)`` per tick.

How it plays out
----------------
* The first packet (or the first after a resync / talkspurt restart) waits
  ``target_delay`` seconds, then frames come out in timestamp order, one per
  ``pop`` (one ``ptime`` tick, normally 20 ms).
* Reordered packets are put back in order; duplicates and packets whose slot
  has already been played (late) are dropped and counted.
* A missing packet while later ones are buffered is a loss: it is concealed by
  repeating the last frame attenuated (``max_conceal`` times), then silence
  (or skipped while the buffer holds more than the target delay, see below).
* An empty buffer is an underrun: the buffer conceals *and holds* its position,
  so a packet that is merely late still plays (the delay grows by one frame).
  If the next packet starts a talkspurt (marker bit) or is ahead by more than
  the target delay, playout re-anchors on it with the current target delay.
* The target delay follows the RFC 3550 interarrival jitter estimate:
  ``clamp(ptime + jitter_factor · J, min_delay, max_delay)``.
* A new SSRC or a timestamp jump larger than ``resync_after`` seconds resets
  the buffer.

How the delay is kept at the target
-----------------------------------
The playout delay is the buffered audio ahead of the playout point
(:attr:`JitterBuffer.depth`, measured after each ``pop``): whatever the buffer
holds beyond the target is delay added to every frame that follows, for good,
unless frames are dropped. These rules drop the *oldest* frames (counted in
``stats.dropped_overflow``; a missing slot among them is skipped, not
concealed, and a packet that turns up for it later counts as late):

1. **Skipped ticks.** A driver whose clock fell behind and skipped ``n``
   ticks (a media clock skips ahead rather than bursting) says so with
   :meth:`JitterBuffer.skip` before its next ``pop``: the frames whose playout
   slots passed are dropped (also counted in ``stats.skipped``), so a stall
   costs its length of audio once instead of adding it to the delay. The
   newest buffered frame is kept for the ``pop``, and an empty buffer holds
   its position as in any underrun. The buffer does not guess this from the
   times it is popped at: only the clock knows its own schedule.
2. **Hard bound.** When, after a ``pop``, the buffer holds more than
   ``max_excess`` frames above the target (a burst after a network stall, late
   pops of a driver that does not call ``skip``), the excess is dropped at
   once, down to the smallest whole number of frames that covers the target.
3. **Convergence.** When the newest packet's playout delay — the time it
   has waited so far plus the audio ahead of it, i.e. the real delay, phase
   of the ticks included — is at least one frame above the target for
   ``shrink_after`` pops in a row (the 40 ms initial delay on a stream whose
   jitter asks for 20–30 ms, say), one frame is dropped: the delay settles
   within a frame above the target.
4. **Losses first.** A lost slot (later packets are buffered) is skipped
   instead of concealed while the audio behind it still covers the target,
   and rules 2 and 3 leave the missing slots in the buffer to that: the delay
   comes down without dropping audio that arrived.

Reordering and jitter within the target are untouched: the rules run in
``pop`` (a reordered packet only has to beat its slot), they never take the
delay below the target, and the target itself grows with the measured jitter.

The buffer is codec-agnostic: concealment goes through a small
:class:`Concealer` policy (:class:`RepeatConcealer` by default, which can
attenuate G.711 and L16 payloads).
"""

from __future__ import annotations

import audioop
import enum
from dataclasses import dataclass
from typing import ClassVar, NamedTuple, Protocol

from .packet import RtpPacket, ts_diff

__all__ = [
    "Concealer",
    "Frame",
    "FrameKind",
    "JitterBuffer",
    "JitterStats",
    "RepeatConcealer",
]


class FrameKind(enum.Enum):
    AUDIO = "audio"
    CONCEALED = "concealed"
    SILENCE = "silence"


class Frame(NamedTuple):
    """One tick of playout (an immutable named tuple: cheap on the per-tick path).

    ``timestamp`` is the RTP timestamp of the slot; ``gain`` is 1.0 for audio,
    the attenuation applied for a concealed frame, 0.0 for silence.
    """

    kind: FrameKind
    payload: bytes
    timestamp: int
    sequence_number: int | None = None
    gain: float = 1.0
    marker: bool = False


_tuple_new = tuple.__new__  # Frame(...) without the generated __new__ and its defaults
_AUDIO = FrameKind.AUDIO


class Concealer(Protocol):
    """Policy that makes the payload for a concealed or silent frame."""

    def conceal(self, last: bytes, gain: float) -> bytes: ...

    def silence(self, last: bytes) -> bytes: ...


class RepeatConcealer:
    """Repeat the last payload scaled by ``gain``.

    ``codec`` is ``"pcmu"``, ``"pcma"``, ``"l16"`` (big-endian 16-bit, as RTP
    carries it) or ``None`` for opaque payloads, which are repeated unchanged
    (``Frame.gain`` still says how much to attenuate after decoding).
    """

    _SILENCE: ClassVar[dict[str, int]] = {"pcmu": 0xFF, "pcma": 0xD5, "l16": 0}

    def __init__(self, codec: str | None = "pcmu") -> None:
        if codec is not None and codec not in self._SILENCE:
            raise ValueError(f"unknown codec {codec!r}")
        self.codec = codec

    def conceal(self, last: bytes, gain: float) -> bytes:
        c = self.codec
        if c == "pcmu":
            return audioop.lin2ulaw(audioop.mul(audioop.ulaw2lin(last, 2), 2, gain), 2)
        if c == "pcma":
            return audioop.lin2alaw(audioop.mul(audioop.alaw2lin(last, 2), 2, gain), 2)
        if c == "l16":
            le = audioop.byteswap(last, 2)
            return audioop.byteswap(audioop.mul(le, 2, gain), 2)
        return last

    def silence(self, last: bytes) -> bytes:
        if self.codec is None:
            return b""
        return bytes((self._SILENCE[self.codec],)) * len(last)


@dataclass(slots=True)
class JitterStats:
    """Counters (cumulative)."""

    received: int = 0
    played: int = 0
    duplicates: int = 0
    late: int = 0
    concealed: int = 0
    silence: int = 0
    underruns: int = 0
    #: frames that arrived but were dropped unplayed to keep the delay at the target
    dropped_overflow: int = 0
    #: of those, frames of ticks the caller skipped (:meth:`JitterBuffer.skip`)
    skipped: int = 0
    resyncs: int = 0


_IDLE, _PLAYING = 0, 1


class JitterBuffer:
    """Adaptive jitter buffer for one RTP stream. All times are seconds.

    ``max_excess`` (buffered frames above the target before the excess is
    dropped at once) and ``shrink_after`` (pops with the delay at least one
    frame above the target before one frame is dropped) tune how the delay is
    kept at the target.
    """

    def __init__(
        self,
        clock_rate: int = 8000,
        ptime: float = 0.02,
        min_delay: float = 0.02,
        max_delay: float = 0.2,
        initial_delay: float = 0.04,
        jitter_factor: float = 3.0,
        max_conceal: int = 3,
        attenuation: float = 0.5,
        shrink_after: int = 10,
        max_excess: int = 2,
        resync_after: float = 1.0,
        concealer: Concealer | None = None,
    ) -> None:
        if not 0 < min_delay <= max_delay:
            raise ValueError("need 0 < min_delay <= max_delay")
        self.clock_rate = clock_rate
        self.ptime = ptime
        self.frame_samples = round(clock_rate * ptime)
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.jitter_factor = jitter_factor
        self.max_conceal = max_conceal
        self.attenuation = attenuation
        self.shrink_after = shrink_after
        self.max_excess = max_excess
        self.resync_samples = round(resync_after * clock_rate)
        self.concealer: Concealer = concealer or RepeatConcealer()
        self.stats = JitterStats()
        self._initial_delay = min(max(initial_delay, min_delay), max_delay)
        self._buf: dict[int, RtpPacket] = {}
        self._played: dict[int, None] = {}
        self._reset(None)

    def _reset(self, ssrc: int | None) -> None:
        self._buf.clear()
        self._played.clear()
        self._ssrc = ssrc
        self._state = _IDLE
        self._next_ts = 0
        self._highest = 0
        self._highest_at = 0.0  # when the newest packet arrived
        self._start_at = 0.0
        self._prev_transit: float | None = None
        self._jitter = 0.0
        self._have_jitter = False
        self._last = b""
        self._run = 0
        self._held = 0
        self._over = 0

    # -- figures ----------------------------------------------------------------
    @property
    def jitter(self) -> float:
        """Interarrival jitter estimate in seconds."""
        return self._jitter / self.clock_rate

    @property
    def target_delay(self) -> float:
        """Playout delay the buffer aims for, in seconds."""
        if not self._have_jitter:
            return self._initial_delay
        t = self.ptime + self.jitter_factor * self._jitter / self.clock_rate
        return min(max(t, self.min_delay), self.max_delay)

    def _target_samples(self) -> float:
        return self.target_delay * self.clock_rate

    @property
    def depth(self) -> float:
        """Buffered audio ahead of the playout point, in seconds."""
        if not self._buf:
            return 0.0
        if self._state == _IDLE:
            return len(self._buf) * self.ptime
        return (ts_diff(self._highest, self._next_ts) + self.frame_samples) / self.clock_rate

    # -- input ------------------------------------------------------------------
    def push(self, packet: RtpPacket, now: float) -> bool:
        """Buffer a packet; False if it was dropped (duplicate, late)."""
        ts = packet.timestamp
        if packet.ssrc == self._ssrc and self._state == _PLAYING:
            # the usual case — a new packet for a slot still ahead, no re-anchoring due:
            # the general path below, with its branches that cannot apply left out
            buf = self._buf
            d = ((ts - self._next_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            if 0 <= d <= self.resync_samples and (buf or not self._held) and ts not in buf:
                self.stats.received += 1
                transit = now * self.clock_rate - ts
                prev = self._prev_transit
                self._prev_transit = transit
                if prev is not None:
                    d = transit - prev
                    if d < 0:
                        d = -d
                    if d < self.resync_samples:
                        self._jitter += (d - self._jitter) / 16.0
                        self._have_jitter = True
                buf[ts] = packet
                if (
                    len(buf) == 1
                    or ((ts - self._highest + 0x80000000) & 0xFFFFFFFF) - 0x80000000 > 0
                ):
                    self._highest = ts
                    self._highest_at = now
                return True
        if packet.ssrc != self._ssrc:
            if self._ssrc is not None:
                self.stats.resyncs += 1
            self._reset(packet.ssrc)
        self.stats.received += 1
        transit = now * self.clock_rate - ts
        prev = self._prev_transit
        self._prev_transit = transit
        if prev is not None:
            d = transit - prev
            if d < 0:
                d = -d
            if d < self.resync_samples:
                self._jitter += (d - self._jitter) / 16.0
                self._have_jitter = True
        buf = self._buf
        if self._state == _PLAYING:
            d = ts_diff(ts, self._next_ts)
            if d < 0:
                if -d > self.resync_samples:
                    return self._restart(packet, now)
                if ts in self._played:
                    self.stats.duplicates += 1
                else:
                    self.stats.late += 1
                return False
            if d > self.resync_samples:
                return self._restart(packet, now)
            if (
                not buf
                and self._held
                and (packet.marker or d >= self.target_delay * self.clock_rate)
            ):
                # talkspurt (re)start after an underrun: re-anchor on this packet
                self._state = _IDLE
                self._start_at = now + self.target_delay
                self._held = 0
        elif not buf:
            self._start_at = now + self.target_delay
        if ts in buf:
            self.stats.duplicates += 1
            return False
        buf[ts] = packet
        if len(buf) == 1 or ts_diff(ts, self._highest) > 0:
            self._highest = ts
            self._highest_at = now
        return True

    def _restart(self, packet: RtpPacket, now: float) -> bool:
        self.stats.resyncs += 1
        self._buf.clear()
        self._played.clear()
        self._state = _IDLE
        self._held = 0
        self._start_at = now + self.target_delay
        self._buf[packet.timestamp] = packet
        self._highest = packet.timestamp
        self._highest_at = now
        return True

    # -- output -----------------------------------------------------------------
    def skip(self, n: int) -> None:
        """``n`` ticks passed without a ``pop`` (the caller's clock fell behind and
        skipped them): drop the frames that were due in them.

        Call it before the next ``pop``. The newest buffered frame is kept for that
        ``pop``; an empty buffer (an underrun) keeps holding its position.
        """
        if n > 0 and self._state == _PLAYING and self._buf:
            self.stats.skipped += self._drop(n, keep_newest=True)

    def pop(self, now: float) -> Frame | None:
        """The frame for this tick, or None while (re)buffering."""
        buf = self._buf
        if self._state == _IDLE:
            if not buf or now < self._start_at:
                if self._last and self._run:
                    return self._conceal(self._next_ts, hold=True)
                return None
            ref = next(iter(buf))
            lowest = min(buf, key=lambda t: ts_diff(t, ref))
            self._next_ts = lowest
            self._state = _PLAYING
            self._held = 0
        fs = self.frame_samples
        ts = self._next_ts
        pkt = buf.pop(ts, None)
        if pkt is None and buf:
            # a loss: skip the slot rather than conceal it while the audio left after
            # the next frame still covers the target (a free way down to the target)
            cover = self._target_samples() + fs - 1
            while pkt is None and ts_diff(self._highest, ts) >= cover:
                ts = (ts + fs) & 0xFFFFFFFF
                pkt = buf.pop(ts, None)
            self._next_ts = ts
        if pkt is None:
            if buf:
                self._advance(ts)
                return self._conceal(ts, hold=False)
            self.stats.underruns += 1
            self._held += 1
            return self._conceal(ts, hold=True)
        # _advance(ts, played=True), inlined
        record = self._played
        record[ts] = None
        if len(record) > 64:
            del record[next(iter(record))]
        next_ts = self._next_ts = (ts + fs) & 0xFFFFFFFF
        self._held = 0
        self._run = 0
        payload = self._last = pkt.payload
        self.stats.played += 1
        if buf:
            # buffered audio beyond the target, in timestamp units; the missing slots
            # in it will be skipped as losses when they come up, if still missing
            span = (((self._highest - next_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000) + fs
            # _target_samples(), inlined (same arithmetic)
            if self._have_jitter:
                t = self.ptime + self.jitter_factor * self._jitter / self.clock_rate
                if t < self.min_delay:
                    t = self.min_delay
                elif t > self.max_delay:
                    t = self.max_delay
                excess = span - t * self.clock_rate
            else:
                excess = span - self._initial_delay * self.clock_rate
            if excess > self.max_excess * fs:  # far above: drop the excess now
                self._over = 0
                self._drop(int((excess + 1) // fs) - (span // fs - len(buf)))
            elif excess + (now - self._highest_at) * self.clock_rate >= fs - 1:
                # the newest packet's playout delay (what it has waited so far, plus the
                # audio ahead of it) is a frame above the target: one could go
                self._over += 1
                if self._over >= self.shrink_after and span // fs == len(buf):
                    self._over = 0
                    self._drop(1)
            else:
                self._over = 0
        else:
            self._over = 0
        return _tuple_new(Frame, (_AUDIO, payload, ts, pkt.sequence_number, 1.0, pkt.marker))

    def _drop(self, n: int, keep_newest: bool = False) -> int:
        """Skip the ``n`` oldest slots (stopping short of the newest buffered
        packet if ``keep_newest``); the number of buffered frames dropped."""
        buf = self._buf
        fs = self.frame_samples
        ts = self._next_ts
        stop = self._highest
        dropped = 0
        while n > 0 and buf and (not keep_newest or ts_diff(stop, ts) > 0):
            if buf.pop(ts, None) is not None:
                dropped += 1
            ts = (ts + fs) & 0xFFFFFFFF
            n -= 1
        self._next_ts = ts
        self.stats.dropped_overflow += dropped
        return dropped

    def _advance(self, ts: int, played: bool = False) -> None:
        if played:
            record = self._played
            record[ts] = None
            if len(record) > 64:
                del record[next(iter(record))]
        self._next_ts = (ts + self.frame_samples) & 0xFFFFFFFF

    def _conceal(self, ts: int, hold: bool) -> Frame:
        last = self._last
        self._run += 1
        if last and self._run <= self.max_conceal:
            self.stats.concealed += 1
            gain = self.attenuation**self._run
            return Frame(FrameKind.CONCEALED, self.concealer.conceal(last, gain), ts, None, gain)
        self.stats.silence += 1
        return Frame(FrameKind.SILENCE, self.concealer.silence(last), ts, None, 0.0)
