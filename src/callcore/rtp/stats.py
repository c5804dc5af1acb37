"""Per-stream RTP statistics as RFC 3550 appendix A computes them, plus a MOS estimate.

* :class:`ReceiverStats` — sequence validation with probation (A.1), expected
  and lost packets, fraction lost since the last report (A.3), interarrival
  jitter (A.8, in arrival order), LSR/DLSR bookkeeping; builds report blocks.
* :class:`SenderStats` — packet/octet counts and the SR timestamps.
* :func:`round_trip_time` — RTT from a received report block (§6.4.1).
* :func:`estimate_mos` — the simplified E-model (see docs/rtp.md).

Everything is sans-IO: the caller passes ``now`` (seconds, any monotonic or
wall clock; SR/RR NTP fields need wall-clock Unix time).
"""

from __future__ import annotations

from .packet import RtpPacket
from .rtcp import ReportBlock, SenderReport, ntp_from_unix, ntp_middle32

__all__ = [
    "MAX_DROPOUT",
    "MAX_MISORDER",
    "MIN_SEQUENTIAL",
    "ReceiverStats",
    "SenderStats",
    "estimate_mos",
    "r_factor",
    "round_trip_time",
]

RTP_SEQ_MOD = 1 << 16
MAX_DROPOUT = 3000
MAX_MISORDER = 100
MIN_SEQUENTIAL = 2


class _Source:
    """RFC 3550 A.1 per-source sequence state."""

    __slots__ = (
        "bad_seq",
        "base_seq",
        "cycles",
        "expected_prior",
        "jitter",
        "max_seq",
        "probation",
        "received",
        "received_prior",
        "ssrc",
        "transit",
    )

    def __init__(self, ssrc: int, seq: int) -> None:
        self.ssrc = ssrc
        self._init_seq(seq)
        self.max_seq = (seq - 1) & 0xFFFF
        self.probation = MIN_SEQUENTIAL
        self.jitter = 0.0
        self.transit: float | None = None

    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = RTP_SEQ_MOD + 1
        self.cycles = 0
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0

    def update_seq(self, seq: int) -> bool:
        udelta = (seq - self.max_seq) & 0xFFFF
        if self.probation:
            if seq == (self.max_seq + 1) & 0xFFFF:
                self.probation -= 1
                self.max_seq = seq
                if self.probation == 0:
                    self._init_seq(seq)
                    self.received += 1
                    return True
            else:
                self.probation = MIN_SEQUENTIAL - 1
                self.max_seq = seq
            return False
        if udelta < MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += RTP_SEQ_MOD
            self.max_seq = seq
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            if seq == self.bad_seq:
                # two sequential packets after a big jump: the source restarted
                self._init_seq(seq)
                self.transit = None
            else:
                self.bad_seq = (seq + 1) & 0xFFFF
                return False
        # else: duplicate or reordered packet, counted as received
        self.received += 1
        return True


class ReceiverStats:
    """Receive statistics for one RTP stream (one SSRC at a time).

    A new SSRC is on probation (``MIN_SEQUENTIAL`` sequential packets) before it
    replaces the current source; then all counters restart for it.
    """

    def __init__(self, clock_rate: int = 8000) -> None:
        self.clock_rate = clock_rate
        self._src: _Source | None = None
        self._candidate: _Source | None = None
        self._lsr = 0
        self._lsr_time: float | None = None
        self.ssrc_changes = 0

    # -- input ---------------------------------------------------------------
    def update(self, ssrc: int, seq: int, timestamp: int, now: float) -> bool:
        """Account for one received packet; return True if it is valid (counted)."""
        src = self._src
        if src is not None and ssrc == src.ssrc:
            max_seq = src.max_seq
            if (seq - max_seq) & 0xFFFF < MAX_DROPOUT:
                # the usual case, in order (or a small gap) from the current source:
                # update_seq() and _jitter() inlined, same arithmetic
                if seq < max_seq:
                    src.cycles += RTP_SEQ_MOD
                src.max_seq = seq
                src.received += 1
                transit = now * self.clock_rate - timestamp
                prev = src.transit
                src.transit = transit
                if prev is not None:
                    d = transit - prev
                    if d > 2147483648.0:
                        d -= 4294967296.0
                    elif d < -2147483648.0:
                        d += 4294967296.0
                    if d < 0:
                        d = -d
                    src.jitter += (d - src.jitter) / 16.0
                return True
        if src is None or ssrc != src.ssrc:
            cand = self._candidate
            if cand is None or cand.ssrc != ssrc:
                cand = self._candidate = _Source(ssrc, seq)
            if not cand.update_seq(seq):
                return False
            if src is not None:
                self.ssrc_changes += 1
                self._lsr, self._lsr_time = 0, None
            self._src = src = cand
            self._candidate = None
            self._jitter(src, timestamp, now)
            return True
        if not src.update_seq(seq):
            return False
        self._jitter(src, timestamp, now)
        return True

    def on_packet(self, packet: RtpPacket, now: float) -> bool:
        """Shorthand for :meth:`update` with a parsed packet."""
        return self.update(packet.ssrc, packet.sequence_number, packet.timestamp, now)

    def _jitter(self, src: _Source, timestamp: int, now: float) -> None:
        transit = now * self.clock_rate - timestamp
        prev = src.transit
        src.transit = transit
        if prev is not None:
            d = transit - prev
            # 32-bit timestamp wrap between the two packets
            if d > 2147483648.0:
                d -= 4294967296.0
            elif d < -2147483648.0:
                d += 4294967296.0
            if d < 0:
                d = -d
            src.jitter += (d - src.jitter) / 16.0

    def on_sender_report(self, sr: SenderReport, now: float) -> None:
        """Remember an SR from the current source for LSR/DLSR."""
        if self._src is not None and sr.ssrc == self._src.ssrc:
            self._lsr = ntp_middle32(sr.ntp_timestamp)
            self._lsr_time = now

    # -- figures ---------------------------------------------------------------
    @property
    def ssrc(self) -> int | None:
        return self._src.ssrc if self._src else None

    @property
    def received(self) -> int:
        return self._src.received if self._src else 0

    @property
    def extended_highest(self) -> int:
        s = self._src
        return s.cycles + s.max_seq if s else 0

    @property
    def expected(self) -> int:
        s = self._src
        return s.cycles + s.max_seq - s.base_seq + 1 if s else 0

    @property
    def lost(self) -> int:
        """Cumulative packets lost (negative when duplicates outnumber losses)."""
        return self.expected - self.received

    @property
    def loss_percent(self) -> float:
        exp = self.expected
        return max(0.0, 100.0 * self.lost / exp) if exp > 0 else 0.0

    @property
    def jitter(self) -> float:
        """Interarrival jitter in timestamp units."""
        return self._src.jitter if self._src else 0.0

    @property
    def jitter_seconds(self) -> float:
        return self.jitter / self.clock_rate

    def report_block(self, now: float) -> ReportBlock | None:
        """A report block for the current source; resets the fraction-lost interval."""
        s = self._src
        if s is None:
            return None
        expected = self.expected
        exp_int = expected - s.expected_prior
        s.expected_prior = expected
        rec_int = s.received - s.received_prior
        s.received_prior = s.received
        lost_int = exp_int - rec_int
        fraction = 0 if exp_int == 0 or lost_int <= 0 else (lost_int << 8) // exp_int
        dlsr = 0
        if self._lsr_time is not None:
            dlsr = max(0, int((now - self._lsr_time) * 65536)) & 0xFFFFFFFF
        return ReportBlock(
            ssrc=s.ssrc,
            fraction_lost=min(fraction, 255),
            packets_lost=max(-0x800000, min(0x7FFFFF, expected - s.received)),
            highest_sequence=self.extended_highest & 0xFFFFFFFF,
            jitter=int(s.jitter),
            lsr=self._lsr,
            dlsr=dlsr,
        )


class SenderStats:
    """What an SR needs: counts and the RTP/NTP timestamp pair."""

    def __init__(self, clock_rate: int = 8000) -> None:
        self.clock_rate = clock_rate
        self.packet_count = 0
        self.octet_count = 0
        self._last_ts: int | None = None
        self._last_time = 0.0

    def on_sent(self, packet: RtpPacket, now: float) -> None:
        self.packet_count += 1
        self.octet_count += len(packet.payload)
        self._last_ts = packet.timestamp
        self._last_time = now

    def add_forwarded(self, packets: int, octets: int, timestamp: int, when: float) -> None:
        """Account for ``packets`` relayed; ``when`` (Unix time; 0 if none of them was
        newer than what was sent before, e.g. late ones) and ``timestamp`` are the newest's:
        only they move the SR's RTP/NTP pair."""
        self.packet_count += packets
        self.octet_count += octets
        if when:
            self._last_ts = timestamp
            self._last_time = when

    @property
    def active(self) -> bool:
        """True once something was sent (an SR rather than an RR is due)."""
        return self._last_ts is not None

    def sender_report(
        self, ssrc: int, now: float, reports: tuple[ReportBlock, ...] = ()
    ) -> SenderReport:
        """An SR for wall-clock Unix time ``now`` (RTP time extrapolated from the last packet)."""
        rtp_ts = 0
        if self._last_ts is not None:
            rtp_ts = (self._last_ts + round((now - self._last_time) * self.clock_rate)) & 0xFFFFFFFF
        return SenderReport(
            ssrc, ntp_from_unix(now), rtp_ts, self.packet_count, self.octet_count, reports
        )


def round_trip_time(block: ReportBlock, now: float) -> float | None:
    """RTT in seconds from a report block about *our* stream received at Unix time ``now``.

    ``None`` when the peer has not seen an SR from us yet (LSR = 0).
    """
    if block.lsr == 0:
        return None
    a = ntp_middle32(ntp_from_unix(now))
    d = (a - block.lsr - block.dlsr) & 0xFFFFFFFF
    if d >= 0x80000000:  # clock skew made it negative
        return 0.0
    return d / 65536.0


def r_factor(rtt_ms: float, jitter_ms: float, loss_percent: float) -> float:
    """Simplified E-model R factor (REFERENCE.md formula), clamped to [0, 100]."""
    eff = rtt_ms + 2.0 * jitter_ms + 10.0
    r = 93.2 - eff / 40.0 if eff < 160.0 else 93.2 - (eff - 120.0) / 10.0
    r -= 2.5 * loss_percent
    return max(0.0, min(100.0, r))


def estimate_mos(rtt_ms: float, jitter_ms: float, loss_percent: float) -> float:
    """MOS (1.0–4.5) from RTT, jitter (both ms) and loss (%), via :func:`r_factor`."""
    r = r_factor(rtt_ms, jitter_ms, loss_percent)
    return 1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
