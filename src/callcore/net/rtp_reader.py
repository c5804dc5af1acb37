"""Batch reading of many RTP sockets from the event loop (one callback per batch).

A :class:`ReadHub` owns an :class:`~callcore.net._rtpio_py.RtpReader` (compiled when
built): the loop watches the reader's epoll descriptor, and on each wake-up the
hub drains every ready socket and hands each datagram to its
:class:`~callcore.net.rtp_socket.RtpEndpoint` — the per-packet Python work done in
a batch, without one loop callback, one ``recvfrom`` wrapper and one address
tuple per datagram. Routes armed on the reader relay a bridged leg's packets in C
while they are read, ahead of that Python work (see :mod:`callcore.switch.media`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from callcore import fastpath

if TYPE_CHECKING:
    from .rtp_socket import RtpEndpoint

__all__ = ["ReadHub", "reader_module"]


def reader_module(pure: bool | None = None) -> Any:
    """``callcore.net._rtpio`` (compiled) or its twin, as :func:`callcore.fastpath.load`."""
    return fastpath.load(pure=pure, name="callcore.net._rtpio")


class ReadHub:
    """Reads the RTP sockets of the endpoints attached to it, in batches."""

    def __init__(self, module: Any | None = None) -> None:
        self._module = module or reader_module()
        self.reader = self._module.RtpReader()  # closed with the last socket, made anew after
        self._endpoints: dict[int, RtpEndpoint] = {}
        self._fds: dict[int, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        #: set by :meth:`set_probe`
        self.on_relayed: Callable[[float, float], None] | None = None
        self._relayed_before = 0  # relayed by readers closed since
        # (read by, datagrams, their kernel stamps if probed) not handled yet
        self._backlog: list[tuple[float, list, list[float] | None]] = []
        #: datagrams handled per loop callback before other callbacks get a turn
        self.chunk = 128
        self._soon = False

    @property
    def relayed(self) -> int:
        """Packets the reader's armed routes have relayed in C so far."""
        return self._relayed_before + (self.reader.relayed if self.reader is not None else 0)

    def attach(self, endpoint: RtpEndpoint, fd: int) -> int:
        """Read socket ``fd`` for ``endpoint`` (until :meth:`detach`); returns its slot."""
        if self._loop is None:
            if self.reader is None:
                self.reader = self._module.RtpReader()
            if self.on_relayed is not None:
                self.reader.enable_stamps()
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self.reader.fileno(), self._readable)
        slot = self.reader.add(fd)
        self._endpoints[slot] = endpoint
        self._fds[slot] = fd
        return slot

    def detach(self, slot: int) -> None:
        """Stop reading ``slot`` (before its socket is closed)."""
        self.reader.remove(slot)
        self._endpoints.pop(slot, None)
        self._fds.pop(slot, None)
        if not self._endpoints and self._loop is not None:
            self._loop.remove_reader(self.reader.fileno())
            self._loop = None
            self._relayed_before += self.reader.relayed
            self.reader.close()  # no epoll descriptor kept while nothing is read
            self.reader = None  # type: ignore[assignment]
            self._backlog.clear()

    def set_probe(self, probe: Callable[[float, float], None] | None) -> None:
        """Call ``probe(kernel receive time, relayed by)`` for every relayed datagram
        (the kernel stamps each datagram from now on; see RelayDelayProbe)."""
        self.on_relayed = probe
        if probe is not None and self.reader is not None:
            self.reader.enable_stamps()

    def _poll(self) -> None:
        if self.reader is None:  # the last socket went (a handler closed it just now)
            return
        got = self.reader.poll()
        if got:
            stamps = self.reader.stamps if self.on_relayed is not None else None
            self._backlog.append((time.time(), got, stamps))

    def relay_now(self) -> None:
        """Read (and so relay) what is waiting now; its Python work is done soon after.
        Long-running work on the loop (the media clock's tick) calls this now and
        then, so relayed packets do not wait for it to finish."""
        if self._loop is None:
            return
        self._poll()
        if self._backlog and not self._soon:
            self._soon = True
            self._loop.call_soon(self._readable)

    def _readable(self) -> None:
        """Drain the ready sockets. The Python work on the datagrams is done a few at
        a time with the reader polled again in between, so packets that arrive
        meanwhile are relayed at once instead of after the whole batch."""
        self._soon = False
        if self._loop is None:  # the last socket went while this was scheduled
            return
        self._poll()
        backlog = self._backlog
        endpoints = self._endpoints
        budget = self.chunk
        while backlog:
            if budget <= 0:  # let other work (the media clock's tick) run, then go on
                if not self._soon and self._loop is not None:
                    self._soon = True
                    self._loop.call_soon(self._readable)
                return
            done, batch, stamps = backlog.pop(0)
            budget -= len(batch)
            probe = self.on_relayed
            for k, (slot, data, addr, relayed) in enumerate(batch):
                if k and not k & 7:
                    self._poll()  # relays what came meanwhile (its Python work waits)
                ep = endpoints.get(slot)
                if ep is None:
                    continue
                if relayed and probe is not None and stamps and stamps[k]:
                    probe(stamps[k], done)
                ep._rtp_received(data, addr, relayed)
