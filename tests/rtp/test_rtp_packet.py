"""RTP packet parse/serialize, binary fixtures, wrap-around helpers."""

from __future__ import annotations

import struct

import pytest
from aiortc.rtp import RtpPacket as AiortcPacket

from callcore.rtp.packet import (
    RtpError,
    RtpPacket,
    extend_seq,
    extend_ts,
    is_rtcp,
    seq_diff,
    seq_newer,
    ts_diff,
)

# V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq=0x1234 | ts=0xDEADBEEF | ssrc=0x01020304 | payload
PCMU = bytes.fromhex("80 80 1234 deadbeef 01020304") + bytes(range(160))

# V=2 P=1 X=1 CC=2 | M=0 PT=96 | seq=1 | ts=2 | ssrc=3 | csrc 0xA,0xB |
# ext profile 0xBEDE len 1 word: 0x11223344 | payload "hi" | 2 bytes padding (count=2)
FULL = (
    bytes.fromhex("b2 60 0001 00000002 00000003")
    + bytes.fromhex("0000000a 0000000b")
    + bytes.fromhex("bede 0001 11223344")
    + b"hi"
    + bytes.fromhex("00 02")
)


def test_parse_fixed_header_fixture():
    p = RtpPacket.parse(PCMU)
    assert (p.marker, p.payload_type, p.sequence_number) == (True, 0, 0x1234)
    assert (p.timestamp, p.ssrc) == (0xDEADBEEF, 0x01020304)
    assert p.payload == bytes(range(160))
    assert p.csrc == () and p.extension_profile is None and p.padding_size == 0
    assert bytes(p) == PCMU


def test_parse_full_header_fixture():
    p = RtpPacket.parse(FULL)
    assert p.marker is False and p.payload_type == 96
    assert p.csrc == (0xA, 0xB)
    assert p.extension_profile == 0xBEDE
    assert p.extension_data == bytes.fromhex("11223344")
    assert p.payload == b"hi"
    assert p.padding_size == 2
    assert p.serialize() == FULL


def test_matches_aiortc_on_same_bytes():
    a = AiortcPacket.parse(PCMU)
    p = RtpPacket.parse(PCMU)
    assert (a.marker, a.payload_type, a.sequence_number, a.timestamp, a.ssrc, a.payload) == (
        p.marker,
        p.payload_type,
        p.sequence_number,
        p.timestamp,
        p.ssrc,
        p.payload,
    )


def test_roundtrip_built_packet():
    p = RtpPacket(payload_type=8, sequence_number=65535, timestamp=2**32 - 1, ssrc=7, payload=b"x")
    assert RtpPacket.parse(bytes(p)) == p
    q = RtpPacket(
        payload_type=101,
        csrc=(1, 2, 3),
        extension_profile=0x1000,
        extension_data=b"",
        padding_size=4,
    )
    assert RtpPacket.parse(q.serialize()) == q


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "truncated"),
        (PCMU[:11], "truncated"),
        (b"\x40" + PCMU[1:], "version"),  # V=1
        (b"\x00" + PCMU[1:], "version"),
        (FULL[:16], "CSRC"),  # CC=2 but only one CSRC
        (FULL[:22], "extension"),  # extension header cut
        (FULL[:26], "extension"),  # extension body cut
        (bytes.fromhex("a0 00 0001 00000002 00000003"), "padding"),  # P set, nothing
        (bytes.fromhex("a0 00 0001 00000002 00000003 0000 00"), "padding"),  # count 0
        (bytes.fromhex("a0 00 0001 00000002 00000003 09"), "padding"),  # count > size
    ],
)
def test_invalid_inputs_raise_rtp_error(data, message):
    with pytest.raises(RtpError, match=message):
        RtpPacket.parse(data)


def test_serialize_rejects_bad_fields():
    with pytest.raises(RtpError):
        RtpPacket(csrc=tuple(range(16))).serialize()
    with pytest.raises(RtpError):
        RtpPacket(extension_profile=1, extension_data=b"abc").serialize()


def test_seq_wraparound():
    assert seq_diff(0, 65535) == 1
    assert seq_diff(65535, 0) == -1
    assert seq_diff(100, 90) == 10
    assert seq_diff(0x8000 + 5, 5) == -0x8000
    assert seq_newer(0, 65535) and not seq_newer(65535, 0)
    assert extend_seq(0, 65535) == 65536
    assert extend_seq(65535, 65536) == 65535
    assert extend_seq(5, 3 * 65536 + 65530) == 4 * 65536 + 5


def test_ts_wraparound():
    assert ts_diff(0, 2**32 - 160) == 160
    assert ts_diff(2**32 - 160, 0) == -160
    assert extend_ts(100, 2**32 - 60) == 2**32 + 100


def test_is_rtcp():
    assert is_rtcp(struct.pack("!BBH", 0x80, 200, 6))
    assert not is_rtcp(PCMU)
    assert not is_rtcp(b"\x80")
