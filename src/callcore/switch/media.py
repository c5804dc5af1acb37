"""Anchored media: one RTP session per call leg, all driven by one 20 ms clock.

A timer per call does not scale, so :class:`MediaClock` ticks once every
``ptime`` for every live :class:`MediaSession`, in two passes:

1. **receive** — each session pulls one frame from its jitter buffer, decodes it
   to 16-bit PCM (``heard``), and feeds its taps (recorders, in-band DTMF and
   other detectors);
2. **send** — each session asks its *source* for this tick's PCM (a player, the
   bridged peer's ``heard``, its own ``heard`` for an echo, a conference mix)
   and encodes and sends it.

Per-packet work on receive is parse-and-enqueue; RFC 4733 digits are decoded as
they arrive.

**Bridged legs relay.** A leg whose source is its bridged peer (:class:`PeerAudio`,
set by :meth:`MediaSession.relay_from`) does not wait for the tick: each audio
packet the peer receives is forwarded at once, renumbered into the leg's own
stream and transcoded when the two codecs differ (PCMU ↔ PCMA), and the tick
sends nothing for it. The bridged audio thus gets no tick and no jitter-buffer
delay added — gaps and jitter pass through for the far end's buffer to absorb, as
with any RTP relay — while the receive pass still decodes every leg's ``heard``,
so recorders, detectors, supervisors and conferences see the same audio as
before. Anything else given as a source (music on hold, a whisper mix, a
conference) puts the leg back on the tick; restoring the peer resumes relaying,
with the marker bit on the first forwarded packet.

When the clock falls behind (the event loop was busy for more than one
``ptime``) it does not make up the ticks it missed — that would burst packets
at the far ends — but it tells every session how many it skipped, and each
passes that to its jitter buffer (:meth:`~callcore.rtp.jitter.JitterBuffer.skip`)
before popping this tick's frame. The buffers drop the frames that were due in
the skipped ticks, so a stall costs its length of audio once instead of adding
it to every leg's delay for the rest of the call. The count comes from the
clock because only the clock knows its schedule: a buffer looking at the times
it is popped at cannot tell a skipped tick from the phase of the ticks. The
clock stays on its ``ptime`` grid after a skip, so skipping never shifts the
phase of the ticks either (each buffer's own delay bound would have to trim
that).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING

from callcore.fastpath import PURE_ENV
from callcore.fastpath import impl as fp
from callcore.net.port_pool import PortPool
from callcore.net.rtp_reader import ReadHub, reader_module
from callcore.net.rtp_socket import LatchMode, RtpEndpoint
from callcore.rtp.dtmf_event import DtmfDigit, DtmfReceiver
from callcore.rtp.jitter import JitterBuffer, RepeatConcealer
from callcore.rtp.packet import RtpPacket

if TYPE_CHECKING:
    pass

log = logging.getLogger("callcore.media")

FRAME_SAMPLES = 160
SILENCE_PCM = bytes(2 * FRAME_SAMPLES)

Source = Callable[[], "bytes | None"]
Tap = Callable[[bytes], None]


class Codec:
    """A G.711 codec on the fast path (compiled or its pure twin)."""

    __slots__ = ("decode", "encode", "name", "payload_type", "silence")

    def __init__(self, name: str) -> None:
        name = name.upper()
        if name == "PCMU":
            self.encode, self.decode, self.payload_type = fp.ulaw_encode, fp.ulaw_decode, 0
        elif name == "PCMA":
            self.encode, self.decode, self.payload_type = fp.alaw_encode, fp.alaw_decode, 8
        else:
            raise ValueError(f"unsupported codec {name}")
        self.name = name
        self.silence = self.encode(SILENCE_PCM)


class PeerAudio:
    """A leg's source while it is bridged to ``peer``: the peer's packets are relayed
    to it as they arrive. Called like any source it returns what the peer heard in
    the last tick (for wrappers that mix it)."""

    __slots__ = ("peer",)

    def __init__(self, peer: MediaSession) -> None:
        self.peer = peer

    def __call__(self) -> bytes:
        return self.peer.heard


class RelayDelayProbe:
    """Samples how long relayed packets spend inside callcore: from the kernel's
    receive timestamp of the datagram to just after it was sent on (so the event
    loop's queueing delay counts). Every ``every``-th relayed packet is measured;
    ``delays`` are in seconds. Set on :attr:`MediaClock.relay_probe`.

    With batch reads the hub passes each relayed datagram's own kernel stamp
    (:meth:`sample_batch`). Per socket (:meth:`sample`) the probe asks the socket for
    the stamp of the datagram being handled. The kernel stamps a socket's datagrams
    only once asked, and gives the time of asking for one that came before, so such
    a socket's samples count from ``warmup`` seconds after its first one.
    """

    def __init__(self, every: int = 10, warmup: float = 0.05) -> None:
        if every < 1:
            raise ValueError("every must be >= 1")
        self.every = every
        self.warmup = warmup
        self._count = 0
        self._since: dict[int, float] = {}  # id(endpoint) -> when we first asked about it
        self.delays: list[float] = []

    def sample(self, received_on: RtpEndpoint) -> None:
        """A packet received on ``received_on`` was just relayed (by Python)."""
        self._count += 1
        if self._count % self.every:
            return
        now = time.time()
        since = self._since.get(id(received_on))
        if since is None:  # the first ask turns the socket's timestamps on
            self._since[id(received_on)] = now
            received_on.last_receive_time()
            return
        if now - since < self.warmup:
            return
        t = received_on.last_receive_time()
        if t is not None:
            self.delays.append(now - t)

    def sample_batch(self, stamp: float, done: float) -> None:
        """A packet the kernel received at ``stamp`` was relayed by a hub's reader in a
        batch finished at ``done`` (an upper bound of the time it was sent)."""
        self._count += 1
        if not self._count % self.every:
            self.delays.append(done - stamp)


class MediaSession:
    """The media of one leg: RTP endpoint, jitter buffer, codec, DTMF, taps, source."""

    def __init__(
        self, clock: MediaClock, endpoint: RtpEndpoint, codec: Codec, te_pt: int | None
    ) -> None:
        self.clock = clock
        self.endpoint = endpoint
        self.codec = codec
        self.te_pt = te_pt
        self.jitter = JitterBuffer(concealer=RepeatConcealer(codec.name.lower()))
        self.dtmf_rx = DtmfReceiver(payload_type=te_pt if te_pt is not None else 101)
        self.heard: bytes = SILENCE_PCM  # what the far end said during the last tick
        self._source: Source | None = None  # what we send this tick (None: nothing)
        self._send_enabled = True  # False while the far end asked us not to send
        self.taps: list[Tap] = []
        self.relay_to: MediaSession | None = None  # the leg this one's packets are relayed to
        self._armed_from: MediaSession | None = None  # the peer whose route into us is armed
        self.on_dtmf: Callable[[str], None] | None = None
        self._ts = 0
        self._first = True
        self.closed = False
        self.sent = 0
        self.received = 0
        clock.sessions_opened += 1
        endpoint.on_remote_change = self._addresses_changed
        endpoint.before_report = self._sync_route

    @property
    def source(self) -> Source | None:
        """What this leg sends: called each tick for a frame of PCM, or a
        :class:`PeerAudio` (relayed packet by packet), or None (nothing)."""
        return self._source

    @source.setter
    def source(self, value: Source | None) -> None:
        if self._armed_from is not None:
            self._disarm()
        self._source = value

    @property
    def send_enabled(self) -> bool:
        """False while the far end asked us not to send (recvonly/inactive)."""
        return self._send_enabled

    @send_enabled.setter
    def send_enabled(self, value: bool) -> None:
        if self._armed_from is not None:
            self._disarm()
        self._send_enabled = value

    @property
    def local_port(self) -> int:
        return self.endpoint.port

    def set_codec(self, name: str, te_pt: int | None) -> None:
        """Apply the negotiated codec and telephone-event payload type."""
        self._addresses_changed()
        if name.upper() != self.codec.name:
            self.codec = Codec(name)
            self.jitter = JitterBuffer(concealer=RepeatConcealer(self.codec.name.lower()))
        self.te_pt = te_pt
        self.dtmf_rx = DtmfReceiver(payload_type=te_pt if te_pt is not None else 101)

    def set_remote(self, host: str, port: int) -> None:
        self.endpoint.set_remote((host, port))

    def relay_from(self, peer: MediaSession) -> None:
        """Send what ``peer``'s far end says, packet by packet as it arrives."""
        self.source = PeerAudio(peer)
        before = peer.relay_to
        if before is not None and before is not self and before._armed_from is peer:
            before._disarm()  # peer's packets were relayed to another leg until now
        peer.relay_to = self

    # -- routes armed on the hub's reader (the relay in C) --------------------
    def _arm(self, src: MediaSession, pkt: RtpPacket) -> None:
        """Hand relaying ``src`` → us to the reader both sockets are read by, from the
        anchor the last forwarded packet set. Only in the steady state it can check:
        ``src``'s far end latched (ONCE), our far end known, both G.711."""
        ep, sep = self.endpoint, src.endpoint
        hub = ep.hub
        if (
            hub is None
            or sep.hub is not hub
            or not sep.latched
            or sep.latch is not LatchMode.ONCE
            or ep.remote_addr is None
        ):
            return
        rtp = ep.session
        in_pt, out_pt = src.codec.payload_type, self.codec.payload_type
        table = None if in_pt == out_pt else _TABLES[(in_pt, out_pt)]
        try:
            hub.reader.arm(
                sep.slot, ep.slot, ep.remote_addr, sep.remote_addr, in_pt, out_pt, pkt.ssrc,
                rtp.ssrc, rtp._fwd_seq, rtp._fwd_ts, rtp._seq, self._ts, table,
            )  # fmt: skip
        except ValueError:  # not an IPv4 address (a host name in SDP): Python relays
            return
        self._armed_from = src

    def _sync_route(self, disarm: bool = False) -> None:
        """Bring our stream state up to date with what the armed route sent."""
        src = self._armed_from
        hub = self.endpoint.hub
        if src is None or hub is None:
            return
        reader = hub.reader
        state = reader.disarm(src.endpoint.slot) if disarm else reader.sync(src.endpoint.slot)
        if disarm:
            self._armed_from = None
        if state is None:
            return
        next_seq, next_ts, packets, octets, last_ts, when = state
        if packets:
            rtp = self.endpoint.session
            rtp._seq = next_seq
            rtp.sender.add_forwarded(packets, octets, last_ts, when)
            self._ts = next_ts
            self._first = False
            self.sent += packets

    def _disarm(self) -> None:
        self._sync_route(disarm=True)

    def _addresses_changed(self) -> None:
        """Our far end's address (or codec) changes: no route into or out of us may
        go on with the old one."""
        if self._armed_from is not None:
            self._disarm()
        out = self.relay_to
        if out is not None and out._armed_from is self:
            out._disarm()

    # -- called from the RTP socket: parse-and-enqueue only
    def on_relayed_packet(self, pkt: RtpPacket, addr) -> None:
        """An audio packet the reader's armed route already relayed: the rest of
        :meth:`on_packet`'s work."""
        self.received += 1
        self.jitter.push(pkt, self.clock.now())

    def on_packet(self, pkt: RtpPacket, addr) -> None:
        self.received += 1
        now = self.clock.now()
        pt = pkt.payload_type
        te_pt = self.te_pt
        if pt == self.codec.payload_type and pt != te_pt:  # audio: the usual case
            out = self.relay_to
            if out is not None:
                out._relay(self, pkt)
            self.jitter.push(pkt, now)
        elif te_pt is not None and pt == te_pt:
            for ev in self.dtmf_rx.receive(pkt, now):
                if isinstance(ev, DtmfDigit) and self.on_dtmf is not None:
                    self.on_dtmf(ev.digit)

    def _relay(self, src: MediaSession, pkt: RtpPacket) -> None:
        """Forward a packet ``src`` just received, if this leg is still relaying it."""
        source = self.source
        if source.__class__ is not PeerAudio or source.peer is not src:  # type: ignore[union-attr]
            return  # the leg has another source now (hold music, a whisper mix...)
        if not self.send_enabled or self.closed or self.endpoint.remote_addr is None:
            return
        if self._armed_from is not None:  # a packet the route left to us: take the stream back
            self._disarm()
        codec = self.codec
        payload = pkt.payload
        if src.codec.payload_type != codec.payload_type:
            payload = codec.encode(src.codec.decode(payload))
        try:
            ts = self.endpoint.forward(src, pkt, payload, codec.payload_type, self._ts)
        except RuntimeError:  # closed underneath us
            return
        end = (ts + len(payload)) & 0xFFFFFFFF  # G.711: one byte per sample
        if (end - self._ts) & 0xFFFFFFFF < 0x80000000:  # not a late (reordered) packet
            self._ts = end
        self._first = False
        self.sent += 1
        probe = self.clock.relay_probe
        if src.endpoint.hub is not None:
            self._arm(src, pkt)  # (the hub's probe times what its reader relays)
        elif probe is not None:
            probe.sample(src.endpoint)

    # -- the two passes of a tick
    def receive_stage(self, now: float, skipped: int = 0) -> None:
        """Pull this tick's frame; ``skipped`` ticks were missed since the last one."""
        jitter = self.jitter
        if skipped:
            jitter.skip(skipped)
        frame = jitter.pop(now)
        heard = self.heard = (
            self.codec.decode(frame.payload) if frame is not None and frame.payload else SILENCE_PCM
        )
        for tap in self.taps:
            tap(heard)

    def send_stage(self, now: float) -> None:
        source = self.source
        endpoint = self.endpoint
        if source is None or not self.send_enabled or endpoint.remote_addr is None:
            return
        if source.__class__ is PeerAudio:
            return  # relayed packet by packet as the peer receives them
        pcm = source()
        if pcm is None:
            return
        codec = self.codec
        ts = self._ts
        try:
            endpoint.send(codec.encode(pcm), payload_type=codec.payload_type, timestamp=ts,
                          marker=self._first)  # fmt: skip
        except RuntimeError:  # closed underneath us
            return
        self._first = False
        self._ts = (ts + FRAME_SAMPLES) & 0xFFFFFFFF
        self.sent += 1

    async def close(self) -> None:
        if self.closed:
            return
        self._addresses_changed()  # disarm the routes into and out of us
        self.closed = True
        self.relay_to = None
        if self._source.__class__ is PeerAudio:
            self._source = None  # no reference cycle left between bridged sessions
        self.clock.packets_in += self.received
        self.clock.packets_out += self.sent
        self.clock.remove(self)
        await self.endpoint.close()


class MediaClock:
    """The one timer that drives every media session, drift-free at ``ptime``.

    A tick's work is done in slices of at most ``slice_budget`` seconds, with the
    event loop reading the sockets in between (:meth:`_work`); its cost is their sum.
    Its ticks stay on a ``ptime`` grid. A tick that starts more than one ``ptime``
    late skips the grid points it missed (the next tick is at the first grid
    point after now) and tells the sessions how many, so their jitter buffers
    drop those frames (see the module docstring).
    """

    def __init__(self, ptime: float = 0.020, slice_budget: float = 0.002) -> None:
        self.ptime = ptime
        #: the longest a tick runs before it lets the event loop read the sockets
        self.slice_budget = slice_budget
        self.sessions: list[MediaSession] = []
        self._batch: list[MediaSession] = []  # the sessions of the tick in progress
        self._pos = 0  # how far the tick in progress got: receive pass, then send pass
        self._now = 0.0
        self._skipped = 0
        self._cost = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.Handle | None = None
        self._next = 0.0
        self.ticks = 0
        self.late_ticks = 0  # ticks that started more than one ptime late (skipped ahead)
        self.skipped_ticks = 0  # grid points those skipped (the sessions drop their frames)
        self.max_lateness = 0.0
        self.sessions_opened = 0
        self.packets_in = 0
        self.packets_out = 0
        self.lateness: deque[float] = deque(maxlen=200_000)  # recent per-tick lateness, seconds
        self.tick_cost: deque[float] = deque(maxlen=200_000)  # recent per-tick work, seconds
        self._relay_probe: RelayDelayProbe | None = None
        self.hubs: list[ReadHub] = []  # the hubs relaying for our sessions (told of the probe)

    def now(self) -> float:
        return (self._loop or asyncio.get_running_loop()).time()

    @property
    def relay_probe(self) -> RelayDelayProbe | None:
        """When set, samples the delay of packets relayed between bridged legs."""
        return self._relay_probe

    @relay_probe.setter
    def relay_probe(self, probe: RelayDelayProbe | None) -> None:
        self._relay_probe = probe
        for hub in self.hubs:
            hub.set_probe(probe.sample_batch if probe is not None else None)

    def report(self) -> dict[str, float]:
        """Tick statistics: count, late ticks (> one ptime behind), ticks skipped
        over, p50/p99/max lateness and p99 per-tick processing time, in milliseconds."""
        lat = sorted(self.lateness)
        cost = sorted(self.tick_cost)

        def pct(xs: list[float], q: float) -> float:
            return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 3) if xs else 0.0

        return {
            "ticks": self.ticks,
            "late_ticks": self.late_ticks,
            "skipped_ticks": self.skipped_ticks,
            "lateness_p50_ms": pct(lat, 0.50),
            "lateness_p99_ms": pct(lat, 0.99),
            "lateness_max_ms": round(1000 * self.max_lateness, 3),
            "tick_cost_p99_ms": pct(cost, 0.99),
        }

    def add(self, session: MediaSession) -> None:
        self.sessions.append(session)
        if self._handle is None:
            self._loop = asyncio.get_running_loop()
            self.now = self._loop.time  # type: ignore[method-assign]  # per packet: one call
            self._next = self._loop.time() + self.ptime
            self._handle = self._loop.call_at(self._next, self._tick)

    def remove(self, session: MediaSession) -> None:
        try:
            self.sessions.remove(session)
        except ValueError:
            pass
        if not self.sessions and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        """A tick is due: note its lateness and start its work (see :meth:`_work`)."""
        loop = self._loop
        assert loop is not None
        now = loop.time()
        ptime = self.ptime
        lateness = now - self._next
        if lateness > self.max_lateness:
            self.max_lateness = lateness
        self.lateness.append(lateness)
        # fell behind: skip ahead on the grid instead of bursting; the sessions drop
        # the frames of the skipped ticks
        skipped = int(lateness / ptime + 1e-6) if lateness > ptime else 0
        if skipped:
            self.late_ticks += 1
            self.skipped_ticks += skipped
        self._batch = list(self.sessions)
        self._pos = 0
        self._now, self._skipped, self._cost = now, skipped, 0.0
        self._work()

    def _work(self) -> None:
        """Run the tick's receive pass, then its send pass, over the sessions it began
        with, in slices of at most :attr:`slice_budget` seconds: between two slices
        the event loop reads the sockets, so relayed packets do not wait for the whole
        tick. When both passes are done, schedule the next tick."""
        start = perf_counter()
        deadline = start + self.slice_budget
        batch = self._batch
        n = len(batch)
        i = self._pos
        now, skipped = self._now, self._skipped
        hubs = self.hubs
        while i < 2 * n:
            if i < n:
                s = batch[i]
                if not s.closed:
                    s.receive_stage(now, skipped)
            else:
                s = batch[i - n]
                if not s.closed:
                    s.send_stage(now)
            i += 1
            if not i & 15:
                for hub in hubs:  # relay what arrived meanwhile
                    hub.relay_now()
                if perf_counter() > deadline:
                    break
        self._pos = i
        self._cost += perf_counter() - start
        loop = self._loop
        assert loop is not None
        if i < 2 * n:
            self._handle = loop.call_soon(self._work)
            return
        self._batch = []
        self.tick_cost.append(self._cost)
        self.ticks += 1
        self._next += (skipped + 1) * self.ptime
        self._handle = loop.call_at(self._next, self._tick) if self.sessions else None


def _drop(pkt: RtpPacket, addr: object) -> None:
    pass


BATCH_ENV = "CALLCORE_RTP_BATCH"


def _compiled_reader() -> bool:
    """Batch reads by default when the compiled reader is built, unless ``CALLCORE_PURE=1``
    or ``CALLCORE_RTP_BATCH=0`` (an operator's switch back to one loop transport per socket)."""
    if os.environ.get(BATCH_ENV, "") == "0" or os.environ.get(PURE_ENV, "") == "1":
        return False
    try:
        reader_module(pure=False)
    except ImportError:
        return False
    return True


def _table(encode: Callable[[bytes], bytes], decode: Callable[[bytes], bytes]) -> bytes:
    return encode(decode(bytes(range(256))))


# G.711 transcoding as 256-byte tables, byte for byte what decode + encode gives
_TABLES = {
    (0, 8): _table(fp.alaw_encode, fp.ulaw_decode),
    (8, 0): _table(fp.ulaw_encode, fp.alaw_decode),
}


class MediaEngine:
    """Opens RTP sessions from a port pool and keeps them on one clock.

    ``batch_reads`` (default: when the compiled reader is built and neither
    ``CALLCORE_PURE=1`` nor ``CALLCORE_RTP_BATCH=0`` is set) reads every
    session's RTP socket through one :class:`~callcore.net.rtp_reader.ReadHub`, which
    also relays bridged legs in C as it reads (:meth:`MediaSession._arm`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        ports: tuple[int, int] = (20000, 40000),
        ptime: float = 0.020,
        *,
        batch_reads: bool | None = None,
    ) -> None:
        self.host = host
        self.pool = PortPool(*ports)
        self.clock = MediaClock(ptime)
        if batch_reads is None:
            batch_reads = _compiled_reader()
        self.hub: ReadHub | None = ReadHub() if batch_reads else None
        if self.hub is not None:
            self.clock.hubs.append(self.hub)

    async def open(self, codec: str = "PCMU", te_pt: int | None = 101) -> MediaSession:
        # packets that come before the session exists are dropped (no handler yet)
        endpoint = await RtpEndpoint.open(self.pool, self.host, latch=LatchMode.ONCE, hub=self.hub)
        endpoint.set_packet_handler(_drop)
        session = MediaSession(self.clock, endpoint, Codec(codec), te_pt)
        endpoint.set_packet_handler(session.on_packet, session.on_relayed_packet)
        self.clock.add(session)
        return session

    @property
    def ports_in_use(self) -> int:
        return self.pool.in_use


__all__ = [
    "SILENCE_PCM",
    "Codec",
    "MediaClock",
    "MediaEngine",
    "MediaSession",
    "PeerAudio",
    "RelayDelayProbe",
]
