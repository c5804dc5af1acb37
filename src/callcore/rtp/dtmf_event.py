"""RFC 4733 telephone-events (DTMF over RTP): payload codec, sender, receiver.

Payload (4 bytes): ``event(8) | E(1) | R(1) | volume(6) | duration(16)``;
events 0–9, ``*``=10, ``#``=11, ``A``–``D``=12–15.

:class:`DtmfSender` turns a digit into the timed packet train of §2.5.1:
marker on the first packet, one RTP timestamp for the whole event, duration
updates every ``interval``, the end packet (E=1, final duration) sent 3 times.

:class:`DtmfReceiver` turns packets into exactly one :class:`DtmfDigit` per
event. Events are told apart by RTP timestamp, so it survives loss of the
first packets, of the end packets (timeout or the next event ends it) and
retransmitted ends. A packet carrying the timestamp of an event that already
ended is a *new* event only after a silence gap since that end (``repeat_gap``
for an update, ``end_repeat_gap`` for another end packet); a shorter gap means
a late or retransmitted packet. That rule is what lets SIPp's packaged pcaps —
which replay a repeated digit with identical sequence numbers and timestamps —
yield each repetition once.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from .packet import RtpPacket, ts_diff

__all__ = [
    "DTMF_EVENTS",
    "DtmfBegin",
    "DtmfDigit",
    "DtmfError",
    "DtmfReceiver",
    "DtmfSender",
    "TelephoneEvent",
    "TimedPacket",
    "digit_to_event",
    "event_to_digit",
]

#: Digit for each RFC 4733 event code 0–15.
DTMF_EVENTS = "0123456789*#ABCD"
_EV = struct.Struct("!BBH")


class DtmfError(ValueError):
    """Invalid digit or telephone-event payload."""


def digit_to_event(digit: str) -> int:
    """Event code for a DTMF digit (``'*'`` → 10, ``'#'`` → 11, ``'A'`` → 12…)."""
    i = DTMF_EVENTS.find(digit.upper()) if len(digit) == 1 else -1
    if i < 0:
        raise DtmfError(f"not a DTMF digit: {digit!r}")
    return i


def event_to_digit(event: int) -> str:
    """DTMF digit for event code 0–15."""
    if not 0 <= event <= 15:
        raise DtmfError(f"telephone-event {event} is not a DTMF digit")
    return DTMF_EVENTS[event]


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One RFC 4733 event payload. ``duration`` is in RTP timestamp units."""

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    @property
    def digit(self) -> str:
        return event_to_digit(self.event)

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        """Decode a payload (the first event if several are stacked)."""
        if len(payload) < 4:
            raise DtmfError(f"telephone-event payload truncated: {len(payload)} bytes")
        ev, flags, duration = _EV.unpack_from(payload)
        return cls(ev, bool(flags & 0x80), flags & 0x3F, duration)

    def serialize(self) -> bytes:
        if not 0 <= self.event <= 255 or not 0 <= self.volume <= 63:
            raise DtmfError("event must be 0..255 and volume 0..63")
        if not 0 <= self.duration <= 0xFFFF:
            raise DtmfError("duration must fit 16 bits")
        return _EV.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)

    __bytes__ = serialize


@dataclass(frozen=True, slots=True)
class TimedPacket:
    """A packet to send ``at`` seconds after the event starts."""

    at: float
    packet: RtpPacket


class DtmfSender:
    """Builds the packet train for one digit (sans-IO: the caller sends on schedule)."""

    def __init__(
        self,
        ssrc: int,
        payload_type: int = 101,
        clock_rate: int = 8000,
        interval: float = 0.02,
        volume: int = 10,
        end_repeats: int = 3,
    ) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.interval = interval
        self.volume = volume
        self.end_repeats = end_repeats

    def packets(
        self, digit: str, *, sequence_number: int, timestamp: int, duration: float = 0.1
    ) -> list[TimedPacket]:
        """Packets for ``digit`` lasting ``duration`` seconds.

        Sequence numbers run on from ``sequence_number`` (mod 2**16); every
        packet carries ``timestamp``. The next free sequence number is
        ``(sequence_number + len(result)) & 0xFFFF``.
        """
        event = digit_to_event(digit)
        step = round(self.interval * self.clock_rate)
        total = round(duration * self.clock_rate)
        if total <= 0:
            raise DtmfError("duration must be positive")
        if total > 0xFFFF:
            raise DtmfError("events longer than 65535 timestamp units are not supported")
        n = max(1, math.ceil(total / step))
        out: list[TimedPacket] = []
        seq = sequence_number
        for k in range(n - 1):
            ev = TelephoneEvent(event, False, self.volume, (k + 1) * step)
            out.append(self._timed(k * self.interval, seq, timestamp, k == 0, ev))
            seq += 1
        end = TelephoneEvent(event, True, self.volume, total)
        for j in range(self.end_repeats):
            out.append(
                self._timed((n - 1 + j) * self.interval, seq, timestamp, n == 1 and j == 0, end)
            )
            seq += 1
        return out

    def _timed(self, at: float, seq: int, ts: int, marker: bool, ev: TelephoneEvent) -> TimedPacket:
        pkt = RtpPacket(
            payload_type=self.payload_type,
            sequence_number=seq & 0xFFFF,
            timestamp=ts & 0xFFFFFFFF,
            ssrc=self.ssrc,
            payload=ev.serialize(),
            marker=marker,
        )
        return TimedPacket(at, pkt)


@dataclass(frozen=True, slots=True)
class DtmfBegin:
    """A new event was seen (emitted once, on its first received packet)."""

    digit: str
    timestamp: int
    ssrc: int


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """One complete digit (emitted exactly once per event).

    ``duration`` is in timestamp units (the longest seen); ``end_seen`` is False
    when the event was closed by a timeout or by the next event because all
    its end packets were lost.
    """

    digit: str
    timestamp: int
    duration: int
    ssrc: int
    volume: int
    end_seen: bool = True

    def duration_seconds(self, clock_rate: int = 8000) -> float:
        return self.duration / clock_rate


class _Event:
    __slots__ = ("digit", "done", "duration", "last_end", "last_seen", "ssrc", "ts", "volume")

    def __init__(self, ssrc: int, ts: int, digit: str, now: float) -> None:
        self.ssrc = ssrc
        self.ts = ts
        self.digit = digit
        self.duration = 0
        self.volume = 0
        self.last_seen = now
        self.last_end = now
        self.done = False


DtmfOutput = DtmfBegin | DtmfDigit


class DtmfReceiver:
    """Turns RFC 4733 packets into digits (sans-IO, time injected).

    Call :meth:`receive` for each telephone-event packet and :meth:`handle_timer`
    when :meth:`get_timer` says so (it closes events whose end packets were all
    lost). ``payload_type=None`` accepts any payload type.
    """

    def __init__(
        self,
        payload_type: int | None = 101,
        clock_rate: int = 8000,
        repeat_gap: float = 0.05,
        end_repeat_gap: float = 0.2,
        timeout: float = 0.5,
    ) -> None:
        self.payload_type = payload_type
        self.clock_rate = clock_rate
        self.repeat_gap = repeat_gap
        self.end_repeat_gap = end_repeat_gap
        self.timeout = timeout
        self._cur: _Event | None = None
        #: packets ignored as malformed / non-DTMF events / duplicates or late
        self.malformed = 0
        self.ignored = 0
        self.duplicates = 0

    def receive(self, packet: RtpPacket, now: float) -> list[DtmfOutput]:
        """Feed one packet; return the begin/digit events it completes."""
        if self.payload_type is not None and packet.payload_type != self.payload_type:
            self.ignored += 1
            return []
        try:
            te = TelephoneEvent.parse(packet.payload)
        except DtmfError:
            self.malformed += 1
            return []
        if te.event > 15:
            self.ignored += 1
            return []
        out: list[DtmfOutput] = []
        cur = self._cur
        ts = packet.timestamp
        if cur is not None and cur.ssrc == packet.ssrc:
            if ts == cur.ts:
                if not cur.done:
                    self._update(cur, te, now, out)
                    return out
                if te.end:
                    if now - cur.last_end < self.end_repeat_gap:
                        cur.last_end = now  # retransmitted end
                        self.duplicates += 1
                        return out
                elif now - cur.last_end < self.repeat_gap:
                    self.duplicates += 1  # late update of the event that just ended
                    return out
                # same timestamp after a gap: the sender replays (SIPp pcaps)
            elif ts_diff(ts, cur.ts) < 0 and (not cur.done or now - cur.last_end < self.repeat_gap):
                self.duplicates += 1  # late packet of an older event
                return out
        if cur is not None and not cur.done:
            self._finish(cur, out, end_seen=False)
        cur = self._cur = _Event(packet.ssrc, ts, event_to_digit(te.event), now)
        out.append(DtmfBegin(cur.digit, ts, packet.ssrc))
        self._update(cur, te, now, out)
        return out

    def _update(self, cur: _Event, te: TelephoneEvent, now: float, out: list[DtmfOutput]) -> None:
        cur.last_seen = now
        if te.duration > cur.duration:
            cur.duration = te.duration
        cur.volume = te.volume
        if te.end:
            cur.last_end = now
            self._finish(cur, out, end_seen=True)

    def _finish(self, cur: _Event, out: list[DtmfOutput], end_seen: bool) -> None:
        cur.done = True
        out.append(DtmfDigit(cur.digit, cur.ts, cur.duration, cur.ssrc, cur.volume, end_seen))

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` should run next, or None."""
        cur = self._cur
        if cur is None or cur.done:
            return None
        return cur.last_seen + self.timeout

    def handle_timer(self, now: float) -> list[DtmfOutput]:
        """Close an event that got no packet for ``timeout`` seconds."""
        out: list[DtmfOutput] = []
        cur = self._cur
        if cur is not None and not cur.done and now >= cur.last_seen + self.timeout:
            cur.last_end = now
            self._finish(cur, out, end_seen=False)
        return out

    def flush(self) -> list[DtmfOutput]:
        """Close any event in progress (e.g. at hang-up)."""
        out: list[DtmfOutput] = []
        cur = self._cur
        if cur is not None and not cur.done:
            self._finish(cur, out, end_seen=False)
        return out
