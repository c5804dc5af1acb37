"""RTP endpoints on 127.0.0.1: exchange, symmetric latching, RTCP, port release.

Every test runs on uvloop and on stock asyncio (``arun``). Conditions are
awaited with a generous bound, never timed.
"""

from __future__ import annotations

import asyncio
import random
import socket

import pytest

from callcore.net.port_pool import PortPool
from callcore.net.rtp_socket import LatchMode, RtpEndpoint
from callcore.rtp.dtmf_event import DtmfDigit, DtmfReceiver, DtmfSender
from callcore.rtp.packet import RtpPacket

HOST = "127.0.0.1"


@pytest.fixture
def pool():
    start = random.SystemRandom().randrange(30000, 59000, 2)
    return PortPool(start, start + 400)


async def wait_for(cond, timeout=10.0):
    async def poll():
        while not cond():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def test_two_endpoints_exchange(arun, pool):
    async def main():
        a = await RtpEndpoint.open(pool, HOST)
        b = await RtpEndpoint.open(pool, HOST)
        a.set_remote(b.local_addr)
        sent = [a.send(bytes([i]) * 160, payload_type=0, timestamp=i * 160) for i in range(20)]
        got = [await asyncio.wait_for(b.recv(), 10) for _ in range(20)]
        assert [p for p, _ in got] == sent
        assert {addr for _, addr in got} == {a.local_addr}
        assert b.remote_addr == a.local_addr and b.latched  # learned by symmetric RTP
        reply = b.send(b"\xff" * 160, payload_type=0, timestamp=0, marker=True)
        p, addr = await asyncio.wait_for(a.recv(), 10)
        assert p == reply and addr == b.local_addr
        assert b.session.receiver.received == 19  # first packet is on probation
        assert pool.in_use == 2
        await a.close()
        await b.close()
        assert pool.in_use == 0

    arun(main())


def test_symmetric_rtp_latches_to_real_source(arun, pool):
    async def main():
        a = await RtpEndpoint.open(pool, HOST)
        b = await RtpEndpoint.open(pool, HOST)
        # b was told a wrong address (as behind NAT); a sends to b
        b.set_remote((HOST, 9))
        a.set_remote(b.local_addr)
        a.send(b"x" * 160, payload_type=0, timestamp=0)
        await asyncio.wait_for(b.recv(), 10)
        assert b.remote_addr == a.local_addr
        assert b.remote_rtcp_addr == (HOST, a.rtcp_port)
        # a stranger sends to b: with LatchMode.ONCE it is dropped
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind((HOST, 0))
        try:
            stranger.sendto(bytes(RtpPacket(ssrc=666, payload=b"evil")), b.local_addr)
            await wait_for(lambda: b.dropped_foreign == 1)
        finally:
            stranger.close()
        assert b.remote_addr == a.local_addr
        b.send(b"y" * 160, payload_type=0, timestamp=0)
        p, _ = await asyncio.wait_for(a.recv(), 10)
        assert p.payload == b"y" * 160
        await a.close()
        await b.close()
        assert pool.in_use == 0

    arun(main())


def test_follow_mode_relatches_and_off_mode_keeps_sdp(arun, pool):
    async def main():
        follow = await RtpEndpoint.open(pool, HOST, latch=LatchMode.FOLLOW)
        off = await RtpEndpoint.open(pool, HOST, latch=LatchMode.OFF, remote=(HOST, 9))
        s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for s in (s1, s2):
                s.bind((HOST, 0))
            s1.sendto(bytes(RtpPacket(ssrc=1, sequence_number=1)), follow.local_addr)
            await wait_for(lambda: follow.remote_addr == s1.getsockname())
            s2.sendto(bytes(RtpPacket(ssrc=1, sequence_number=2)), follow.local_addr)
            await wait_for(lambda: follow.remote_addr == s2.getsockname())
            s1.sendto(bytes(RtpPacket(ssrc=1, sequence_number=3)), off.local_addr)
            await asyncio.wait_for(off.recv(), 10)
            assert off.remote_addr == (HOST, 9) and not off.latched
            # garbage is not latched onto
            s1.sendto(b"\x00garbage", follow.local_addr)
            s2.sendto(bytes(RtpPacket(ssrc=1, sequence_number=4)), follow.local_addr)
            await wait_for(lambda: follow.session.invalid_rtp == 1)
            assert follow.remote_addr == s2.getsockname()
        finally:
            s1.close()
            s2.close()
            await follow.close()
            await off.close()
        assert pool.in_use == 0

    arun(main())


def test_rtcp_sr_rr_exchange_and_rtt(arun, pool):
    async def main():
        a = await RtpEndpoint.open(pool, HOST, rtcp_interval=0.05)  # sends media: SR
        b = await RtpEndpoint.open(pool, HOST, rtcp_interval=0.05)  # receive only: RR
        a.set_remote(b.local_addr)
        b.set_remote(a.local_addr)

        async def stream():
            i = 0
            while True:
                a.send(b"\x00" * 160, payload_type=0, timestamp=i * 160)
                i += 1
                await asyncio.sleep(0.02)

        task = asyncio.create_task(stream())
        try:
            await wait_for(lambda: b.session.sr_received >= 2 and a.session.rr_received >= 2)
            await wait_for(lambda: a.session.rtt is not None)
        finally:
            task.cancel()
        assert 0.0 <= a.session.rtt < 5.0
        assert b.session.receiver.received > 0
        assert 1.0 <= b.session.mos() <= 4.5
        await b.close(reason="done")
        await wait_for(lambda: a.session.bye_received)
        await a.close()
        assert pool.in_use == 0

    arun(main())


def test_dtmf_over_sockets(arun, pool):
    async def main():
        rx = DtmfReceiver()
        digits = []

        def on_packet(p, addr):
            if p.payload_type == 101:
                digits.extend(o.digit for o in rx.receive(p, 0.0) if isinstance(o, DtmfDigit))

        a = await RtpEndpoint.open(pool, HOST)
        b = await RtpEndpoint.open(pool, HOST, on_packet=on_packet)
        a.set_remote(b.local_addr)
        tx = DtmfSender(a.session.ssrc)
        ts = 0
        for d in "12#":
            for tp in tx.packets(d, sequence_number=a.session.next_sequence(), timestamp=ts):
                a.send_packet(tp.packet)
            for _ in range(6):
                a.session.next_sequence()
            ts += 1600
        await wait_for(lambda: len(digits) == 3)
        assert "".join(digits) == "12#"
        await a.close()
        await b.close()

    arun(main())


def test_ports_taken_by_others_are_skipped(arun):
    async def main():
        start = random.SystemRandom().randrange(30000, 59000, 2)
        blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            blocker.bind((HOST, start + 1))  # RTCP port of the first pair
        except OSError:
            blocker.close()
            pytest.skip("port in use")
        pool = PortPool(start, start + 10)
        try:
            ep = await RtpEndpoint.open(pool, HOST)
            assert ep.port != start and pool.in_use == 1
            await ep.close()
            assert pool.in_use == 0
            with pytest.raises(RuntimeError):
                ep.send(b"", payload_type=0, timestamp=0)
        finally:
            blocker.close()

    arun(main())
