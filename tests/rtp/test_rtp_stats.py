"""RFC 3550 appendix A statistics, RTT and the MOS estimate."""

from __future__ import annotations

import pytest

from callcore.rtp.packet import RtpPacket
from callcore.rtp.rtcp import ReportBlock, ntp_from_unix, ntp_middle32, parse_rtcp
from callcore.rtp.stats import (
    ReceiverStats,
    SenderStats,
    estimate_mos,
    r_factor,
    round_trip_time,
)


def feed(stats, ssrc, seqs, t0=0.0, ts_of=lambda s: s * 160):
    for i, s in enumerate(seqs):
        stats.update(ssrc, s & 0xFFFF, ts_of(s) & 0xFFFFFFFF, t0 + i * 0.02)


def test_probation_first_packet_not_counted():
    st = ReceiverStats()
    assert st.update(1, 100, 0, 0.0) is False
    assert st.ssrc is None
    assert st.update(1, 101, 160, 0.02) is True
    assert st.ssrc == 1 and st.received == 1 and st.expected == 1


def test_probation_restarts_on_non_sequential():
    st = ReceiverStats()
    assert not st.update(1, 100, 0, 0.0)
    assert not st.update(1, 105, 0, 0.02)  # not sequential: probation again
    assert st.update(1, 106, 0, 0.04)
    assert st.received == 1


def test_wraparound_counts_cycles_and_loss():
    st = ReceiverStats()
    seqs = list(range(65530, 65536)) + list(range(65536, 65546))
    seqs.remove(65537)  # lose seq 1 after wrap
    seqs.remove(65533)
    feed(st, 9, seqs)
    # base = 65531 (first packet is probation)
    assert st.extended_highest == 65536 + 9
    assert st.expected == 65536 + 9 - 65531 + 1
    assert st.lost == 2
    assert st.received == st.expected - 2


def test_fraction_lost_between_reports():
    st = ReceiverStats()
    feed(st, 3, range(0, 11))  # base 1, 10 received
    b1 = st.report_block(1.0)
    assert b1.fraction_lost == 0 and b1.packets_lost == 0
    seqs = [s for s in range(11, 31) if s % 4 != 0]  # 20 expected, 5 lost
    for i, s in enumerate(seqs):
        st.update(3, s, s * 160, 2.0 + i * 0.02)
    b2 = st.report_block(3.0)
    assert b2.fraction_lost == (5 << 8) // 20
    assert b2.packets_lost == 5
    assert b2.highest_sequence == 30
    b3 = st.report_block(4.0)  # nothing new since
    assert b3.fraction_lost == 0 and b3.packets_lost == 5


def test_duplicates_give_negative_loss_and_zero_fraction():
    st = ReceiverStats()
    feed(st, 3, [0, 1, 2, 2, 3, 3])
    assert st.lost == -2
    assert st.report_block(1.0).fraction_lost == 0


def test_large_jump_resyncs_after_two_sequential():
    st = ReceiverStats()
    feed(st, 3, range(0, 10))
    assert not st.update(3, 40000, 0, 1.0)
    assert st.update(3, 40001, 160, 1.02)  # restart accepted
    assert st.received == 1 and st.expected == 1


def test_jitter_matches_hand_computation():
    # clock 8000 Hz; packets every 160 ts units; first packet is probation
    st = ReceiverStats(clock_rate=8000)
    arrivals = [-0.02, 0.000, 0.020, 0.045, 0.060, 0.090]
    for i, t in enumerate(arrivals):
        st.update(7, 1000 + i, 160 * (i - 1) & 0xFFFFFFFF, t)
    # transits (ts units) of valid packets: 0, 0, 40, 0, 80 -> |D| = 0, 40, 40, 80
    # J: 0 -> 0 -> 2.5 -> 4.84375 -> 9.541015625
    assert st.jitter == pytest.approx(9.541015625)
    assert st.report_block(1.0).jitter == 9
    assert st.jitter_seconds == pytest.approx(9.541015625 / 8000)


def test_jitter_in_arrival_order_and_ts_wrap():
    st = ReceiverStats()
    base = 2**32 - 320
    order = [0, 1, 3, 2, 4, 5]  # reordered 2/3
    arr = [0.0, 0.02, 0.05, 0.06, 0.08, 0.10]
    for s, t in zip(order, arr, strict=True):
        st.update(1, s, (base + 160 * s) & 0xFFFFFFFF, t)
    # reference: RFC formula in arrival order on unwrapped values
    j, prev = 0.0, None
    for s, t in zip(order[1:], arr[1:], strict=True):
        transit = t * 8000 - (base + 160 * s)
        if prev is not None:
            j += (abs(transit - prev) - j) / 16
        prev = transit
    assert st.jitter == pytest.approx(j)
    assert j > 0


def test_ssrc_change_needs_probation_then_resets():
    st = ReceiverStats()
    feed(st, 1, range(0, 20))
    assert st.update(2, 500, 0, 1.0) is False  # new SSRC on probation
    assert st.ssrc == 1 and st.received == 19
    assert st.update(2, 501, 160, 1.02) is True
    assert st.ssrc == 2 and st.received == 1 and st.ssrc_changes == 1


def test_lsr_dlsr_and_rtt():
    # A sends SR at t=100.0; B receives it at 100.05, reports at 100.55;
    # A receives the RR at 100.6 -> RTT = 0.6 - 0.5 = 0.1 s
    snd = SenderStats()
    snd.on_sent(RtpPacket(timestamp=8000, ssrc=1, payload=bytes(160)), 99.99)
    sr = snd.sender_report(1, 100.0)
    (sr,) = parse_rtcp(sr.serialize())
    assert sr.rtp_timestamp == 8000 + 80
    assert (sr.packet_count, sr.octet_count) == (1, 160)
    rcv = ReceiverStats()
    feed(rcv, 1, range(10), t0=99.0)
    rcv.on_sender_report(sr, 100.05)
    block = rcv.report_block(100.55)
    assert block.lsr == ntp_middle32(ntp_from_unix(100.0))
    assert block.dlsr == int(0.5 * 65536)
    rtt = round_trip_time(block, 100.6)
    assert rtt == pytest.approx(0.1, abs=2 / 65536)


def test_rtt_unknown_without_sr():
    assert round_trip_time(ReportBlock(1), 5.0) is None
    assert round_trip_time(ReportBlock(1, lsr=ntp_middle32(ntp_from_unix(10.0))), 9.0) == 0.0


@pytest.mark.parametrize(
    "rtt, jitter, loss, r_expected",
    [
        (0, 0, 0, 93.2 - 10 / 40),  # eff = 10
        (100, 20, 1, 93.2 - 150 / 40 - 2.5),  # eff = 150 (< 160 branch)
        (150, 20, 0, 93.2 - (200 - 120) / 10),  # eff = 200 (>= 160 branch)
        (140, 5, 0, 93.2 - (160 - 120) / 10),  # eff = 160 exactly
        (500, 100, 30, 0.0),  # clamped at 0
    ],
)
def test_r_factor_points(rtt, jitter, loss, r_expected):
    assert r_factor(rtt, jitter, loss) == pytest.approx(r_expected)


def test_mos_points():
    r = 93.2 - 10 / 40
    assert estimate_mos(0, 0, 0) == pytest.approx(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r))
    assert 4.3 < estimate_mos(0, 0, 0) < 4.5
    assert estimate_mos(500, 100, 30) == pytest.approx(1.0)
    assert estimate_mos(20, 5, 0) > estimate_mos(20, 5, 2) > estimate_mos(300, 50, 2)
