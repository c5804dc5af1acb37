"""RTCP SR/RR/SDES/BYE parse and build, fixtures and invalid variants."""

from __future__ import annotations

import pytest

from callcore.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpError,
    RtcpUnknown,
    Sdes,
    SdesChunk,
    SenderReport,
    build_compound,
    ntp_from_unix,
    ntp_middle32,
    parse_rtcp,
    unix_from_ntp,
)

# Hand-assembled SR with one report block, then SDES CNAME "ab".
SR_FIXTURE = bytes.fromhex(
    "81c8000c"  # V=2 RC=1 PT=200 length=12 words
    "00001111"  # SSRC
    "e0000000 80000000"  # NTP 0xE0000000.8
    "00000640"  # RTP ts 1600
    "0000000a"  # packets 10
    "00000640"  # octets 1600
    "00002222"  # block SSRC
    "19fffffe"  # fraction 25, cumulative lost -2
    "00010005"  # ext highest seq (1 cycle, seq 5)
    "00000020"  # jitter 32
    "12345678"  # LSR
    "00018000"  # DLSR 1.5 s
)
SDES_FIXTURE = bytes.fromhex("81ca0003 00001111 01026162 00000000")


def test_parse_sr_fixture():
    (sr,) = parse_rtcp(SR_FIXTURE)
    assert isinstance(sr, SenderReport)
    assert sr.ssrc == 0x1111 and sr.ntp_timestamp == 0xE000000080000000
    assert (sr.rtp_timestamp, sr.packet_count, sr.octet_count) == (1600, 10, 1600)
    (b,) = sr.reports
    assert b == ReportBlock(0x2222, 25, -2, 0x10005, 32, 0x12345678, 0x18000)
    assert sr.serialize() == SR_FIXTURE


def test_parse_compound_with_sdes():
    sr, sdes = parse_rtcp(SR_FIXTURE + SDES_FIXTURE)
    assert isinstance(sdes, Sdes)
    assert sdes.chunks[0].ssrc == 0x1111 and sdes.chunks[0].cname == "ab"
    assert sdes.serialize() == SDES_FIXTURE
    assert build_compound([sr, sdes]) == SR_FIXTURE + SDES_FIXTURE


def test_roundtrip_all_types():
    parts = [
        ReceiverReport(5, (ReportBlock(6, 255, 0x7FFFFF, 70000, 12, 1, 2),)),
        Sdes((SdesChunk(5, ((1, b"user@host"), (2, b"name"))), Sdes.with_cname(9, "x").chunks[0])),
        Bye((5, 6), "bye now"),
        Bye((5,)),
        RtcpUnknown(204, 1, b"\x00\x00\x00\x05name"),
    ]
    assert parse_rtcp(build_compound(parts)) == parts


def test_report_block_clamps_lost():
    b = ReportBlock(1, packets_lost=-10_000_000)
    assert ReportBlock.parse(b.serialize()).packets_lost == -0x800000


def test_padding_is_removed():
    # RR with no blocks plus 4 bytes of padding (P bit, count 4)
    data = bytes.fromhex("a0c90002 00000007 00000004")
    (rr,) = parse_rtcp(data)
    assert rr == ReceiverReport(7)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x81\xc8",
        SR_FIXTURE[:-4],  # length field says more than present
        b"\x41" + SR_FIXTURE[1:],  # version 1
        bytes.fromhex("80 60 0000"),  # PT 96 is RTP, not RTCP
        bytes.fromhex("81c80001 00000001"),  # SR body too short
        bytes.fromhex("81c90001 00000001"),  # RR claims a block it lacks
        bytes.fromhex("81ca0001 00000001"),  # SDES chunk not terminated
        bytes.fromhex("81ca0002 00000001 0109ab00"),  # SDES item truncated
        bytes.fromhex("82cb0001 00000001"),  # BYE with 2 sources, 1 present
        bytes.fromhex("a0c90001 00000000"),  # padding count 0
        SDES_FIXTURE + b"\x80",  # trailing garbage
    ],
)
def test_invalid_rtcp(data):
    with pytest.raises(RtcpError):
        parse_rtcp(data)


def test_ntp_helpers():
    t = 1_700_000_000.25
    ntp = ntp_from_unix(t)
    assert ntp >> 32 == 1_700_000_000 + 2_208_988_800
    assert ntp & 0xFFFFFFFF == 0x40000000
    assert unix_from_ntp(ntp) == pytest.approx(t)
    assert ntp_middle32(ntp) == ((ntp >> 16) & 0xFFFFFFFF)
