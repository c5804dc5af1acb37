"""asyncio adapters that move SIP bytes: UDP, TCP and TLS.

They only move bytes. Each received message is handed, with the
:class:`~callcore.sip.transaction.Peer` it came from, to one callback
(``on_message(data, peer)``); :meth:`SipTransports.send` writes bytes to a
peer, opening a TCP/TLS connection when none is open to it. Stream
transports cut messages with :class:`~callcore.sip.message.StreamFramer`;
a framing fault is answered (when it can be) and the connection closed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from callcore.sip.errors import SipParseError
from callcore.sip.message import StreamFramer
from callcore.sip.transaction import Peer

log = logging.getLogger("callcore.net.sip")

OnMessage = Callable[[bytes, Peer], None]
OnStreamError = Callable[[bytes, SipParseError, Peer], bytes | None]
OnTransportError = Callable[[Peer], None]


@dataclass(frozen=True, slots=True)
class Listen:
    """One listening address: ``Listen("udp", "127.0.0.1", 5060)``."""

    transport: str
    host: str
    port: int

    @classmethod
    def parse(cls, spec: str) -> Listen:
        """``udp:HOST:PORT`` / ``tcp:HOST:PORT`` / ``tls:HOST:PORT`` (IPv6 host in [])."""
        transport, _, rest = spec.partition(":")
        transport = transport.lower()
        if transport not in ("udp", "tcp", "tls") or not rest:
            raise ValueError(
                f"bad listen spec {spec!r}: use udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT"
            )
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(
                f"bad listen spec {spec!r}: use udp:HOST:PORT, tcp:HOST:PORT or tls:HOST:PORT"
            )
        return cls(transport, host.strip("[]"), int(port))


_IP_CACHE: dict[str, bool] = {}


def _is_ip(host: str) -> bool:
    """Whether ``host`` is an IP literal (memoised: it is asked on every send)."""
    known = _IP_CACHE.get(host)
    if known is None:
        try:
            ipaddress.ip_address(host)
            known = True
        except ValueError:
            known = False
        if len(_IP_CACHE) < 10_000:
            _IP_CACHE[host] = known
    return known


class _Datagram(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransports) -> None:
        self.owner = owner
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # type: ignore[override]
        if data.strip(b"\r\n") == b"":
            return  # keep-alive
        self.owner.on_message(data, Peer("udp", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)


class _Stream(asyncio.Protocol):
    def __init__(self, owner: SipTransports, kind: str) -> None:
        self.owner = owner
        self.kind = kind
        self.framer = StreamFramer(owner.max_message)
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = None
        self.pending: list[bytes] = []

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer(self.kind, host, port)
        self.owner._connections[self.peer] = self
        for data in self.pending:
            transport.write(data)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None and self.transport is not None
        pings = self.framer.pings
        try:
            messages = self.framer.feed(data)
        except SipParseError as err:
            answer = (
                self.owner.on_stream_error(data, err, self.peer)
                if self.owner.on_stream_error
                else None
            )
            if answer:
                self.transport.write(answer)
            self.transport.close()
            return
        if self.framer.pings != pings:
            self.transport.write(b"\r\n")  # RFC 5626 pong
        for message in messages:
            self.owner.on_message(message, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.owner._connections.get(self.peer) is self:
            del self.owner._connections[self.peer]

    def write(self, data: bytes) -> None:
        if self.transport is None:
            self.pending.append(data)
        else:
            self.transport.write(data)


class SipTransports:
    """The listening sockets and stream connections of one SIP endpoint."""

    def __init__(
        self,
        on_message: OnMessage,
        *,
        on_stream_error: OnStreamError | None = None,
        server_ssl: ssl.SSLContext | None = None,
        client_ssl: ssl.SSLContext | None = None,
        max_message: int = 65535,
        on_transport_error: OnTransportError | None = None,
    ) -> None:
        self.on_message = on_message
        self.on_transport_error = on_transport_error
        self.on_stream_error = on_stream_error
        self.server_ssl = server_ssl
        self.client_ssl = client_ssl
        self.max_message = max_message
        self.local: dict[str, tuple[str, int]] = {}  # transport -> bound (host, port)
        self._udp: dict[str, asyncio.DatagramTransport] = {}
        self._servers: list[asyncio.base_events.Server] = []
        self._connections: dict[Peer, _Stream] = {}
        self._tasks: set[asyncio.Task] = set()

    async def listen(self, spec: Listen) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        if spec.transport == "udp":
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagram(self), local_addr=(spec.host, spec.port)
            )
            sock = transport.get_extra_info("socket")
            try:  # deep receive buffer: bursts of thousands of calls per second
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
            except OSError:  # pragma: no cover
                pass
            self._udp["udp"] = transport  # type: ignore[assignment]
            bound = transport.get_extra_info("sockname")[:2]
        else:
            ctx = None
            if spec.transport == "tls":
                if self.server_ssl is None:
                    raise ValueError("tls listener needs a server certificate (server_ssl)")
                ctx = self.server_ssl
            kind = spec.transport
            server = await loop.create_server(
                lambda: _Stream(self, kind), spec.host, spec.port, ssl=ctx
            )
            self._servers.append(server)
            bound = server.sockets[0].getsockname()[:2]
        self.local[spec.transport] = (bound[0], bound[1])
        return bound[0], bound[1]

    def send(self, data: bytes, peer: Peer) -> None:
        if peer.transport == "udp":
            udp = self._udp.get("udp")
            if udp is None:
                raise RuntimeError("no UDP listener to send from")
            if _is_ip(peer.host):
                udp.sendto(data, (peer.host, peer.port))
            else:
                self._spawn(self._resolve_and_send(udp, data, peer))
            return
        conn = self._connections.get(peer)
        if conn is None:
            conn = self._connect(peer)
        conn.write(data)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve_and_send(
        self, udp: asyncio.DatagramTransport, data: bytes, peer: Peer
    ) -> None:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                peer.host, peer.port, type=socket.SOCK_DGRAM
            )
        except OSError as exc:
            log.info("cannot resolve %s: %s (message dropped)", peer.host, exc)
            return
        family_ok = [i for i in infos if i[0] == socket.AF_INET] or infos
        udp.sendto(data, family_ok[0][4][:2])

    def _connect(self, peer: Peer) -> _Stream:
        loop = asyncio.get_running_loop()
        stream = _Stream(self, peer.transport)
        self._connections[peer] = stream
        ctx = None
        if peer.transport == "tls":
            ctx = self.client_ssl or ssl.create_default_context()

        async def connect() -> None:
            try:
                await loop.create_connection(
                    lambda: stream,
                    peer.host,
                    peer.port,
                    ssl=ctx,
                    server_hostname=peer.host if ctx else None,
                )
            except (OSError, ssl.SSLError) as exc:
                log.warning("cannot connect to %s: %s", peer, exc)
                if self._connections.get(peer) is stream:
                    del self._connections[peer]
                if self.on_transport_error is not None:
                    self.on_transport_error(peer)

        self._spawn(connect())
        return stream

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def close(self) -> None:
        for udp in self._udp.values():
            udp.close()
        for conn in list(self._connections.values()):
            if conn.transport is not None:
                conn.transport.close()
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self._udp.clear()
        self._servers.clear()
        self._connections.clear()


__all__ = ["Listen", "SipTransports"]
