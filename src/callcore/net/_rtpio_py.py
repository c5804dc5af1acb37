"""Batch RTP reading with relaying done as packets are read — the pure-Python twin.

:class:`RtpReader` reads the RTP sockets of many endpoints through one epoll set:
the event loop watches the reader's :meth:`~RtpReader.fileno` (one callback per
batch instead of one per datagram) and calls :meth:`~RtpReader.poll`, which
drains the ready sockets and returns every datagram for the usual per-packet
work (statistics, jitter buffer, DTMF, latching).

A socket can carry an *armed route*: the steady state of relaying its packets
to another endpoint (a bridged leg). While reading, each datagram that fits
the route — a plain RTP header (no CSRC, extension or padding), the route's
payload type and SSRC, from the latched source — is renumbered with the
route's sequence and timestamp offsets, transcoded by a 256-byte table if
asked, and sent on at once, before any Python work on the batch. Its entry in
the batch says it was relayed. Anything else is left to the caller, which
disarms the route first (:meth:`~RtpReader.disarm` hands back the stream state:
next sequence number, next timestamp and what was sent) so the stream has one
owner at a time. The numbering is :meth:`callcore.rtp.session.RtpSession.forward`'s
after its anchor.

``callcore.net._rtpio`` (Cython) does the same in C with the same results;
``callcore.fastpath.load(name="callcore.net._rtpio")`` picks one.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time

__all__ = ["RouteState", "RtpReader"]

_HDR = struct.Struct("!BBHII")
_TIMESPEC = struct.Struct("@qq")
MAX_PER_SOCKET = 16  # datagrams read from one socket per poll (fairness)
MAX_DATAGRAM = 65536  # the largest UDP payload: nothing is ever truncated
SO_TIMESTAMPNS = 35  # asm-generic/socket.h (SO_TIMESTAMPNS_OLD); also the SCM type

RouteState = tuple[int, int, int, int, int, float]
"""(next_seq, next_ts, packets, octets, last_ts, last_time): see :meth:`RtpReader.disarm`."""


class _Route:
    __slots__ = (
        "expect", "in_pt", "last_time", "last_ts", "newest", "next_seq", "next_ts", "octets",
        "out_addr", "out_pt", "out_slot", "out_ssrc", "packets", "seq_off", "ssrc", "table",
        "ts_off",
    )  # fmt: skip


class RtpReader:
    """One epoll set over many RTP sockets; relays armed routes while reading."""

    def __init__(self) -> None:
        self._ep = select.epoll()
        self._socks: dict[int, socket.socket] = {}  # slot -> a dup of the socket
        self._routes: dict[int, _Route] = {}  # input slot -> route
        self._addr: dict[int, tuple] = {}  # slot -> last source address seen (reused tuple)
        self._next = 0
        self.relayed = 0
        self._stamps = False
        #: with :meth:`enable_stamps`, the kernel receive time (Unix, 0.0 if none) of
        #: each datagram the last :meth:`poll` returned, in the same order
        self.stamps: list[float] = []

    def fileno(self) -> int:
        return self._ep.fileno()

    def enable_stamps(self) -> None:
        """Have the kernel stamp each datagram on arrival (``SO_TIMESTAMPNS``): every
        :meth:`poll` then fills :attr:`stamps`."""
        if not self._stamps:
            self._stamps = True
            for sock in self._socks.values():
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)

    def close(self) -> None:
        for s in self._socks.values():
            s.close()
        self._socks.clear()
        self._routes.clear()
        self._ep.close()

    def add(self, fd: int) -> int:
        """Watch the UDP socket ``fd`` (the caller keeps it open until :meth:`remove`)."""
        slot = self._next
        self._next += 1
        sock = socket.socket(fileno=os.dup(fd))
        sock.setblocking(False)
        if self._stamps:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._socks[slot] = sock
        self._ep.register(sock.fileno(), select.EPOLLIN)
        return slot

    def remove(self, slot: int) -> None:
        """Stop watching ``slot``: routes from it and into it are dropped (their unread
        state is lost), so nothing is ever sent from a socket that is gone."""
        sock = self._socks.pop(slot, None)
        self._routes.pop(slot, None)
        for src in [k for k, r in self._routes.items() if r.out_slot == slot]:
            del self._routes[src]
        self._addr.pop(slot, None)
        if sock is not None:
            self._ep.unregister(sock.fileno())
            sock.close()

    def arm(
        self,
        in_slot: int,
        out_slot: int,
        out_addr: tuple[str, int],
        expect: tuple[str, int],
        in_pt: int,
        out_pt: int,
        ssrc: int,
        out_ssrc: int,
        seq_off: int,
        ts_off: int,
        next_seq: int,
        next_ts: int,
        table: bytes | None = None,
    ) -> None:
        """Relay what ``in_slot`` receives from ``expect`` (payload type ``in_pt``, SSRC
        ``ssrc``) out of ``out_slot``'s socket to ``out_addr`` with ``out_pt`` and
        ``out_ssrc``: sequence + ``seq_off``, timestamp + ``ts_off``, payload through
        ``table`` (256 bytes) if given. ``next_seq``/``next_ts`` are the stream's
        counters so far (they only move forward)."""
        if in_slot not in self._socks or out_slot not in self._socks:
            raise KeyError("arm() between slots that are not watched")
        if table is not None and len(table) != 256:
            raise ValueError("a transcoding table has 256 entries")
        for host, _ in (out_addr, expect):
            try:
                socket.inet_pton(socket.AF_INET, host)
            except OSError:
                raise ValueError(f"not an IPv4 address: {host!r}") from None
        r = _Route()
        r.out_slot, r.out_addr, r.expect = out_slot, (out_addr[0], out_addr[1]), expect
        r.in_pt, r.out_pt, r.ssrc, r.out_ssrc = in_pt, out_pt, ssrc, out_ssrc
        r.seq_off, r.ts_off = seq_off & 0xFFFF, ts_off & 0xFFFFFFFF
        r.next_seq, r.next_ts = next_seq & 0xFFFF, next_ts & 0xFFFFFFFF
        r.table = table
        r.packets = r.octets = r.last_ts = 0
        r.last_time = 0.0
        r.newest = False
        self._routes[in_slot] = r

    def armed(self, in_slot: int) -> bool:
        return in_slot in self._routes

    def sync(self, in_slot: int) -> RouteState | None:
        """The route's state — next sequence number, next timestamp, packets and octets
        sent since the last call, and the (timestamp, Unix time) of the newest packet
        (time 0.0 if none since the last call) — without disarming it; None if not armed."""
        r = self._routes.get(in_slot)
        if r is None:
            return None
        out = (r.next_seq, r.next_ts, r.packets, r.octets, r.last_ts,
               r.last_time if r.newest else 0.0)  # fmt: skip
        r.packets = r.octets = 0
        r.newest = False
        return out

    def disarm(self, in_slot: int) -> RouteState | None:
        """Stop relaying ``in_slot``; returns :meth:`sync`'s state (None if not armed)."""
        out = self.sync(in_slot)
        self._routes.pop(in_slot, None)
        return out

    def poll(self) -> list[tuple[int, bytes, tuple, bool]]:
        """Read the ready sockets: ``(slot, datagram, source, relayed)`` for each."""
        out: list[tuple[int, bytes, tuple, bool]] = []
        stamps: list[float] = []
        socks = self._socks
        by_fd = {s.fileno(): slot for slot, s in socks.items()}
        for fd, _ in self._ep.poll(0):
            slot = by_fd.get(fd)
            if slot is None:
                continue
            sock = socks[slot]
            for _ in range(MAX_PER_SOCKET):
                try:
                    if self._stamps:
                        data, anc, _, addr = sock.recvmsg(MAX_DATAGRAM, 64)
                        stamp = 0.0
                        for level, kind, value in anc:
                            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                                sec, nsec = _TIMESPEC.unpack(value[: _TIMESPEC.size])
                                stamp = sec + nsec * 1e-9
                        stamps.append(stamp)
                    else:
                        data, addr = sock.recvfrom(MAX_DATAGRAM)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:  # e.g. ICMP port unreachable reported on this socket
                    continue
                prev = self._addr.get(slot)
                if prev is not None and prev == addr:
                    addr = prev
                else:
                    addr = self._addr[slot] = (addr[0], addr[1])
                out.append((slot, data, addr, self._relay(slot, data, addr)))
        self.stamps = stamps
        return out

    def _relay(self, slot: int, data: bytes, addr: tuple) -> bool:
        r = self._routes.get(slot)
        n = len(data)
        if r is None or n < 12:
            return False
        b0, b1, seq, ts, ssrc = _HDR.unpack_from(data)
        if b0 != 0x80 or (b1 & 0x7F) != r.in_pt or ssrc != r.ssrc or addr != r.expect:
            return False
        payload = data[12:]
        if r.table is not None:
            payload = payload.translate(r.table)
        out_seq = (seq + r.seq_off) & 0xFFFF
        out_ts = (ts + r.ts_off) & 0xFFFFFFFF
        packet = _HDR.pack(0x80, (b1 & 0x80) | r.out_pt, out_seq, out_ts, r.out_ssrc) + payload
        try:
            self._socks[r.out_slot].sendto(packet, r.out_addr)
        except (BlockingIOError, InterruptedError):
            pass  # the socket buffer is full: dropped, as the kernel would
        except OSError:
            return False
        self.relayed += 1
        r.packets += 1
        r.octets += n - 12
        if (out_seq - r.next_seq) & 0xFFFF < 0x8000:  # the newest so far
            r.next_seq = (out_seq + 1) & 0xFFFF
            r.last_ts, r.last_time, r.newest = out_ts, time.time(), True
        end = (out_ts + n - 12) & 0xFFFFFFFF  # G.711: one byte per sample
        if (end - r.next_ts) & 0xFFFFFFFF < 0x80000000:
            r.next_ts = end
        return True
