"""Sans-IO RTP session: one local SSRC, one remote stream, RTCP reports.

The asyncio endpoint (:mod:`callcore.net.rtp_socket`) only moves datagrams;
this object numbers outgoing packets, keeps sender/receiver statistics, builds
SR/RR + SDES compounds, learns RTT from the peer's report blocks and LSR from
its SRs. ``now`` is wall-clock Unix time (SR NTP fields and RTT need it).
"""

from __future__ import annotations

import random

from .packet import RtpError, RtpPacket
from .packet import _pack_hdr as _pack_header
from .rtcp import (
    Bye,
    ReceiverReport,
    RtcpError,
    RtcpPacket,
    Sdes,
    SenderReport,
    build_compound,
    parse_rtcp,
)
from .stats import ReceiverStats, SenderStats, estimate_mos, round_trip_time

__all__ = ["RtpSession"]

_new = object.__new__
_parse = RtpPacket.parse


class RtpSession:
    """State of one RTP session (sans-IO)."""

    def __init__(
        self,
        ssrc: int | None = None,
        clock_rate: int = 8000,
        cname: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._rng = rng or random.Random()
        self.ssrc = ssrc if ssrc is not None else self._rng.getrandbits(32)
        self.clock_rate = clock_rate
        self.cname = cname or f"callcore-{self.ssrc:08x}"
        self.receiver = ReceiverStats(clock_rate)
        self.sender = SenderStats(clock_rate)
        self._seq = self._rng.getrandbits(16)
        #: last RTT in seconds measured from the peer's report blocks (None until known)
        self.rtt: float | None = None
        self.invalid_rtp = 0
        self.invalid_rtcp = 0
        self.sr_received = 0
        self.rr_received = 0
        self.bye_received = False
        # forwarding (see forward()): the stream being relayed and its offsets into ours
        self._fwd_from: object = None
        self._fwd_ssrc = 0
        self._fwd_seq = 0
        self._fwd_ts = 0

    # -- sending ------------------------------------------------------------
    def next_sequence(self) -> int:
        seq = self._seq
        self._seq = (seq + 1) & 0xFFFF
        return seq

    def build_rtp(
        self, payload: bytes, *, payload_type: int, timestamp: int, marker: bool, now: float
    ) -> RtpPacket:
        """A packet from this session's SSRC with the next sequence number."""
        seq = self._seq
        self._seq = (seq + 1) & 0xFFFF
        pkt = _new(RtpPacket)  # the fields set directly: cheaper than the dataclass __init__
        pkt.payload_type = payload_type
        pkt.sequence_number = seq
        pkt.timestamp = timestamp & 0xFFFFFFFF
        pkt.ssrc = self.ssrc
        pkt.payload = payload
        pkt.marker = marker
        pkt.csrc = ()
        pkt.extension_profile = None
        pkt.extension_data = b""
        pkt.padding_size = 0
        self.sender.on_sent(pkt, now)
        self._fwd_from = None  # a packet of our own: forwarding re-anchors afterwards
        return pkt

    def on_sent(self, packet: RtpPacket, now: float) -> None:
        """Account for a packet built elsewhere (e.g. by a DTMF sender)."""
        self.sender.on_sent(packet, now)
        self._fwd_from = None

    def forward(
        self,
        origin: object,
        packet: RtpPacket,
        payload: bytes,
        payload_type: int,
        next_timestamp: int,
        now: float,
    ) -> tuple[bytes, int]:
        """Wire form of ``packet`` (received elsewhere) relayed as part of our stream,
        with ``payload`` (possibly transcoded) and ``payload_type``; returns it and its
        timestamp.

        The first packet from a new ``origin`` (any object naming where the stream
        comes from) or SSRC is *anchored*: it gets our next sequence number and
        ``next_timestamp`` and the marker bit (RFC 3550 §5.1: a discontinuity). After
        that each packet keeps its sequence and timestamp distance from the anchor, so
        loss, reordering and silence gaps reach the far end as they happened, and our
        own counters continue past the newest packet. Any packet we build ourselves
        (:meth:`build_rtp`, :meth:`on_sent`) ends the run: the next forwarded packet
        is anchored again.
        """
        seq, ts = packet.sequence_number, packet.timestamp
        marker = packet.marker
        if origin is not self._fwd_from or packet.ssrc != self._fwd_ssrc:
            self._fwd_from, self._fwd_ssrc = origin, packet.ssrc
            self._fwd_seq = (self._seq - seq) & 0xFFFF
            self._fwd_ts = (next_timestamp - ts) & 0xFFFFFFFF
            marker = True
        out_seq = (seq + self._fwd_seq) & 0xFFFF
        out_ts = (ts + self._fwd_ts) & 0xFFFFFFFF
        newest = (out_seq - self._seq) & 0xFFFF < 0x8000  # seq_diff >= 0: not a late one
        if newest:
            self._seq = (out_seq + 1) & 0xFFFF
        self.sender.add_forwarded(1, len(payload), out_ts, now if newest else 0.0)
        head = _pack_header(
            0x80, (0x80 if marker else 0) | payload_type, out_seq, out_ts, self.ssrc
        )
        return head + payload, out_ts

    # -- receiving ------------------------------------------------------------
    def on_rtp(self, data: bytes, now: float) -> RtpPacket | None:
        """Parse and account for a received RTP datagram (None if invalid)."""
        try:
            pkt = _parse(data)
        except RtpError:
            self.invalid_rtp += 1
            return None
        self.receiver.update(pkt.ssrc, pkt.sequence_number, pkt.timestamp, now)
        return pkt

    def on_rtcp(self, data: bytes, now: float) -> list[RtcpPacket]:
        """Parse a received RTCP compound; update LSR and RTT."""
        try:
            parts = parse_rtcp(data)
        except RtcpError:
            self.invalid_rtcp += 1
            return []
        for p in parts:
            if isinstance(p, SenderReport):
                self.sr_received += 1
                self.receiver.on_sender_report(p, now)
                self._blocks(p.reports, now)
            elif isinstance(p, ReceiverReport):
                self.rr_received += 1
                self._blocks(p.reports, now)
            elif isinstance(p, Bye):
                self.bye_received = True
        return parts

    def _blocks(self, blocks, now: float) -> None:
        for b in blocks:
            if b.ssrc == self.ssrc:
                rtt = round_trip_time(b, now)
                if rtt is not None:
                    self.rtt = rtt

    # -- RTCP -------------------------------------------------------------------
    def rtcp_report(self, now: float) -> bytes:
        """SR (if we sent media) or RR, plus SDES CNAME, as one compound."""
        block = self.receiver.report_block(now)
        blocks = (block,) if block is not None else ()
        if self.sender.active:
            first: RtcpPacket = self.sender.sender_report(self.ssrc, now, blocks)
        else:
            first = ReceiverReport(self.ssrc, blocks)
        return build_compound([first, Sdes.with_cname(self.ssrc, self.cname)])

    def rtcp_bye(self, now: float, reason: str | None = None) -> bytes:
        """Final report + BYE compound."""
        block = self.receiver.report_block(now)
        rr = ReceiverReport(self.ssrc, (block,) if block is not None else ())
        return build_compound(
            [rr, Sdes.with_cname(self.ssrc, self.cname), Bye((self.ssrc,), reason)]
        )

    def rtcp_interval(self, base: float) -> float:
        """Next report interval: ``base`` randomized to [0.5, 1.5]× (RFC 3550 §6.3.1)."""
        return base * (0.5 + self._rng.random())

    def mos(self) -> float:
        """MOS estimate of the received stream (RTT 0 until measured)."""
        rtt_ms = (self.rtt or 0.0) * 1000.0
        return estimate_mos(
            rtt_ms, self.receiver.jitter_seconds * 1000.0, self.receiver.loss_percent
        )
