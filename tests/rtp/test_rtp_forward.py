"""Sans-IO forwarding: how a relayed packet is renumbered into our own RTP stream."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from callcore.rtp.packet import RtpPacket, seq_diff, ts_diff
from callcore.rtp.session import RtpSession


def pkt(seq: int, ts: int, ssrc: int = 0xABCD, marker: bool = False, payload=b"\x11" * 160):
    return RtpPacket(
        payload_type=0, sequence_number=seq & 0xFFFF, timestamp=ts & 0xFFFFFFFF, ssrc=ssrc,
        payload=payload, marker=marker,
    )  # fmt: skip


def session() -> RtpSession:
    return RtpSession(ssrc=0x1234, rng=random.Random(7))


def fwd(s: RtpSession, origin, p: RtpPacket, next_ts: int = 0) -> RtpPacket:
    data, ts = s.forward(origin, p, p.payload, 0, next_ts, now=100.0)
    out = RtpPacket.parse(data)
    assert out.timestamp == ts
    return out


def test_the_first_packet_continues_our_stream_and_is_marked():
    s = session()
    own = s.build_rtp(b"\x00" * 160, payload_type=0, timestamp=8000, marker=True, now=1.0)
    out = fwd(s, "a", pkt(5000, 999_000), next_ts=8160)
    assert out.ssrc == 0x1234
    assert out.sequence_number == (own.sequence_number + 1) & 0xFFFF
    assert out.timestamp == 8160
    assert out.marker
    assert out.payload == b"\x11" * 160
    nxt = fwd(s, "a", pkt(5001, 999_160), next_ts=0)  # next_ts only matters when anchoring
    assert (nxt.sequence_number, nxt.timestamp, nxt.marker) == (
        (out.sequence_number + 1) & 0xFFFF, 8320, False)  # fmt: skip


def test_loss_gaps_and_reordering_pass_through_but_counters_only_move_forward():
    s = session()
    first = fwd(s, "a", pkt(10, 1600), next_ts=0)
    base_seq = first.sequence_number
    lost = fwd(s, "a", pkt(13, 1600 + 3 * 160))  # 11 and 12 were lost on the way in
    assert seq_diff(lost.sequence_number, base_seq) == 3
    assert lost.timestamp == 3 * 160
    late = fwd(s, "a", pkt(12, 1600 + 2 * 160))  # one arrives late
    assert seq_diff(late.sequence_number, base_seq) == 2
    # our next own packet follows the newest forwarded one, not the late one
    own = s.build_rtp(b"", payload_type=0, timestamp=0, marker=False, now=1.0)
    assert seq_diff(own.sequence_number, base_seq) == 4


def test_a_new_origin_or_ssrc_or_a_packet_of_our_own_anchors_again():
    s = session()
    fwd(s, "a", pkt(1, 100), next_ts=0)
    b = fwd(s, "b", pkt(7000, 5), next_ts=4000)
    assert b.marker and b.timestamp == 4000
    c = fwd(s, "b", pkt(7001, 165, ssrc=0x9999), next_ts=9000)
    assert c.marker and c.timestamp == 9000
    s.build_rtp(b"", payload_type=0, timestamp=9160, marker=False, now=1.0)
    d = fwd(s, "b", pkt(7002, 325, ssrc=0x9999), next_ts=9320)
    assert d.marker and d.timestamp == 9320


def test_sender_report_counts_forwarded_packets_and_keeps_the_newest_timestamp():
    s = session()
    fwd(s, "a", pkt(1, 0), next_ts=1000)
    fwd(s, "a", pkt(3, 320))
    fwd(s, "a", pkt(2, 160))  # late: counted, but the SR's RTP/NTP pair stays on seq 3
    assert s.sender.packet_count == 3
    assert s.sender.octet_count == 480
    sr = s.sender.sender_report(s.ssrc, now=100.0)
    assert sr.rtp_timestamp == 1320


@given(
    start_seq=st.integers(0, 0xFFFF),
    start_ts=st.integers(0, 0xFFFFFFFF),
    our_seq=st.integers(0, 0xFFFF),
    next_ts=st.integers(0, 0xFFFFFFFF),
    steps=st.lists(st.integers(1, 5), min_size=1, max_size=40),
)
def test_distances_are_kept_across_wraparound(start_seq, start_ts, our_seq, next_ts, steps):
    s = session()
    s._seq = our_seq
    seq, ts = start_seq, start_ts
    first = fwd(s, "a", pkt(seq, ts), next_ts=next_ts)
    for k in steps:
        seq, ts = seq + k, ts + 160 * k
        out = fwd(s, "a", pkt(seq, ts))
        assert seq_diff(out.sequence_number, first.sequence_number) == seq_diff(
            seq & 0xFFFF, start_seq)  # fmt: skip
        assert ts_diff(out.timestamp, first.timestamp) == ts_diff(ts & 0xFFFFFFFF, start_ts)
        assert not out.marker
