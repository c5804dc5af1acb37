"""RTP hot paths against named baselines in the same run.

Run: .venv/bin/pytest benchmarks/bench_rtp.py --benchmark-enable --benchmark-only

* rtp-parse / rtp-serialize: a 172-byte PCMU packet, callcore vs aiortc.
* jitter: 1000 packets pushed and popped (one pop per packet, 20 ms ticks),
  callcore's adaptive buffer vs aiortc's ``JitterBuffer.add`` (its
  push-and-assemble step). Divide by 1000 for per-packet cost.
* dtmf-receive: 1000 RFC 4733 packets (100 digits × 10 packets), our
  receiver vs the floor of only decoding the payloads.
"""

from __future__ import annotations

import pytest
from aiortc.jitterbuffer import JitterBuffer as AiortcJitter
from aiortc.rtp import RtpPacket as AiortcPacket

from callcore.rtp.dtmf_event import DtmfReceiver, DtmfSender, TelephoneEvent
from callcore.rtp.jitter import JitterBuffer, RepeatConcealer
from callcore.rtp.packet import RtpPacket

PCMU = bytes(
    RtpPacket(payload_type=0, sequence_number=1234, timestamp=5678, ssrc=0x1234, payload=bytes(160))
)
assert len(PCMU) == 172

N = 1000
PACKETS = [
    RtpPacket(
        payload_type=0, sequence_number=i & 0xFFFF, timestamp=i * 160, ssrc=1, payload=bytes(160)
    )
    for i in range(N)
]
A_PACKETS = [AiortcPacket.parse(bytes(p)) for p in PACKETS]
for _p in A_PACKETS:
    _p._data = _p.payload  # aiortc's receiver sets the depayloaded data before add()


def _dtmf_trace():
    tx = DtmfSender(ssrc=5)
    out, seq, ts, t = [], 0, 0, 0.0
    for k in range(100):
        for tp in tx.packets(
            "0123456789"[k % 10], sequence_number=seq, timestamp=ts, duration=0.16
        ):
            out.append((t + tp.at, tp.packet))
            seq += 1
        ts += 2000
        t += 0.3
    return out


DTMF = _dtmf_trace()
assert len(DTMF) == N


@pytest.mark.benchmark(group="rtp-parse")
def test_parse_callcore(benchmark):
    p = benchmark(RtpPacket.parse, PCMU)
    assert p.sequence_number == 1234


@pytest.mark.benchmark(group="rtp-parse")
def test_parse_aiortc_baseline(benchmark):
    p = benchmark(AiortcPacket.parse, PCMU)
    assert p.sequence_number == 1234


@pytest.mark.benchmark(group="rtp-serialize")
def test_serialize_callcore(benchmark):
    p = RtpPacket.parse(PCMU)
    assert benchmark(p.serialize) == PCMU


@pytest.mark.benchmark(group="rtp-serialize")
def test_serialize_aiortc_baseline(benchmark):
    p = AiortcPacket.parse(PCMU)
    assert benchmark(p.serialize) == PCMU


@pytest.mark.benchmark(group="jitter-1000-packets")
def test_jitter_push_pop_callcore(benchmark):
    def run():
        jb = JitterBuffer(concealer=RepeatConcealer(None))
        push, pop = jb.push, jb.pop
        t = 0.0
        for p in PACKETS:
            push(p, t)
            pop(t)
            t += 0.02
        return jb

    jb = benchmark(run)
    assert jb.stats.played >= N - 5


@pytest.mark.benchmark(group="jitter-1000-packets")
def test_jitter_add_aiortc_baseline(benchmark):
    def run():
        jb = AiortcJitter(capacity=16, prefetch=4)
        n = 0
        for p in A_PACKETS:
            if jb.add(p)[1] is not None:
                n += 1
        return n

    assert benchmark(run) >= N - 10


@pytest.mark.benchmark(group="dtmf-receive-1000-packets")
def test_dtmf_receive_callcore(benchmark):
    def run():
        rx = DtmfReceiver()
        receive = rx.receive
        n = 0
        for t, p in DTMF:
            n += len(receive(p, t))
        return n

    assert benchmark(run) == 200  # one begin + one digit per event


@pytest.mark.benchmark(group="dtmf-receive-1000-packets")
def test_dtmf_decode_only_baseline(benchmark):
    def run():
        parse = TelephoneEvent.parse
        return sum(parse(p.payload).end for _, p in DTMF)

    assert benchmark(run) == 300
