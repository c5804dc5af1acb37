"""Jitter buffer: ordering, duplicates, late and lost packets, concealment, adaptation."""

from __future__ import annotations

import audioop
import random

import pytest

from callcore.rtp.jitter import FrameKind, JitterBuffer, RepeatConcealer
from callcore.rtp.packet import RtpPacket

FS = 160


def pkt(i, ssrc=1, marker=False, base_ts=1000, base_seq=0):
    payload = i.to_bytes(4, "big") * 40  # 160 bytes, unique per packet
    return RtpPacket(
        payload_type=0,
        sequence_number=(base_seq + i) & 0xFFFF,
        timestamp=(base_ts + i * FS) & 0xFFFFFFFF,
        ssrc=ssrc,
        payload=payload,
        marker=marker,
    )


def idx(frame, base_ts=1000):
    return ((frame.timestamp - base_ts) & 0xFFFFFFFF) // FS


def make(**kw):
    kw.setdefault("concealer", RepeatConcealer(None))
    return JitterBuffer(**kw)


def drain(jb, t, n):
    out = []
    for k in range(n):
        out.append(jb.pop(t + k * 0.02))
    return out


def test_waits_for_initial_delay_then_reorders():
    jb = make(initial_delay=0.04)
    for i in (2, 0, 1, 3):
        assert jb.push(pkt(i), 0.0)
    assert jb.pop(0.02) is None  # still buffering
    frames = drain(jb, 0.04, 4)
    assert [f.kind for f in frames] == [FrameKind.AUDIO] * 4
    assert [idx(f) for f in frames] == [0, 1, 2, 3]
    assert [f.sequence_number for f in frames] == [0, 1, 2, 3]
    assert frames[1].payload == pkt(1).payload


def test_loss_is_concealed_then_silence():
    jb = make(max_conceal=3, attenuation=0.5)
    for i in (0, 1, 7, 8):  # 2..6 lost
        jb.push(pkt(i), 0.0)
    frames = drain(jb, 1.0, 9)
    kinds = [f.kind for f in frames]
    A, C, S = FrameKind.AUDIO, FrameKind.CONCEALED, FrameKind.SILENCE
    assert kinds == [A, A, C, C, C, S, S, A, A]
    assert [idx(f) for f in frames] == list(range(9))
    assert [f.gain for f in frames[2:5]] == [0.5, 0.25, 0.125]
    assert frames[2].payload == pkt(1).payload  # opaque codec: repeated as is
    assert jb.stats.concealed == 3 and jb.stats.silence == 2 and jb.stats.played == 4


def test_duplicates_and_late_packets_are_dropped():
    jb = make()
    for i in range(4):
        jb.push(pkt(i), 0.0)
    assert jb.push(pkt(2), 0.001) is False  # duplicate still buffered
    drain(jb, 1.0, 3)  # plays 0,1,2
    assert jb.push(pkt(1), 1.05) is False  # already played: duplicate
    jb.push(pkt(5), 1.05)
    jb.pop(1.06)  # 3
    jb.pop(1.08)  # 4 missing, 5 buffered: concealed
    assert jb.push(pkt(4), 1.09) is False  # its slot is gone: late
    assert jb.stats.duplicates == 2 and jb.stats.late == 1 and jb.stats.concealed == 1
    assert idx(jb.pop(1.1)) == 5


def test_underrun_holds_position_for_a_late_packet():
    jb = make()
    jb.push(pkt(0), 0.0)
    jb.push(pkt(1), 0.02)
    f = drain(jb, 0.1, 3)
    assert [x.kind for x in f] == [FrameKind.AUDIO, FrameKind.AUDIO, FrameKind.CONCEALED]
    jb.push(pkt(2), 0.15)  # late, but its slot was held
    g = jb.pop(0.16)
    assert g.kind is FrameKind.AUDIO and idx(g) == 2
    assert jb.stats.underruns == 1 and jb.stats.late == 0


def test_marker_after_silence_reanchors_with_target_delay():
    jb = make(initial_delay=0.04, min_delay=0.04, max_delay=0.04)
    for i in range(3):
        jb.push(pkt(i), i * 0.02)
    out = [jb.pop(0.04 + k * 0.02) for k in range(3)]
    assert all(f.kind is FrameKind.AUDIO for f in out)
    # sender goes silent (DTX) for 2 s; our ticks continue and underrun
    t = 0.1
    while t < 2.0:
        jb.pop(t)
        t += 0.02
    # new talkspurt: ts jumped 100 frames ahead, marker set
    jb.push(pkt(100, marker=True), 2.0)
    jb.push(pkt(101), 2.02)
    f1 = jb.pop(2.02)
    assert f1.kind is not FrameKind.AUDIO  # waits target delay, not 97 frames
    f2 = jb.pop(2.04)
    assert f2.kind is FrameKind.AUDIO and idx(f2) == 100 and f2.marker
    assert idx(jb.pop(2.06)) == 101


def test_ssrc_change_and_big_jump_resync():
    jb = make(initial_delay=0.02)
    jb.push(pkt(0), 0.0)
    assert idx(jb.pop(0.02)) == 0
    jb.push(pkt(0, ssrc=2, base_ts=777), 0.03)
    assert jb.stats.resyncs == 1
    f = jb.pop(0.06)
    assert f.kind is FrameKind.AUDIO and f.timestamp == 777
    jb.push(pkt(1000, ssrc=2, base_ts=777), 0.08)  # 20 s jump
    assert jb.stats.resyncs == 2
    assert idx(jb.pop(0.2), base_ts=777) == 1000


def test_sequence_and_timestamp_wrap():
    jb = make()
    base = 2**32 - 3 * FS
    for i in range(6):
        jb.push(pkt(i, base_ts=base, base_seq=65533), i * 0.02)
    frames = drain(jb, 0.2, 6)
    assert [f.kind for f in frames] == [FrameKind.AUDIO] * 6
    assert [f.sequence_number for f in frames] == [65533, 65534, 65535, 0, 1, 2]


def test_target_delay_follows_jitter_within_bounds():
    calm = make(min_delay=0.02, max_delay=0.3)
    for i in range(200):
        calm.push(pkt(i), i * 0.02)
    assert calm.target_delay == pytest.approx(0.02)
    rng = random.Random(7)
    noisy = make(min_delay=0.02, max_delay=0.3)
    for i in range(200):
        noisy.push(pkt(i), i * 0.02 + rng.uniform(0, 0.08))
    assert 0.05 < noisy.target_delay < 0.3
    capped = make(min_delay=0.02, max_delay=0.06)
    for i in range(200):
        capped.push(pkt(i), i * 0.02 + rng.uniform(0, 0.3))
    assert capped.target_delay == pytest.approx(0.06)


def test_overflow_shrinks_delay():
    jb = make(min_delay=0.02, max_delay=0.04, shrink_after=3)
    for i in range(30):  # a burst: 30 packets at once
        jb.push(pkt(i), 0.0)
    frames = drain(jb, 1.0, 30)
    audio = [idx(f) for f in frames if f.kind is FrameKind.AUDIO]
    assert audio == sorted(audio)
    assert jb.stats.dropped_overflow > 0
    assert len(audio) + jb.stats.dropped_overflow == 30


def test_g711_concealment_attenuates():
    jb = JitterBuffer(concealer=RepeatConcealer("pcmu"))
    loud = audioop.lin2ulaw(b"\x00\x40" * 160, 2)  # 16384 little-endian
    jb.push(RtpPacket(timestamp=0, ssrc=1, payload=loud), 0.0)
    jb.push(RtpPacket(timestamp=320, ssrc=1, payload=loud), 0.0)
    a = jb.pop(1.0)
    c = jb.pop(1.02)
    assert c.kind is FrameKind.CONCEALED and len(c.payload) == 160
    assert audioop.max(audioop.ulaw2lin(c.payload, 2), 2) == pytest.approx(
        audioop.max(audioop.ulaw2lin(a.payload, 2), 2) / 2, rel=0.05
    )
    assert RepeatConcealer("pcma").silence(b"x" * 3) == b"\xd5\xd5\xd5"


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_seeded_network_trace(seed):
    """Shuffled, duplicated, late and lost packets: in-order delivery, counts right."""
    rng = random.Random(seed)
    n = 600
    arrivals = []
    lost = set()
    for i in range(n):
        if rng.random() < 0.05:
            lost.add(i)
            continue
        t = i * 0.02 + rng.uniform(0, 0.05)
        if rng.random() < 0.02:
            t += 0.6  # far too late
        arrivals.append((t, i))
        if rng.random() < 0.05:
            arrivals.append((t + rng.uniform(0, 0.03), i))
    arrivals.sort()
    jb = make(min_delay=0.02, max_delay=0.2)
    frames = []
    tick = 0.0
    k = 0
    while tick < n * 0.02 + 1.0:
        while k < len(arrivals) and arrivals[k][0] <= tick:
            jb.push(pkt(arrivals[k][1]), arrivals[k][0])
            k += 1
        f = jb.pop(tick)
        if f is not None:
            frames.append(f)
        tick += 0.02
    audio = [idx(f) for f in frames if f.kind is FrameKind.AUDIO]
    assert audio == sorted(set(audio)), "in order, no repeats"
    for f in frames:
        if f.kind is FrameKind.AUDIO:
            assert f.payload == pkt(idx(f)).payload
    st = jb.stats
    delivered = set(audio)
    assert not delivered & lost
    # every packet is delivered, lost, dropped by overflow or counted late
    assert len(delivered) + st.late + st.dropped_overflow >= n - len(lost) - 1
    assert len(delivered) + len(lost) + st.late + st.dropped_overflow >= n - 1
    # concealment counters match the frames produced
    assert st.concealed == sum(f.kind is FrameKind.CONCEALED for f in frames)
    assert st.silence == sum(f.kind is FrameKind.SILENCE for f in frames)
    assert st.played == len(audio)
    # every lost slot inside the played range was filled by a non-audio frame
    filled = {idx(f) for f in frames if f.kind is not FrameKind.AUDIO}
    for i in lost:
        if audio[0] < i < audio[-1]:
            assert i in filled
    assert st.duplicates > 0 and st.late > 0 and st.concealed > 0
    assert st.received == len(arrivals)
