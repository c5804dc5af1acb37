"""Adaptive jitter buffer (sans-IO): ``push(packet, now)`` on receive, ``pop(now)`` per tick.

How it plays out
----------------
* The first packet (or the first after a resync / talkspurt restart) waits
  ``target_delay`` seconds, then frames come out in timestamp order, one per
  ``pop`` (one ``ptime`` tick, normally 20 ms).
* Reordered packets are put back in order; duplicates and packets whose slot
  has already been played (late) are dropped and counted.
* A missing packet while later ones are buffered is a loss: it is concealed by
  repeating the last frame attenuated (``max_conceal`` times), then silence.
* An empty buffer is an underrun: the buffer conceals *and holds* its position,
  so a packet that is merely late still plays (the delay grows by one frame).
  If the next packet starts a talkspurt (marker bit) or is ahead by more than
  the target delay, playout re-anchors on it with the current target delay.
* The target delay follows the RFC 3550 interarrival jitter estimate:
  ``clamp(ptime + jitter_factor · J, min_delay, max_delay)``. When the buffered
  audio exceeds the target by more than two frames for ``shrink_after`` ticks
  in a row, one frame is dropped to bring the delay down.
* A new SSRC or a timestamp jump larger than ``resync_after`` seconds resets
  the buffer.

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
    dropped_overflow: int = 0
    resyncs: int = 0


_IDLE, _PLAYING = 0, 1


class JitterBuffer:
    """Adaptive jitter buffer for one RTP stream. All times are seconds."""

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
        return True

    # -- output -----------------------------------------------------------------
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
        ts = self._next_ts
        pkt = buf.pop(ts, None)
        if pkt is None:
            if buf:
                self._advance(ts)
                return self._conceal(ts, hold=False)
            self.stats.underruns += 1
            self._held += 1
            return self._conceal(ts, hold=True)
        self._advance(ts, played=True)
        self._held = 0
        self._run = 0
        self._last = pkt.payload
        self.stats.played += 1
        # shrink when persistently above target (depth and target in timestamp units)
        if buf and (
            ts_diff(self._highest, self._next_ts) + self.frame_samples
            > self._target_samples() + 2 * self.frame_samples
        ):
            self._over += 1
            if self._over >= self.shrink_after:
                self._over = 0
                nxt = self._next_ts
                if buf.pop(nxt, None) is not None:
                    self.stats.dropped_overflow += 1
                self._advance(nxt)
        else:
            self._over = 0
        return Frame(FrameKind.AUDIO, pkt.payload, ts, pkt.sequence_number, 1.0, pkt.marker)

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
