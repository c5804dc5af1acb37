"""Bridged legs relay packet by packet, on real loopback sockets.

Each test opens two media sessions on a :class:`MediaEngine` and gives each a far
end that is a plain UDP socket, so what goes on the wire is read back exactly. Each
runs with the sockets read in batches by a hub (whose reader relays armed routes
itself, after the first packet) and with a loop transport per socket (Python relays).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from itertools import pairwise

import pytest

from callcore.fastpath import impl as fp
from callcore.rtp.packet import RtpPacket, seq_diff, ts_diff
from callcore.switch.media import MediaEngine, RelayDelayProbe

HDR = struct.Struct("!BBHII")


@pytest.fixture(params=["batch", "per-socket"])
def batch(request) -> bool:
    return request.param == "batch"


def far_end() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


def packet(seq: int, ts: int, payload: bytes, pt: int = 0, ssrc: int = 0x5EED) -> bytes:
    return HDR.pack(0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


async def receive(sock: socket.socket, n: int, timeout: float = 2.0) -> list[RtpPacket]:
    loop = asyncio.get_running_loop()
    out = []
    for _ in range(n):
        data = await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout)
        out.append(RtpPacket.parse(data))
    return out


async def quiet(sock: socket.socket, seconds: float) -> list[RtpPacket]:
    """Whatever arrives within ``seconds``."""
    out = []
    try:
        while True:
            out += await receive(sock, 1, timeout=seconds)
    except TimeoutError:
        return out


async def bridged(engine: MediaEngine, codec_a: str = "PCMU", codec_b: str = "PCMU"):
    a, b = await engine.open(codec_a), await engine.open(codec_b)
    fa, fb = far_end(), far_end()
    a.set_remote(*fa.getsockname())
    b.set_remote(*fb.getsockname())
    a.relay_from(b)
    b.relay_from(a)
    return a, b, fa, fb


def payloads(n: int) -> list[bytes]:
    # μ-law bytes that decode to distinct non-zero samples (no ambiguous zero codes)
    return [bytes([(0x10 + 3 * i + k) % 0x7E + 1 for k in range(160)]) for i in range(n)]


def test_packets_are_relayed_on_arrival_without_waiting_for_a_tick(arun, batch):
    async def main():
        engine = MediaEngine(batch_reads=batch, ptime=30.0)  # the clock never ticks here
        a, b, fa, fb = await bridged(engine)
        sent = payloads(4)
        seqs, tss = [100, 101, 103, 104], [8000, 8160, 8480, 8640]  # 102 was lost
        got = []
        for k, (seq, ts, pl) in enumerate(zip(seqs, tss, sent, strict=True)):
            fa.sendto(packet(seq, ts, pl), ("127.0.0.1", a.local_port))
            if k == 0:  # the first one anchors the stream (and arms the hub's route)
                got += await receive(fb, 1)
        got += await receive(fb, 3)
        back = payloads(1)[0]
        fb.sendto(packet(7, 70, back), ("127.0.0.1", b.local_port))
        (to_a,) = await receive(fa, 1)
        fa.close()
        fb.close()
        in_c = engine.hub.reader.relayed if engine.hub is not None else 0
        for s in (a, b):
            await s.close()
        # the hub lets go of the loop and its epoll descriptor with the last socket
        assert engine.hub is None or (engine.hub.reader is None and engine.hub._loop is None)
        return got, to_a, b.endpoint.session.ssrc, a.endpoint.session.ssrc, engine, in_c

    got, to_a, ssrc_b, ssrc_a, engine, in_c = arun(main())
    # with the hub, the first packet anchors the route in Python and the reader relays
    # the rest as it reads them
    assert in_c == (3 if batch else 0)
    assert [p.payload for p in got] == payloads(4)
    assert all(p.ssrc == ssrc_b and p.payload_type == 0 for p in got)
    assert [p.marker for p in got] == [True, False, False, False]
    first = got[0]
    assert [seq_diff(p.sequence_number, first.sequence_number) for p in got] == [0, 1, 3, 4]
    assert [ts_diff(p.timestamp, first.timestamp) for p in got] == [0, 160, 480, 640]
    assert to_a.ssrc == ssrc_a and to_a.payload == payloads(1)[0] and to_a.marker
    assert engine.ports_in_use == 0


def test_pcmu_is_transcoded_to_pcma_on_the_way(arun, batch):
    async def main():
        engine = MediaEngine(batch_reads=batch, ptime=30.0)
        a, b, fa, fb = await bridged(engine, "PCMU", "PCMA")
        pl = payloads(1)[0]
        fa.sendto(packet(1, 160, pl), ("127.0.0.1", a.local_port))
        (got,) = await receive(fb, 1)
        for s in (a, b):
            await s.close()
        fa.close()
        fb.close()
        return pl, got

    pl, got = arun(main())
    assert got.payload_type == 8
    assert got.payload == fp.alaw_encode(fp.ulaw_decode(pl))


def test_another_source_takes_the_leg_back_to_the_tick_and_relaying_resumes_after(arun, batch):
    async def main():
        engine = MediaEngine(batch_reads=batch, ptime=0.02)
        a, b, fa, fb = await bridged(engine)
        dest = ("127.0.0.1", a.local_port)
        pls = payloads(6)
        fa.sendto(packet(1, 160, pls[0]), dest)
        fa.sendto(packet(2, 320, pls[1]), dest)
        relayed = await receive(fb, 2)
        tone = b"\x01\x02" * 160
        b.source = lambda: tone  # e.g. hold music: the tick sends it, relaying stops
        fa.sendto(packet(3, 480, pls[2]), dest)
        ticked = await receive(fb, 3)
        b.relay_from(a)  # back to the bridge (the tick stops sending for b)
        await asyncio.sleep(0.05)
        stray = await quiet(fb, 0.05)  # a tick in flight when the source changed
        fa.sendto(packet(4, 640, pls[3]), dest)
        fa.sendto(packet(5, 800, pls[4]), dest)
        resumed = await receive(fb, 2)
        after = await quiet(fb, 0.2)  # the tick sends nothing more for a relaying leg
        for s in (a, b):
            await s.close()
        fa.close()
        fb.close()
        return relayed, ticked + stray, resumed, after, tone

    relayed, ticked, resumed, after, tone = arun(main())
    enc = fp.ulaw_encode(tone)
    assert all(p.payload == enc for p in ticked), "a relayed packet leaked past hold music"
    stream = relayed + ticked + resumed
    # one RTP stream throughout: sequence numbers run on without a gap or a repeat
    steps = [seq_diff(q.sequence_number, p.sequence_number) for p, q in pairwise(stream)]
    assert steps == [1] * (len(stream) - 1)
    # the tick's packets go on 160 after the last relayed one; the relayed run after
    # it goes on 160 after the tick's last packet, marked as a new talk spurt
    assert ts_diff(ticked[0].timestamp, relayed[-1].timestamp) == 160
    assert ts_diff(resumed[0].timestamp, ticked[-1].timestamp) == 160
    assert resumed[0].marker and not resumed[1].marker
    assert [p.payload for p in resumed] == payloads(5)[3:5]
    assert after == []


def test_nothing_is_relayed_to_a_far_end_that_asked_us_not_to_send(arun, batch):
    async def main():
        engine = MediaEngine(batch_reads=batch, ptime=30.0)
        a, b, fa, fb = await bridged(engine)
        b.send_enabled = False  # the far end answered recvonly/inactive to us
        fa.sendto(packet(1, 160, payloads(1)[0]), ("127.0.0.1", a.local_port))
        got = await quiet(fb, 0.3)
        for s in (a, b):
            await s.close()
        fa.close()
        fb.close()
        return got

    assert arun(main()) == []


def test_the_probe_measures_the_time_packets_spend_inside(arun, batch):
    async def main():
        engine = MediaEngine(batch_reads=batch, ptime=30.0)
        probe = engine.clock.relay_probe = RelayDelayProbe(every=1)
        a, b, fa, fb = await bridged(engine)
        for i in range(20):
            fa.sendto(packet(i, 160 * i, payloads(1)[0]), ("127.0.0.1", a.local_port))
            await receive(fb, 1)
            await asyncio.sleep(0.01)
        for s in (a, b):
            await s.close()
        fa.close()
        fb.close()
        return probe.delays

    delays = arun(main())
    # the first packet turns kernel timestamps on for the socket; the next 50 ms are skipped
    assert len(delays) >= 10
    assert all(0 <= d < 1.0 for d in delays)


def test_a_leg_taking_over_the_peer_gets_its_packets_at_once(arun, batch):
    """b relays a; then c takes a over (``c.relay_from(a)``) while b keeps its source: a's
    packets go to c from the next one on — not on to b through a route still armed."""

    async def main():
        engine = MediaEngine(batch_reads=batch, ptime=30.0)
        a, b, fa, fb = await bridged(engine)
        c, fc = await engine.open(), far_end()
        c.set_remote(*fc.getsockname())
        dest = ("127.0.0.1", a.local_port)
        for i in range(3):  # the route a -> b is armed after the first
            fa.sendto(packet(i, 160 * i, payloads(1)[0]), dest)
            await receive(fb, 1)
        c.relay_from(a)
        for i in range(3, 6):
            fa.sendto(packet(i, 160 * i, payloads(1)[0]), dest)
        to_c = await receive(fc, 3)
        to_b = await quiet(fb, 0.2)
        for s in (a, b, c):
            await s.close()
        for s in (fa, fb, fc):
            s.close()
        return to_c, to_b

    to_c, to_b = arun(main())
    assert len(to_c) == 3 and to_b == []


def test_a_far_end_the_kernel_refuses_is_counted_not_raised(arun, batch):
    """Sending to a broadcast address without SO_BROADCAST fails in the kernel: relaying
    goes on (a loop transport reports it to error_received; a batch-read socket counts it)
    and does not break the read batch, so the other direction still flows."""

    async def main():
        engine = MediaEngine(batch_reads=batch, ptime=30.0)
        a, b, fa, fb = await bridged(engine)
        b.set_remote("255.255.255.255", 9)
        for i in range(3):
            fa.sendto(packet(i, 160 * i, payloads(1)[0]), ("127.0.0.1", a.local_port))
        fb.sendto(packet(1, 160, payloads(1)[0]), ("127.0.0.1", b.local_port))
        back = await receive(fa, 1)  # b's far end still reaches a's
        errors = b.endpoint.send_errors
        for s in (a, b):
            await s.close()
        fa.close()
        fb.close()
        return back, errors

    back, errors = arun(main())
    assert len(back) == 1
    assert errors == (3 if batch else 0)
