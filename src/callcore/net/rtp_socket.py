"""asyncio RTP/RTCP endpoint: a port pair from a :class:`PortPool`, symmetric RTP.

The endpoint binds RTP on an even pool port and RTCP on port + 1, hands every
valid RTP packet to a callback (or a queue read with :meth:`RtpEndpoint.recv`),
sends packets built by its sans-IO :class:`~callcore.rtp.session.RtpSession`,
and sends SR/RR + SDES every ``rtcp_interval`` seconds (randomized ×0.5–1.5)
from one loop timer (no task per endpoint). On close it sends an RTCP BYE —
only if it ever sent an RTP or RTCP packet (RFC 3550 §6.3.7).

The sockets are created and bound here and handed to the loop ready-made: with
``local_addr`` the loop would resolve the (numeric) host again for every socket
— in uvloop a ``getaddrinfo`` round trip through its thread pool, four per
bridged call.

Symmetric RTP (latching): the address signalled in SDP is often wrong behind
NAT. With ``LatchMode.ONCE`` (default) the first valid packet's source address
becomes the send address and packets from any other source are dropped
afterwards; ``FOLLOW`` re-latches to the source of every valid packet;
``OFF`` always sends to the signalled address and accepts any source.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import ipaddress
import socket
import time
from collections.abc import Callable

from ..rtp.packet import RtpPacket
from ..rtp.session import RtpSession
from .port_pool import PortPool, PortPoolExhausted
from .rtp_reader import ReadHub
from .rx_stamp import last_receive_time

__all__ = ["LatchMode", "RtpEndpoint"]

Addr = tuple[str, int]
PacketCallback = Callable[[RtpPacket, Addr], None]


class LatchMode(enum.Enum):
    OFF = "off"
    ONCE = "once"
    FOLLOW = "follow"


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, handler: Callable[[bytes, Addr], None], family: int | None) -> None:
        self._handler = handler
        if family == socket.AF_INET:  # the loop's address is (host, port) already
            self.datagram_received = handler  # type: ignore[method-assign]  # per packet

    def datagram_received(self, data: bytes, addr) -> None:
        self._handler(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.
        pass


@functools.lru_cache(maxsize=64)
def _family(host: str) -> int | None:
    """The address family of an IP literal; None for a name (the loop resolves it).
    Memoised: it is asked for every port pair, almost always about the same host."""
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        return None


def _bound_socket(family: int, host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to ``(host, port)`` (OSError if refused)."""
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class RtpEndpoint:
    """One RTP session on a UDP port pair. Create with :meth:`open`."""

    def __init__(
        self,
        pool: PortPool,
        port: int,
        session: RtpSession,
        latch: LatchMode,
        on_packet: PacketCallback | None,
        rtcp_interval: float,
        clock: Callable[[], float],
        queue_size: int,
    ) -> None:
        self.pool = pool
        self.port = port
        self.session = session
        self.latch = latch
        self.rtcp_interval = rtcp_interval
        self._on_packet = on_packet
        self._clock = clock
        self._queue: asyncio.Queue[tuple[RtpPacket, Addr]] = asyncio.Queue(queue_size)
        self._rtp: asyncio.DatagramTransport | None = None
        self._rtcp: asyncio.DatagramTransport | None = None
        self._rtp_fd = -1
        self._send: Callable[[bytes, Addr], None] | None = None  # the RTP socket's sendto
        self._hub: ReadHub | None = None  # set when a ReadHub reads our RTP socket
        self._sock: socket.socket | None = None
        self.slot = -1  # our slot in the hub's reader
        self._on_relayed: PacketCallback | None = None
        #: called when the remote address changes (set_remote, re-latching)
        self.on_remote_change: Callable[[], None] | None = None
        #: called before an RTCP report is built (to bring the sender statistics up to date)
        self.before_report: Callable[[], None] | None = None
        self._rtcp_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self.host = ""
        self.remote_addr: Addr | None = None
        self.remote_rtcp_addr: Addr | None = None
        self.latched = False
        self.rtcp_latched = False
        self.dropped_foreign = 0
        self.dropped_queue_full = 0
        self.send_errors = 0  # datagrams the socket refused (batch-read sockets only)
        self.rtcp_sent = 0

    # -- construction ---------------------------------------------------------
    @classmethod
    async def open(
        cls,
        pool: PortPool,
        host: str = "127.0.0.1",
        *,
        remote: Addr | None = None,
        remote_rtcp: Addr | None = None,
        session: RtpSession | None = None,
        latch: LatchMode = LatchMode.ONCE,
        on_packet: PacketCallback | None = None,
        rtcp_interval: float = 5.0,
        clock: Callable[[], float] = time.time,
        queue_size: int = 1000,
        max_attempts: int = 512,
        hub: ReadHub | None = None,
    ) -> RtpEndpoint:
        """Bind a port pair from ``pool`` on ``host`` and start RTCP.

        Ports the OS refuses (taken by another process) are skipped; after
        ``max_attempts`` failures :class:`PortPoolExhausted` is raised. With ``hub``
        (IPv4 only) the RTP socket is read by the :class:`ReadHub` in batches instead
        of by a loop transport of its own.
        """
        loop = asyncio.get_running_loop()
        family = _family(host)
        last_exc: OSError | None = None
        for _ in range(min(max_attempts, pool.capacity)):
            port = pool.allocate()
            ep = cls(
                pool,
                port,
                session or RtpSession(),
                latch,
                on_packet,
                rtcp_interval,
                clock,
                queue_size,
            )
            try:
                if hub is not None and family == socket.AF_INET:
                    rtp = ep._hub_socket(hub, host, port)
                else:
                    rtp, _ = await ep._endpoint(loop, family, host, port, ep._rtp_received)
                try:
                    rtcp, _ = await ep._endpoint(loop, family, host, port + 1, ep._rtcp_received)
                except BaseException:  # refused, or cancelled while binding
                    ep._close_rtp(rtp)
                    raise
            except OSError as exc:
                pool.release(port)
                last_exc = exc
                continue
            except BaseException:  # cancelled (the call was given up): give the pair back
                pool.release(port)
                raise
            ep._rtcp = rtcp
            if rtp is not None:
                ep._rtp = rtp
                ep._send = rtp.sendto
                sock = rtp.get_extra_info("socket")
                ep._rtp_fd = sock.fileno() if sock is not None else -1
            ep.host = host
            if remote is not None:
                ep.set_remote(remote, remote_rtcp)
            ep._schedule_rtcp(loop)
            return ep
        raise PortPoolExhausted(f"could not bind an RTP port pair on {host}: {last_exc}")

    def _hub_socket(self, hub: ReadHub, host: str, port: int) -> None:
        sock = _bound_socket(socket.AF_INET, host, port)
        self._sock, self._hub, self._rtp_fd = sock, hub, sock.fileno()
        self.slot = hub.attach(self, sock.fileno())
        sendto = sock.sendto

        def send(data: bytes, addr: Addr) -> None:
            try:
                sendto(data, addr)
            except OSError:  # buffer full, network unreachable...: dropped, as a loop
                self.send_errors += 1  # transport drops it (and tells error_received)

        self._send = send

    def _close_rtp(self, rtp: asyncio.DatagramTransport | None) -> None:
        if rtp is not None:
            rtp.close()
        if self._hub is not None:
            self._hub.detach(self.slot)
            self._hub = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @staticmethod
    async def _endpoint(loop, family: int | None, host: str, port: int, handler):
        if family is None:  # a host name: let the loop resolve it
            return await loop.create_datagram_endpoint(
                lambda: _Proto(handler, None), local_addr=(host, port)
            )
        sock = _bound_socket(family, host, port)
        try:
            return await loop.create_datagram_endpoint(lambda: _Proto(handler, family), sock=sock)
        except BaseException:
            sock.close()
            raise

    @property
    def local_addr(self) -> Addr:
        return (self.host, self.port)

    @property
    def rtcp_port(self) -> int:
        return self.port + 1

    def set_remote(self, addr: Addr, rtcp_addr: Addr | None = None) -> None:
        """Set the signalled (SDP) address; RTCP defaults to its port + 1."""
        self.remote_addr = (addr[0], addr[1])
        self.remote_rtcp_addr = rtcp_addr or (addr[0], addr[1] + 1)
        self.latched = self.rtcp_latched = False
        if self.on_remote_change is not None:
            self.on_remote_change()

    # -- receive ----------------------------------------------------------------
    def _accept_source(self, addr: Addr, rtcp: bool) -> bool:
        mode = self.latch
        if mode is LatchMode.OFF:
            return True
        latched = self.rtcp_latched if rtcp else self.latched
        current = self.remote_rtcp_addr if rtcp else self.remote_addr
        if latched and mode is LatchMode.ONCE and addr != current:
            self.dropped_foreign += 1
            return False
        return True

    def _latch(self, addr: Addr, rtcp: bool) -> None:
        if self.latch is LatchMode.OFF:
            return
        if rtcp:
            if not self.rtcp_latched or self.latch is LatchMode.FOLLOW:
                self.remote_rtcp_addr, self.rtcp_latched = addr, True
        elif not self.latched or self.latch is LatchMode.FOLLOW:
            changed = addr != self.remote_addr
            self.remote_addr, self.latched = addr, True
            if not self.rtcp_latched:
                self.remote_rtcp_addr = (addr[0], addr[1] + 1)
            if changed and self.on_remote_change is not None:
                self.on_remote_change()

    def _rtp_received(self, data: bytes, addr: Addr, relayed: bool = False) -> None:
        """A datagram from ``addr``; ``relayed``: the hub's reader already sent it on."""
        if self.latched and self.latch is LatchMode.ONCE:  # the usual case, in short
            if addr != self.remote_addr:
                self.dropped_foreign += 1
                return
            pkt = self.session.on_rtp(data, self._clock())
            if pkt is None:
                return
        else:
            if not self._accept_source(addr, rtcp=False):
                return
            pkt = self.session.on_rtp(data, self._clock())
            if pkt is None:
                return
            self._latch(addr, rtcp=False)
        if relayed and self._on_relayed is not None:
            self._on_relayed(pkt, addr)
            return
        if self._on_packet is not None:
            self._on_packet(pkt, addr)
            return
        try:
            self._queue.put_nowait((pkt, addr))
        except asyncio.QueueFull:
            self.dropped_queue_full += 1

    def _rtcp_received(self, data: bytes, addr: Addr) -> None:
        if not self._accept_source(addr, rtcp=True):
            return
        if self.session.on_rtcp(data, self._clock()):
            self._latch(addr, rtcp=True)

    def set_packet_handler(
        self, on_packet: PacketCallback | None, on_relayed: PacketCallback | None = None
    ) -> None:
        """Deliver valid RTP packets to ``on_packet`` (None: to :meth:`recv`'s queue),
        and those the hub's reader already relayed to ``on_relayed`` (if given)."""
        self._on_packet = on_packet
        self._on_relayed = on_relayed

    @property
    def hub(self) -> ReadHub | None:
        """The :class:`ReadHub` reading our RTP socket, if any."""
        return self._hub

    def last_receive_time(self) -> float | None:
        """Kernel receive time (Unix) of the RTP datagram being handled — inside the
        packet callback; None when unknown (see :mod:`callcore.net.rx_stamp`)."""
        return last_receive_time(self._rtp_fd) if self._rtp_fd >= 0 else None

    async def recv(self) -> tuple[RtpPacket, Addr]:
        """Next received packet and its source (when no ``on_packet`` callback is set)."""
        return await self._queue.get()

    # -- send -------------------------------------------------------------------
    def send(
        self, payload: bytes, *, payload_type: int, timestamp: int, marker: bool = False
    ) -> RtpPacket:
        """Number, account for and send one packet from this session's SSRC."""
        pkt = self.session.build_rtp(
            payload,
            payload_type=payload_type,
            timestamp=timestamp,
            marker=marker,
            now=self._clock(),
        )
        self._sendto(pkt.serialize())
        return pkt

    def forward(
        self,
        origin: object,
        packet: RtpPacket,
        payload: bytes,
        payload_type: int,
        next_timestamp: int,
    ) -> int:
        """Relay ``packet`` (received elsewhere, from ``origin``) as part of this
        session's stream with ``payload``; returns the timestamp it got. See
        :meth:`~callcore.rtp.session.RtpSession.forward` for the numbering."""
        send, remote = self._send, self.remote_addr
        if send is None or self._closed or remote is None:
            self._sendto(b"")  # raises the reason
        data, ts = self.session.forward(
            origin, packet, payload, payload_type, next_timestamp, self._clock()
        )
        send(data, remote)  # type: ignore[misc]
        return ts

    def send_packet(self, packet: RtpPacket) -> None:
        """Send a packet built elsewhere (e.g. :class:`~callcore.rtp.dtmf_event.DtmfSender`)."""
        self.session.on_sent(packet, self._clock())
        self._sendto(packet.serialize())

    def _sendto(self, data: bytes) -> None:
        if self._send is None or self._closed:
            raise RuntimeError("RTP endpoint is closed")
        if self.remote_addr is None:
            raise RuntimeError("no remote address yet: call set_remote() or wait for a packet")
        self._send(data, self.remote_addr)

    def send_rtcp_report(self) -> None:
        """Send an SR/RR + SDES now (the periodic task does this on its own)."""
        if self._rtcp is not None and self.remote_rtcp_addr is not None and not self._closed:
            if self.before_report is not None:
                self.before_report()
            self._rtcp.sendto(self.session.rtcp_report(self._clock()), self.remote_rtcp_addr)
            self.rtcp_sent += 1

    def _schedule_rtcp(self, loop: asyncio.AbstractEventLoop) -> None:
        self._rtcp_timer = loop.call_later(
            self.session.rtcp_interval(self.rtcp_interval), self._rtcp_due, loop
        )

    def _rtcp_due(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._closed:
            return
        self._schedule_rtcp(loop)  # the next one first: a failing send must not stop RTCP
        self.send_rtcp_report()

    # -- teardown ---------------------------------------------------------------
    async def close(self, reason: str | None = None) -> None:
        """Send an RTCP BYE (if a peer is known and we ever sent RTP or RTCP: RFC 3550
        §6.3.7), stop RTCP, unbind, release the ports."""
        if self._closed:
            return
        if (
            self._rtcp is not None
            and self.remote_rtcp_addr is not None
            and (self.rtcp_sent or self.session.sender.active)
        ):
            with contextlib.suppress(OSError):
                self._rtcp.sendto(
                    self.session.rtcp_bye(self._clock(), reason), self.remote_rtcp_addr
                )
        self._closed = True
        if self._rtcp_timer is not None:
            self._rtcp_timer.cancel()
            self._rtcp_timer = None
        self._close_rtp(self._rtp)
        if self._rtcp is not None:
            self._rtcp.close()
        self._send = None
        self.on_remote_change = None
        self.before_report = None
        self._on_relayed = None
        self._on_packet = None  # it usually refers back to our owner: no cycle left behind
        self.pool.release(self.port)

    async def __aenter__(self) -> RtpEndpoint:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
