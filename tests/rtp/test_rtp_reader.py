"""The batch RTP reader and its armed routes, compiled and pure, on loopback sockets."""

from __future__ import annotations

import random
import select
import socket
import struct

import pytest

from callcore import fastpath
from callcore.fastpath import impl as fp
from callcore.rtp.packet import RtpPacket
from callcore.rtp.session import RtpSession

HDR = struct.Struct("!BBHII")


@pytest.fixture(params=["cython", "pure"])
def rtpio(request):
    if request.param == "pure":
        return fastpath.load(pure=True, name="callcore.net._rtpio")
    try:
        return fastpath.load(pure=False, name="callcore.net._rtpio")
    except ImportError:
        pytest.skip("compiled reader not built")


def udp() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


def poll_all(reader, want: int, rounds: int = 200) -> list:
    out: list = []
    for _ in range(rounds):
        select.select([reader.fileno()], [], [], 0.05)
        out += reader.poll()
        if len(out) >= want:
            break
    return out


def drain(sock: socket.socket) -> list[bytes]:
    got = []
    select.select([sock], [], [], 0.2)
    while True:
        try:
            got.append(sock.recv(2048))
        except BlockingIOError:
            return got


def scenario(rtpio, table: bytes | None):
    """Legs A and B on the switch; far end a sends to A, B relays to far end b."""
    leg_a, leg_b, far_a, far_b, stranger = udp(), udp(), udp(), udp(), udp()
    reader = rtpio.RtpReader()
    sa, sb = reader.add(leg_a.fileno()), reader.add(leg_b.fileno())
    to_a = leg_a.getsockname()
    pl = bytes(range(1, 161))
    far_a.sendto(HDR.pack(0x80, 0, 999, 1000, 0xAAAA) + pl, to_a)
    before = poll_all(reader, 1)
    # the session of leg B anchors the stream on that first packet (as the Python path
    # does), then the route takes over from those offsets
    session = RtpSession(ssrc=0xB0B, rng=random.Random(1))
    first = RtpPacket.parse(before[0][1])
    session.forward("a", first, first.payload, 8 if table else 0, 4000, now=1.0)
    reader.arm(sa, sb, far_b.getsockname(), far_a.getsockname(), 0, 8 if table else 0,
               0xAAAA, 0xB0B, session._fwd_seq, session._fwd_ts, session._seq, 4160,
               table)  # fmt: skip
    sent = [
        (far_a, HDR.pack(0x80, 0, 1000, 1160, 0xAAAA) + pl),  # relayed
        (far_a, HDR.pack(0x80, 0x80, 1002, 1480, 0xAAAA) + pl),  # relayed (marker kept)
        (far_a, HDR.pack(0x80, 0, 1001, 1320, 0xAAAA) + pl),  # late: relayed
        (far_a, HDR.pack(0x80, 101, 1003, 1480, 0xAAAA) + b"\x01\x0a\x00\xa0"),  # DTMF: not
        (far_a, HDR.pack(0x80, 0, 1004, 1640, 0xCCCC) + pl),  # another SSRC: not
        (far_a, HDR.pack(0x81, 0, 1005, 1800, 0xAAAA) + b"\0\0\0\1" + pl),  # a CSRC: not
        (stranger, HDR.pack(0x80, 0, 1006, 1960, 0xAAAA) + pl),  # not the latched source
        (far_a, HDR.pack(0x80, 0, 1007, 2120, 0xAAAA)[:10]),  # truncated: not
    ]
    for sock, data in sent:
        sock.sendto(data, to_a)
    polled = poll_all(reader, len(sent))
    out = drain(far_b)
    state = reader.disarm(sa)
    after_disarm = reader.armed(sa)
    far_a.sendto(HDR.pack(0x80, 0, 1008, 2280, 0xAAAA) + pl, to_a)
    unarmed = poll_all(reader, 1)
    nothing = drain(far_b)
    reader.remove(sa)
    reader.remove(sb)
    reader.close()
    addrs = (far_a.getsockname(), stranger.getsockname())
    for s in (leg_a, leg_b, far_a, far_b, stranger):
        s.close()
    return session, sent, polled, out, state, after_disarm, unarmed, nothing, addrs


@pytest.mark.parametrize("transcode", [False, True])
def test_an_armed_route_relays_exactly_what_the_session_would_and_nothing_else(rtpio, transcode):
    table = fp.alaw_encode(fp.ulaw_decode(bytes(range(256)))) if transcode else None
    session, sent, polled, out, state, after, unarmed, nothing, (src, stranger) = scenario(
        rtpio, table
    )
    # every datagram comes back for the per-packet work, in order, with its source
    assert [p[1] for p in polled] == [d for _, d in sent]
    assert [p[2] for p in polled] == [src] * 6 + [stranger, src]
    assert [p[3] for p in polled] == [True, True, True] + [False] * 5
    # the relayed bytes are RtpSession.forward's, transcoded like the Python relay
    expect = []
    for _, data in sent[:3]:
        pkt = RtpPacket.parse(data)
        payload = bytes(pkt.payload).translate(table) if table else pkt.payload
        if transcode:
            assert payload == fp.alaw_encode(fp.ulaw_decode(pkt.payload))
        wire, _ = session.forward("a", pkt, payload, 8 if transcode else 0, 0, now=2.0)
        expect.append(wire)
    assert out == expect
    # the state handed back continues the stream past the newest packet (1002)
    assert state[0] == session._seq
    assert state[1] == (4160 + (1480 - 1160) + 160) & 0xFFFFFFFF
    assert state[2:4] == (3, 480)
    assert state[4] == RtpPacket.parse(expect[1]).timestamp and state[5] > 0
    assert after is False
    assert [p[3] for p in unarmed] == [False] and nothing == []


def test_the_twins_agree():
    try:
        compiled = fastpath.load(pure=False, name="callcore.net._rtpio")
    except ImportError:
        pytest.skip("compiled reader not built")
    pure = fastpath.load(pure=True, name="callcore.net._rtpio")
    table = fp.alaw_encode(fp.ulaw_decode(bytes(range(256))))
    a = scenario(compiled, table)
    b = scenario(pure, table)
    assert a[3] == b[3]  # the relayed bytes
    assert [(p[1], p[3]) for p in a[2]] == [(p[1], p[3]) for p in b[2]]
    assert a[4][:5] == b[4][:5]


def test_sync_reports_counts_since_the_last_call(rtpio):
    leg_a, leg_b, far_a, far_b = udp(), udp(), udp(), udp()
    reader = rtpio.RtpReader()
    sa, sb = reader.add(leg_a.fileno()), reader.add(leg_b.fileno())
    assert reader.sync(sa) is None
    reader.arm(sa, sb, far_b.getsockname(), far_a.getsockname(), 0, 0, 7, 8, 0, 0, 0, 0)
    for i in range(3):
        far_a.sendto(HDR.pack(0x80, 0, i, 160 * i, 7) + bytes(160), leg_a.getsockname())
    assert len(poll_all(reader, 3)) == 3
    assert reader.sync(sa)[:4] == (3, 480, 3, 480)
    assert reader.sync(sa)[2:4] == (0, 0) and reader.sync(sa)[5] == 0.0
    with pytest.raises(KeyError):
        reader.arm(sa, 99, far_b.getsockname(), far_a.getsockname(), 0, 0, 7, 8, 0, 0, 0, 0)
    reader.close()
    for s in (leg_a, leg_b, far_a, far_b):
        s.close()


def test_removing_a_socket_drops_the_routes_into_it_too(rtpio):
    leg_a, leg_b, far_a, far_b = udp(), udp(), udp(), udp()
    reader = rtpio.RtpReader()
    sa, sb = reader.add(leg_a.fileno()), reader.add(leg_b.fileno())
    reader.arm(sa, sb, far_b.getsockname(), far_a.getsockname(), 0, 0, 7, 8, 0, 0, 0, 0)
    reader.remove(sb)  # the leg the route sends from goes away
    assert not reader.armed(sa)
    far_a.sendto(HDR.pack(0x80, 0, 1, 160, 7) + bytes(160), leg_a.getsockname())
    got = poll_all(reader, 1)
    assert [p[3] for p in got] == [False] and drain(far_b) == []
    reader.close()
    for s in (leg_a, leg_b, far_a, far_b):
        s.close()


def test_kernel_stamps_come_with_each_datagram_once_enabled(rtpio):
    import time

    leg, far = udp(), udp()
    reader = rtpio.RtpReader()
    slot = reader.add(leg.fileno())
    reader.enable_stamps()
    t0 = time.time()
    for i in range(3):
        far.sendto(HDR.pack(0x80, 0, i, 160 * i, 7) + bytes(160), leg.getsockname())
    got, stamps = [], []
    for _ in range(100):
        select.select([reader.fileno()], [], [], 0.05)
        got += reader.poll()
        stamps += reader.stamps  # one per datagram of that poll
        if len(got) >= 3:
            break
    assert [p[0] for p in got] == [slot] * 3
    assert len(stamps) == 3
    assert all(t0 - 0.01 <= t <= time.time() for t in stamps)
    assert stamps == sorted(stamps)
    reader.close()
    leg.close()
    far.close()


def test_arbitrary_datagrams_give_the_same_results_from_both_twins():
    """Random bytes, RTP-like headers with random fields, and sizes from 0 to 3,000 bytes,
    into an armed route: nothing crashes, no datagram is truncated or lost, and the
    compiled reader and the pure one return and relay exactly the same."""
    try:
        compiled = fastpath.load(pure=False, name="callcore.net._rtpio")
    except ImportError:
        pytest.skip("compiled reader not built")
    pure = fastpath.load(pure=True, name="callcore.net._rtpio")
    rng = random.Random(4475)
    datagrams = []
    for _ in range(300):
        kind = rng.random()
        if kind < 0.4:  # a valid-looking packet of the route, random sizes
            n = rng.choice([0, 1, 80, 160, 240, 1400, 2500])
            datagrams.append(HDR.pack(0x80, rng.choice([0, 0x80]), rng.getrandbits(16),
                                      rng.getrandbits(32), 0x5EED) + rng.randbytes(n))  # fmt: skip
        elif kind < 0.7:  # random header bits
            datagrams.append(HDR.pack(rng.getrandbits(8), rng.getrandbits(8), rng.getrandbits(16),
                                      rng.getrandbits(32), rng.choice([0x5EED, 1]))
                             + rng.randbytes(rng.randrange(0, 300)))  # fmt: skip
        else:  # anything
            datagrams.append(rng.randbytes(rng.randrange(0, 3000)))

    def run(module):
        leg_a, leg_b, far_a, far_b = udp(), udp(), udp(), udp()
        far_b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        reader = module.RtpReader()
        sa, sb = reader.add(leg_a.fileno()), reader.add(leg_b.fileno())
        reader.arm(sa, sb, far_b.getsockname(), far_a.getsockname(), 0, 8, 0x5EED, 0xB0B,
                   17, 1000, 5, 7, fp.alaw_encode(fp.ulaw_decode(bytes(range(256)))))  # fmt: skip
        polled, relayed = [], []
        for i in range(0, len(datagrams), 20):  # in bursts, as a socket queue would hold them
            for d in datagrams[i : i + 20]:
                far_a.sendto(d, leg_a.getsockname())
            polled += poll_all(reader, len(datagrams[: i + 20]) - len(polled))
            relayed += drain(far_b)
        state = reader.disarm(sa)
        reader.close()
        for s in (leg_a, leg_b, far_a, far_b):
            s.close()
        return [(p[1], p[3]) for p in polled], relayed, state

    a, b = run(compiled), run(pure)
    assert [d for d, _ in a[0]] == datagrams  # every datagram, whole, in order
    assert a[0] == b[0]
    assert a[1] == b[1] and len(a[1]) == sum(r for _, r in a[0]) > 50
    assert a[2][:5] == b[2][:5]


def test_routes_need_ipv4_literals(rtpio):
    """A far end known only by name cannot be armed (the caller relays in Python)."""
    leg_a, leg_b = udp(), udp()
    reader = rtpio.RtpReader()
    sa, sb = reader.add(leg_a.fileno()), reader.add(leg_b.fileno())
    with pytest.raises(ValueError):
        reader.arm(sa, sb, ("localhost", 4000), ("127.0.0.1", 4002), 0, 0, 7, 8, 0, 0, 0, 0)
    with pytest.raises(ValueError):
        reader.arm(sa, sb, ("127.0.0.1", 4000), ("::1", 4002), 0, 0, 7, 8, 0, 0, 0, 0)
    assert not reader.armed(sa)
    reader.close()
    leg_a.close()
    leg_b.close()
