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
    # a target delay that covers the whole gap: with less, the gap is skipped, not
    # concealed (test_loss_is_skipped_while_above_target)
    jb = make(max_conceal=3, attenuation=0.5, min_delay=0.16, max_delay=0.16)
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
    frames = []
    for i in range(8):  # packets every 20 ms, a pop 5 ms after each
        if i < 6:
            jb.push(pkt(i, base_ts=base, base_seq=65533), i * 0.02)
        f = jb.pop(i * 0.02 + 0.005)
        if f is not None:
            frames.append(f)
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
    # playout only moves forward; a lost slot inside the played range was concealed, or
    # skipped because the audio behind it still covered the target delay
    slots = [idx(f) for f in frames]
    assert slots == sorted(slots)
    filled = {idx(f) for f in frames if f.kind is not FrameKind.AUDIO}
    assert any(i in filled for i in lost if audio[0] < i < audio[-1])
    assert st.duplicates > 0 and st.late > 0 and st.concealed > 0
    assert st.received == len(arrivals)


# -- keeping the playout delay at the target --------------------------------------------
# A stream sent every 20 ms from t = 0 (packet i at i * 0.02), popped by a 20 ms clock
# 5 ms into each period; a played frame's delay is its pop time minus its send time.

AUDIO = FrameKind.AUDIO


def stream(n, lag=0.001, skip=()):
    return [(i * 0.02 + lag, i) for i in range(n) if i not in skip]


def run(jb, arrivals, ticks, read_at=lambda at: at, skips=None):
    """Push what has been read by each tick, then pop: ``[(tick, frame, excess)]`` where
    ``excess`` is the buffered audio beyond the target after the pop, in seconds.

    ``read_at`` maps a packet's arrival to the time it is read (pushed), for an event
    loop that stalled and reads what arrived meanwhile all at once; ``skips`` maps a
    tick to the number of ticks the clock skipped before it."""
    reads = sorted((read_at(at), i) for at, i in arrivals)
    out, k = [], 0
    for t in ticks:
        while k < len(reads) and reads[k][0] <= t:
            jb.push(pkt(reads[k][1]), reads[k][0])
            k += 1
        if skips and t in skips:
            jb.skip(skips[t])
        f = jb.pop(t)
        out.append((t, f, jb.depth - jb.target_delay))
    return out


def delays(out):
    return [round(t - idx(f) * 0.02, 4) for t, f, _ in out if f is not None and f.kind is AUDIO]


def test_clean_stream_converges_from_the_initial_delay_to_the_target():
    jb = make(initial_delay=0.04, min_delay=0.02, shrink_after=10)
    out = run(jb, stream(100), [k * 0.02 + 0.005 for k in range(100)])
    d = delays(out)
    assert jb.target_delay == pytest.approx(0.02)  # no jitter at all
    assert d[:10] == [0.045] * 10  # 40 ms initial delay, plus the tick's phase
    assert set(d[10:]) == {0.025}  # one frame dropped after shrink_after pops
    assert jb.stats.dropped_overflow == 1
    assert jb.stats.concealed == jb.stats.late == jb.stats.underruns == 0


def test_convergence_counts_the_phase_of_the_ticks():
    """Packets arrive 18 ms before the tick that plays them: two buffered frames are 58 ms
    of real delay against a 25 ms target, so one goes (the buffered audio alone, 40 ms,
    would not show it); one frame (38 ms) stays, as 18 ms would be below the target."""
    jb = make(initial_delay=0.04, min_delay=0.025)
    out = run(jb, stream(100), [k * 0.02 + 0.019 for k in range(100)])
    d = delays(out)
    assert jb.target_delay == pytest.approx(0.025)
    assert d[:10] == [0.059] * 10 and set(d[10:]) == {0.039}
    assert jb.stats.dropped_overflow == 1 and jb.stats.concealed == jb.stats.late == 0


def test_jitter_within_the_target_is_absorbed_not_trimmed():
    rng = random.Random(11)
    arrivals = sorted((i * 0.02 + rng.uniform(0, 0.04), i) for i in range(1500))
    jb = make()
    out = run(jb, arrivals, [k * 0.02 + 0.005 for k in range(1500)])
    audio = [idx(f) for _, f, _ in out if f is not None and f.kind is AUDIO]
    assert audio == list(range(audio[0], audio[-1] + 1))  # every packet played, in order
    assert all(f.kind is AUDIO for _, f, _ in out if f is not None)
    assert jb.stats.late == jb.stats.dropped_overflow == 0
    assert 0.05 < jb.target_delay < 0.08  # ptime + 3 J for this jitter


@pytest.mark.parametrize("reads", ["on time", "in a burst before the pop", "in a burst after it"])
def test_a_clock_that_skipped_ticks_drops_their_frames(reads):
    """The clock stalls for 200 ms and skips ten ticks, and says so (``skip``): the frames
    of those slots are dropped, instead of adding 200 ms to the delay for good."""
    jb = make()
    before = [k * 0.02 + 0.005 for k in range(50)]  # converged to 25 ms by then
    stalled, resume = before[-1], before[-1] + 0.02 + 0.2
    after = [resume + k * 0.02 for k in range(60)]
    if reads == "on time":  # (as if stamped by the kernel)
        read_at = lambda at: at  # noqa: E731
    else:  # the event loop stalled too: it reads the backlog when it resumes
        late_read = resume if reads == "in a burst before the pop" else resume + 0.001
        read_at = lambda at: late_read if stalled < at <= resume else at  # noqa: E731
    out = run(jb, stream(170), before + after, read_at, skips={resume: 10})
    n = len(delays(out[: len(before)]))  # frames played before the stall
    assert set(delays(out[20 : len(before)])) == {0.025}
    audio = [idx(f) for _, f, _ in out if f is not None and f.kind is AUDIO]
    assert audio == sorted(set(audio))  # in order, nothing twice
    assert jb.stats.concealed == jb.stats.underruns == jb.stats.late == 0
    if reads == "in a burst after it":  # only the newest frame was there: it plays
        assert jb.stats.skipped == 0 and delays(out)[n] == 0.225
        assert jb.stats.dropped_overflow >= 9  # the backlog goes at the next pop (hard bound)
    else:  # exactly the frames of the skipped slots: the delay never moves
        assert jb.stats.skipped == jb.stats.dropped_overflow - 1 == 10
        assert set(delays(out[len(before) :])) == {0.025}
    # a burst of reads looks like network jitter and raises the target for a while (it comes
    # down as the estimate fades); the buffered audio never exceeds it by more than max_excess
    # frames from the second pop after the stall
    assert all(excess <= 2 * jb.ptime + 1e-9 for _, _, excess in out[len(before) + 1 :])


def test_late_pops_without_skip_are_bounded_by_the_target():
    """A driver that pops 200 ms late without calling ``skip``: the stale frame plays, then
    the backlog beyond the target goes at once."""
    jb = make()
    before = [k * 0.02 + 0.005 for k in range(50)]
    resume = before[-1] + 0.02 + 0.2
    out = run(jb, stream(170), before + [resume + k * 0.02 for k in range(60)])
    d = delays(out)
    n = len(delays(out[: len(before)]))
    assert d[n - 1 : n + 2] == [0.025, 0.225, 0.025]
    assert set(d[n + 1 :]) == {0.025}
    assert jb.stats.dropped_overflow == 1 + 10 and jb.stats.skipped == 0


def test_a_backlog_after_a_network_stall_is_dropped_at_once():
    """Packets 50-59 are held up 200 ms by the network and arrive together: the buffer
    conceals the gap (holding its position), then drops the backlog down to the target."""
    arrivals = sorted((1.2 if 50 <= i < 60 else i * 0.02 + 0.001, i) for i in range(150))
    jb = make()
    out = run(jb, arrivals, [k * 0.02 + 0.005 for k in range(150)])
    burst = [(t, f, x) for t, f, x in out if t > 1.2]
    assert [f.kind for t, f, _ in out if 1.01 < t < 1.2] == [FrameKind.CONCEALED] * 3 + [
        FrameKind.SILENCE
    ] * 6  # the gap
    assert burst[0][1].kind is AUDIO and idx(burst[0][1]) == 50
    assert burst[0][2] < jb.ptime  # within a frame of the target at once
    assert all(excess <= 2 * jb.ptime + 1e-9 for _, _, excess in burst)  # then max_excess
    assert jb.stats.dropped_overflow >= 5 and jb.stats.late == 0
    assert all(excess < jb.ptime for _, _, excess in out[-20:])  # the target, as it fades


def test_loss_is_skipped_while_above_target():
    """Two packets lost while the buffer still holds its 40 ms initial delay (target 20 ms):
    the first lost slot is skipped rather than concealed, which takes the delay down to
    the target for free; the second is concealed."""
    jb = make(initial_delay=0.04, min_delay=0.02)
    out = run(jb, stream(30, skip=(3, 4)), [k * 0.02 + 0.005 for k in range(30)])
    frames = {round(t, 3): f for t, f, _ in out}
    assert (frames[0.085].kind, idx(frames[0.085])) == (AUDIO, 2)
    assert (frames[0.105].kind, idx(frames[0.105])) == (FrameKind.CONCEALED, 4)  # 3 skipped
    assert (frames[0.125].kind, idx(frames[0.125])) == (AUDIO, 5)
    assert delays(out)[:3] == [0.045] * 3 and set(delays(out)[3:]) == {0.025}
    assert jb.stats.concealed == 1 and jb.stats.dropped_overflow == jb.stats.late == 0
