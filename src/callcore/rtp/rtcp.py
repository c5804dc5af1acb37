"""RTCP packets (RFC 3550 §6): SR, RR, SDES, BYE and compound packets.

``parse_rtcp(data)`` splits a compound packet into its parts; unknown packet
types (APP, XR, feedback…) come back as :class:`RtcpUnknown` with their raw
body. ``build_compound(parts)`` concatenates serialized parts. NTP helpers
convert between Unix time and the 64-bit NTP timestamps SR/RR use.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from .packet import RtpError

__all__ = [
    "NTP_EPOCH_OFFSET",
    "RTCP_BYE",
    "RTCP_RR",
    "RTCP_SDES",
    "RTCP_SR",
    "SDES_CNAME",
    "Bye",
    "ReceiverReport",
    "ReportBlock",
    "RtcpError",
    "RtcpPacket",
    "RtcpUnknown",
    "Sdes",
    "SdesChunk",
    "SenderReport",
    "build_compound",
    "ntp_from_unix",
    "ntp_middle32",
    "parse_rtcp",
    "unix_from_ntp",
]

RTCP_SR = 200
RTCP_RR = 201
RTCP_SDES = 202
RTCP_BYE = 203
SDES_CNAME = 1

#: Seconds between the NTP epoch (1900) and the Unix epoch (1970).
NTP_EPOCH_OFFSET = 2_208_988_800

_HDR = struct.Struct("!BBH")
_BLOCK = struct.Struct("!IIIIII")
_SR = struct.Struct("!IIIIII")


class RtcpError(RtpError):
    """The bytes are not a valid RTCP packet."""


def ntp_from_unix(t: float) -> int:
    """64-bit NTP timestamp (32.32 fixed point) for Unix time ``t`` seconds."""
    return round((t + NTP_EPOCH_OFFSET) * 4294967296.0) & 0xFFFFFFFFFFFFFFFF


def unix_from_ntp(ntp: int) -> float:
    """Unix time for a 64-bit NTP timestamp."""
    return ntp / 4294967296.0 - NTP_EPOCH_OFFSET


def ntp_middle32(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp (the LSR / RTT unit: 1/65536 s)."""
    return (ntp >> 16) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report block (§6.4.1).

    ``packets_lost`` is signed (24-bit); ``jitter`` is in timestamp units;
    ``lsr`` is the middle 32 bits of the last SR's NTP time and ``dlsr`` the
    delay since it, in 1/65536 s.
    """

    ssrc: int
    fraction_lost: int = 0
    packets_lost: int = 0
    highest_sequence: int = 0
    jitter: int = 0
    lsr: int = 0
    dlsr: int = 0

    def serialize(self) -> bytes:
        lost = max(-0x800000, min(0x7FFFFF, self.packets_lost)) & 0xFFFFFF
        return _BLOCK.pack(
            self.ssrc,
            ((self.fraction_lost & 0xFF) << 24) | lost,
            self.highest_sequence & 0xFFFFFFFF,
            self.jitter & 0xFFFFFFFF,
            self.lsr & 0xFFFFFFFF,
            self.dlsr & 0xFFFFFFFF,
        )

    @classmethod
    def parse(cls, data: bytes, pos: int = 0) -> ReportBlock:
        ssrc, fl, hs, jit, lsr, dlsr = _BLOCK.unpack_from(data, pos)
        lost = fl & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        return cls(ssrc, fl >> 24, lost, hs, jit, lsr, dlsr)


def _header(rc: int, pt: int, body_len: int) -> bytes:
    if body_len % 4:
        raise RtcpError("RTCP body must be a multiple of 4 bytes")
    if rc > 31:
        raise RtcpError("at most 31 report blocks / chunks / sources per RTCP packet")
    return _HDR.pack(0x80 | rc, pt, body_len // 4)


@dataclass(frozen=True, slots=True)
class SenderReport:
    """SR (PT 200). ``ntp_timestamp`` is the full 64-bit NTP time."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    def serialize(self) -> bytes:
        body = _SR.pack(
            self.ssrc,
            (self.ntp_timestamp >> 32) & 0xFFFFFFFF,
            self.ntp_timestamp & 0xFFFFFFFF,
            self.rtp_timestamp & 0xFFFFFFFF,
            self.packet_count & 0xFFFFFFFF,
            self.octet_count & 0xFFFFFFFF,
        )
        body += b"".join(r.serialize() for r in self.reports) + self.extension
        return _header(len(self.reports), RTCP_SR, len(body)) + body

    __bytes__ = serialize


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RR (PT 201)."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    def serialize(self) -> bytes:
        body = struct.pack("!I", self.ssrc)
        body += b"".join(r.serialize() for r in self.reports) + self.extension
        return _header(len(self.reports), RTCP_RR, len(body)) + body

    __bytes__ = serialize


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """One SDES chunk: a source and its (item type, value) pairs."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...] = ()

    @property
    def cname(self) -> str | None:
        for kind, value in self.items:
            if kind == SDES_CNAME:
                return value.decode("utf-8", "replace")
        return None

    def serialize(self) -> bytes:
        out = bytearray(struct.pack("!I", self.ssrc))
        for kind, value in self.items:
            if not 1 <= kind <= 255 or len(value) > 255:
                raise RtcpError("SDES item type must be 1..255 and value ≤ 255 bytes")
            out += bytes((kind, len(value))) + value
        out += b"\x00" * (4 - len(out) % 4)  # null item terminator + pad to 32 bits
        return bytes(out)


@dataclass(frozen=True, slots=True)
class Sdes:
    """SDES (PT 202)."""

    chunks: tuple[SdesChunk, ...] = ()

    @classmethod
    def with_cname(cls, ssrc: int, cname: str) -> Sdes:
        return cls((SdesChunk(ssrc, ((SDES_CNAME, cname.encode()),)),))

    def serialize(self) -> bytes:
        body = b"".join(c.serialize() for c in self.chunks)
        return _header(len(self.chunks), RTCP_SDES, len(body)) + body

    __bytes__ = serialize


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE (PT 203) with an optional reason."""

    sources: tuple[int, ...] = ()
    reason: str | None = None

    def serialize(self) -> bytes:
        body = struct.pack(f"!{len(self.sources)}I", *self.sources)
        if self.reason is not None:
            r = self.reason.encode()[:255]
            body += bytes((len(r),)) + r
            body += b"\x00" * (-len(body) % 4)
        return _header(len(self.sources), RTCP_BYE, len(body)) + body

    __bytes__ = serialize


@dataclass(frozen=True, slots=True)
class RtcpUnknown:
    """Any other RTCP packet type, kept raw (``count`` is the 5-bit RC/subtype field)."""

    packet_type: int
    count: int
    body: bytes

    def serialize(self) -> bytes:
        return _header(self.count, self.packet_type, len(self.body)) + self.body

    __bytes__ = serialize


RtcpPacket = SenderReport | ReceiverReport | Sdes | Bye | RtcpUnknown


def _parse_blocks(body: bytes, pos: int, count: int, what: str) -> tuple[ReportBlock, ...]:
    if len(body) < pos + 24 * count:
        raise RtcpError(f"{what} truncated: {count} report blocks do not fit")
    return tuple(ReportBlock.parse(body, pos + 24 * i) for i in range(count))


def _parse_sdes(body: bytes, count: int) -> Sdes:
    chunks = []
    pos = 0
    n = len(body)
    for _ in range(count):
        if n < pos + 4:
            raise RtcpError("SDES truncated in chunk SSRC")
        (ssrc,) = struct.unpack_from("!I", body, pos)
        pos += 4
        items = []
        while True:
            if pos >= n:
                raise RtcpError("SDES chunk not terminated")
            kind = body[pos]
            if kind == 0:
                pos += 1
                pos += -pos % 4
                break
            if pos + 2 > n or pos + 2 + body[pos + 1] > n:
                raise RtcpError("SDES item truncated")
            length = body[pos + 1]
            items.append((kind, bytes(body[pos + 2 : pos + 2 + length])))
            pos += 2 + length
        chunks.append(SdesChunk(ssrc, tuple(items)))
    return Sdes(tuple(chunks))


def _parse_one(pt: int, count: int, body: bytes) -> RtcpPacket:
    if pt == RTCP_SR:
        if len(body) < 24:
            raise RtcpError("SR truncated")
        ssrc, msw, lsw, rtp_ts, pc, oc = _SR.unpack_from(body)
        reports = _parse_blocks(body, 24, count, "SR")
        return SenderReport(
            ssrc, (msw << 32) | lsw, rtp_ts, pc, oc, reports, body[24 + 24 * count :]
        )
    if pt == RTCP_RR:
        if len(body) < 4:
            raise RtcpError("RR truncated")
        (ssrc,) = struct.unpack_from("!I", body)
        reports = _parse_blocks(body, 4, count, "RR")
        return ReceiverReport(ssrc, reports, body[4 + 24 * count :])
    if pt == RTCP_SDES:
        return _parse_sdes(body, count)
    if pt == RTCP_BYE:
        if len(body) < 4 * count:
            raise RtcpError("BYE truncated")
        sources = struct.unpack_from(f"!{count}I", body)
        reason = None
        pos = 4 * count
        if len(body) > pos:
            length = body[pos]
            if pos + 1 + length > len(body):
                raise RtcpError("BYE reason truncated")
            reason = body[pos + 1 : pos + 1 + length].decode("utf-8", "replace")
        return Bye(tuple(sources), reason)
    return RtcpUnknown(pt, count, body)


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """Parse a (compound) RTCP packet; raise :class:`RtcpError` if malformed."""
    out: list[RtcpPacket] = []
    pos = 0
    n = len(data)
    if n < 4:
        raise RtcpError(f"RTCP packet truncated: {n} bytes")
    while pos < n:
        if n - pos < 4:
            raise RtcpError("RTCP compound packet has trailing bytes")
        b0, pt, words = _HDR.unpack_from(data, pos)
        if b0 >> 6 != 2:
            raise RtcpError(f"bad RTCP version {b0 >> 6}")
        if not 192 <= pt <= 223:
            raise RtcpError(f"not an RTCP packet type: {pt}")
        end = pos + 4 + 4 * words
        if end > n:
            raise RtcpError(f"RTCP packet length {words} words exceeds datagram")
        body = bytes(data[pos + 4 : end])
        if b0 & 0x20:
            if not body or body[-1] == 0 or body[-1] > len(body):
                raise RtcpError("invalid RTCP padding")
            body = body[: -body[-1]]
        out.append(_parse_one(pt, b0 & 0x1F, body))
        pos = end
    return out


def build_compound(parts: Iterable[RtcpPacket]) -> bytes:
    """Serialize and concatenate RTCP packets into one compound datagram."""
    return b"".join(p.serialize() for p in parts)
