"""RTP packets (RFC 3550 §5.1) and sequence/timestamp arithmetic.

``RtpPacket.parse(data)`` validates the fixed header, CSRC list, header
extension (§5.3.1: 16-bit profile + length in 32-bit words, kept raw) and
padding, and raises :class:`RtpError` on anything truncated or invalid.
``bytes(packet)`` / ``packet.serialize()`` give the wire form back.

The common case (V=2, no padding, no extension, no CSRC) takes a short path:
parsing a 172-byte PCMU packet costs a few hundred nanoseconds in pure Python.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "RTP_HEADER_SIZE",
    "RTP_VERSION",
    "RtpError",
    "RtpPacket",
    "extend_seq",
    "extend_ts",
    "is_rtcp",
    "seq_diff",
    "seq_newer",
    "ts_diff",
]

RTP_VERSION = 2
RTP_HEADER_SIZE = 12

_HDR = struct.Struct("!BBHII")
_unpack_hdr = _HDR.unpack_from
_pack_hdr = _HDR.pack
_EXT = struct.Struct("!HH")
_new = object.__new__


class RtpError(ValueError):
    """The bytes are not a valid RTP (or RTCP) packet."""


@dataclass(slots=True, eq=True)
class RtpPacket:
    """One RTP packet.

    ``padding_size`` is the number of padding octets (0 = no padding bit);
    ``extension_profile`` is ``None`` when there is no header extension,
    otherwise ``extension_data`` holds its raw body (a multiple of 4 bytes).
    """

    payload_type: int = 0
    sequence_number: int = 0
    timestamp: int = 0
    ssrc: int = 0
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension_profile: int | None = None
    extension_data: bytes = b""
    padding_size: int = 0

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one RTP packet; raise :class:`RtpError` if it is malformed."""
        n = len(data)
        if n < 12:
            raise RtpError(f"RTP packet truncated: {n} bytes < 12-byte header")
        b0, b1, seq, ts, ssrc = _unpack_hdr(data)
        if b0 == 0x80:  # V=2, P=0, X=0, CC=0: the usual case
            pkt = _new(cls)
            pkt.payload_type = b1 & 0x7F
            pkt.sequence_number = seq
            pkt.timestamp = ts
            pkt.ssrc = ssrc
            pkt.payload = data[12:]
            pkt.marker = b1 > 0x7F
            pkt.csrc = ()
            pkt.extension_profile = None
            pkt.extension_data = b""
            pkt.padding_size = 0
            return pkt
        return cls._parse_slow(data, b0, b1, seq, ts, ssrc)

    @classmethod
    def _parse_slow(cls, data: bytes, b0: int, b1: int, seq: int, ts: int, ssrc: int) -> RtpPacket:
        if b0 >> 6 != RTP_VERSION:
            raise RtpError(f"bad RTP version {b0 >> 6} (expected 2)")
        n = len(data)
        pos = 12
        cc = b0 & 0x0F
        if cc:
            end = pos + 4 * cc
            if n < end:
                raise RtpError(f"RTP packet truncated in CSRC list ({cc} CSRCs, {n} bytes)")
            csrc = struct.unpack_from(f"!{cc}I", data, pos)
            pos = end
        else:
            csrc = ()
        profile: int | None = None
        ext = b""
        if b0 & 0x10:
            if n < pos + 4:
                raise RtpError("RTP packet truncated in header extension header")
            profile, words = _EXT.unpack_from(data, pos)
            pos += 4
            end = pos + 4 * words
            if n < end:
                raise RtpError(
                    f"RTP header extension length {words} words exceeds packet ({n} bytes)"
                )
            ext = bytes(data[pos:end])
            pos = end
        padding = 0
        if b0 & 0x20:
            if n <= pos:
                raise RtpError("RTP padding bit set but no padding octets")
            padding = data[-1]
            if padding == 0 or pos + padding > n:
                raise RtpError(f"invalid RTP padding count {padding}")
        pkt = _new(cls)
        pkt.payload_type = b1 & 0x7F
        pkt.sequence_number = seq
        pkt.timestamp = ts
        pkt.ssrc = ssrc
        pkt.payload = bytes(data[pos : n - padding])
        pkt.marker = b1 > 0x7F
        pkt.csrc = tuple(csrc)
        pkt.extension_profile = profile
        pkt.extension_data = ext
        pkt.padding_size = padding
        return pkt

    def serialize(self) -> bytes:
        """Return the wire form of this packet."""
        b0 = 0x80
        csrc = self.csrc
        if csrc:
            if len(csrc) > 15:
                raise RtpError("at most 15 CSRCs fit in an RTP header")
            b0 |= len(csrc)
        ext = self.extension_profile is not None
        if ext:
            b0 |= 0x10
        if self.padding_size:
            b0 |= 0x20
        b1 = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        head = _pack_hdr(b0, b1, self.sequence_number, self.timestamp, self.ssrc)
        if b0 == 0x80:
            return head + self.payload
        parts = [head]
        if csrc:
            parts.append(struct.pack(f"!{len(csrc)}I", *csrc))
        if ext:
            data = self.extension_data
            if len(data) % 4:
                raise RtpError("RTP header extension data must be a multiple of 4 bytes")
            parts.append(_EXT.pack(self.extension_profile, len(data) // 4))
            parts.append(data)
        parts.append(self.payload)
        if self.padding_size:
            if not 0 < self.padding_size < 256:
                raise RtpError("padding_size must be 1..255")
            parts.append(bytes(self.padding_size - 1) + bytes((self.padding_size,)))
        return b"".join(parts)

    __bytes__ = serialize


def is_rtcp(data: bytes) -> bool:
    """True if ``data`` looks like RTCP rather than RTP (RFC 5761 §4 demultiplexing)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


def seq_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` between 16-bit sequence numbers, in [-32768, 32767]."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


def seq_newer(a: int, b: int) -> bool:
    """True if sequence number ``a`` comes after ``b`` (modulo 2**16)."""
    return seq_diff(a, b) > 0


def ts_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` between 32-bit RTP timestamps."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def extend_seq(seq: int, reference: int) -> int:
    """The extended (cycle-counting) sequence number for 16-bit ``seq`` nearest to
    the extended ``reference``; e.g. ``extend_seq(0, 65535) == 65536``."""
    return reference + seq_diff(seq, reference & 0xFFFF)


def extend_ts(ts: int, reference: int) -> int:
    """The extended timestamp for 32-bit ``ts`` nearest to the extended ``reference``."""
    return reference + ts_diff(ts, reference & 0xFFFFFFFF)
