"""RFC 3261 §17 transactions as sans-IO state machines (with RFC 6026's Accepted state).

Nothing here touches a socket or a clock: every entry point takes ``now`` (in
seconds, any monotonic origin), outgoing bytes are queued for
:meth:`TransactionLayer.datagrams_to_send`, and the adapter re-arms a single
timer at :meth:`TransactionLayer.next_timer`.

Transitions live in one table per machine (``ICT_TABLE`` … ``NIST_TABLE``)
mapping ``(state, input)`` to the next state; the actions (send ACK, pass a
response up, retransmit) are small methods. Inputs are response classes
(``"1xx"``, ``"2xx"``, ``"3xx-6xx"``), ``"request"`` (a retransmission),
``"ack"``, ``"tu_1xx"``/``"tu_2xx"``/``"tu_3xx-6xx"`` (the TU answering) and
timer names.

Timers (RFC 3261 Table 4, T1=0.5 s, T2=4 s, T4=5 s): A/E/G retransmit over
UDP only (A, G double up to T2 for G and E); B/F/H = 64·T1 time the
transaction out (B and F give a 408 to the TU); D = 32 s over UDP, 0 over
TCP; I/K = T4 over UDP, 0 over TCP; J = 64·T1 over UDP, 0 over TCP;
L/M = 64·T1 (RFC 6026).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from callcore.sip.headers import MAGIC_COOKIE
from callcore.sip.message import Headers, Request, Response, make_response

T1 = 0.5
T2 = 4.0
T4 = 5.0


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a message goes or came from: transport (``udp``/``tcp``/``tls``), host, port."""

    transport: str
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"


class State(Enum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


S = State
# (state, input) -> next state. Missing pairs are ignored inputs (absorbed).
ICT_TABLE: dict[tuple[State, str], State] = {
    (S.CALLING, "1xx"): S.PROCEEDING,
    (S.CALLING, "2xx"): S.ACCEPTED,
    (S.CALLING, "3xx-6xx"): S.COMPLETED,
    (S.CALLING, "timer_A"): S.CALLING,
    (S.CALLING, "timer_B"): S.TERMINATED,
    (S.PROCEEDING, "1xx"): S.PROCEEDING,
    (S.PROCEEDING, "2xx"): S.ACCEPTED,
    (S.PROCEEDING, "3xx-6xx"): S.COMPLETED,
    (S.COMPLETED, "3xx-6xx"): S.COMPLETED,  # retransmitted final: ACK again
    (S.COMPLETED, "timer_D"): S.TERMINATED,
    (S.ACCEPTED, "2xx"): S.ACCEPTED,  # passed to the TU (it re-sends its ACK)
    (S.ACCEPTED, "timer_M"): S.TERMINATED,
}
NICT_TABLE: dict[tuple[State, str], State] = {
    (S.TRYING, "1xx"): S.PROCEEDING,
    (S.TRYING, "2xx"): S.COMPLETED,
    (S.TRYING, "3xx-6xx"): S.COMPLETED,
    (S.TRYING, "timer_E"): S.TRYING,
    (S.TRYING, "timer_F"): S.TERMINATED,
    (S.PROCEEDING, "1xx"): S.PROCEEDING,
    (S.PROCEEDING, "2xx"): S.COMPLETED,
    (S.PROCEEDING, "3xx-6xx"): S.COMPLETED,
    (S.PROCEEDING, "timer_E"): S.PROCEEDING,
    (S.PROCEEDING, "timer_F"): S.TERMINATED,
    (S.COMPLETED, "timer_K"): S.TERMINATED,
}
IST_TABLE: dict[tuple[State, str], State] = {
    (S.PROCEEDING, "request"): S.PROCEEDING,  # resend last provisional
    (S.PROCEEDING, "tu_1xx"): S.PROCEEDING,
    (S.PROCEEDING, "tu_2xx"): S.ACCEPTED,
    (S.PROCEEDING, "tu_3xx-6xx"): S.COMPLETED,
    (S.COMPLETED, "request"): S.COMPLETED,  # resend final
    (S.COMPLETED, "timer_G"): S.COMPLETED,
    (S.COMPLETED, "timer_H"): S.TERMINATED,
    (S.COMPLETED, "ack"): S.CONFIRMED,
    (S.CONFIRMED, "timer_I"): S.TERMINATED,
    (S.ACCEPTED, "request"): S.ACCEPTED,  # absorbed; the TU retransmits the 2xx
    (S.ACCEPTED, "tu_2xx"): S.ACCEPTED,  # TU retransmission of the 2xx
    (S.ACCEPTED, "timer_L"): S.TERMINATED,
}
NIST_TABLE: dict[tuple[State, str], State] = {
    (S.TRYING, "tu_1xx"): S.PROCEEDING,
    (S.TRYING, "tu_2xx"): S.COMPLETED,
    (S.TRYING, "tu_3xx-6xx"): S.COMPLETED,
    (S.PROCEEDING, "request"): S.PROCEEDING,
    (S.PROCEEDING, "tu_1xx"): S.PROCEEDING,
    (S.PROCEEDING, "tu_2xx"): S.COMPLETED,
    (S.PROCEEDING, "tu_3xx-6xx"): S.COMPLETED,
    (S.COMPLETED, "request"): S.COMPLETED,
    (S.COMPLETED, "timer_J"): S.TERMINATED,
}


def response_class(status: int) -> str:
    if status < 200:
        return "1xx"
    if status < 300:
        return "2xx"
    return "3xx-6xx"


# -- events delivered to the transaction user ---------------------------------------------
@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request created a server transaction (``transaction`` is None for ACK of a 2xx)."""

    request: Request
    source: Peer
    transaction: ServerTransaction | None


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    response: Response
    transaction: ClientTransaction


@dataclass(frozen=True, slots=True)
class StrayResponse:
    """A response that matched no client transaction (e.g. a 2xx retransmission after
    Timer M); the dialog layer may still use it to re-send its ACK."""

    response: Response
    source: Peer


@dataclass(frozen=True, slots=True)
class TransactionTimeout:
    """Timer B or F fired: the TU sees it as a 408 (RFC 3261 §8.1.3.1)."""

    transaction: ClientTransaction
    response: Response


@dataclass(frozen=True, slots=True)
class TransactionTerminated:
    transaction: Transaction


Event = (
    RequestReceived | ResponseReceived | StrayResponse | TransactionTimeout | TransactionTerminated
)


# -- transactions -------------------------------------------------------------------------
class Transaction:
    __slots__ = ("_layer", "key", "peer", "request", "state", "table", "timer_gen")

    def __init__(
        self, layer: TransactionLayer, key: tuple, request: Request, peer: Peer, table, state: State
    ) -> None:
        self._layer = layer
        self.key = key
        self.request = request
        self.peer = peer
        self.table = table
        self.state = state
        self.timer_gen = 0  # bumps on every state change: stale timers are ignored

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def terminated(self) -> bool:
        return self.state is S.TERMINATED

    def _step(self, event: str, now: float) -> State | None:
        nxt = self.table.get((self.state, event))
        if nxt is None:
            return None
        if nxt is not self.state:
            # Timers E and F of a non-INVITE client survive Trying -> Proceeding;
            # every other state change cancels the timers of the state left.
            if not (self.state is S.TRYING and nxt is S.PROCEEDING):
                self.timer_gen += 1
            self.state = nxt
            if nxt is S.TERMINATED:
                self._layer._terminate(self)
        return nxt

    def _arm(self, name: str, delay: float, now: float, arg: float = 0.0) -> None:
        self._layer._arm(self, name, now + delay, arg)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.state.value} {self.key[0]}>"


class ClientTransaction(Transaction):
    __slots__ = ("ack", "last_response")

    def __init__(self, layer, key, request, peer, table, state) -> None:
        super().__init__(layer, key, request, peer, table, state)
        self.last_response: Response | None = None
        self.ack: bytes | None = None

    def _start(self, now: float) -> None:
        layer = self._layer
        layer._send(self.request.serialize(), self.peer)
        invite = self.method == "INVITE"
        if not self.peer.reliable:
            self._arm("timer_A" if invite else "timer_E", layer.t1, now, layer.t1)
        self._arm("timer_B" if invite else "timer_F", 64 * layer.t1, now)

    def _on_response(self, resp: Response, now: float) -> list[Event]:
        cls = response_class(resp.status)
        before = self.state
        nxt = self._step(cls, now)
        if nxt is None:
            return []
        self.last_response = resp
        layer = self._layer
        if self.method == "INVITE":
            if cls == "3xx-6xx":
                if self.ack is None:
                    self.ack = build_non2xx_ack(self.request, resp).serialize()
                layer._send(self.ack, self.peer)
                if before is S.COMPLETED:
                    return []  # retransmission: ACK again, nothing for the TU
                self._arm("timer_D", 0.0 if self.peer.reliable else layer.timer_d, now)
            elif cls == "2xx" and before is not S.ACCEPTED:
                self._arm("timer_M", 64 * layer.t1, now)
        elif nxt is S.COMPLETED:
            if before is S.COMPLETED:
                return []
            self._arm("timer_K", 0.0 if self.peer.reliable else layer.t4, now)
        return [ResponseReceived(resp, self)]

    def _on_timer(self, name: str, now: float, arg: float) -> list[Event]:
        nxt = self._step(name, now)
        if nxt is None:
            return []
        layer = self._layer
        if name in ("timer_A", "timer_E"):
            layer._send(self.request.serialize(), self.peer)
            layer.retransmissions += 1
            if name == "timer_A":
                interval = 2 * arg
            else:
                interval = layer.t2 if self.state is S.PROCEEDING else min(2 * arg, layer.t2)
            self._arm(name, interval, now, interval)
            return []
        if name in ("timer_B", "timer_F"):
            return [TransactionTimeout(self, make_response(self.request, 408, "Request Timeout"))]
        return []


class ServerTransaction(Transaction):
    __slots__ = ("last_response", "wire")

    def __init__(self, layer, key, request, peer, table, state) -> None:
        super().__init__(layer, key, request, peer, table, state)
        self.last_response: Response | None = None
        self.wire: bytes | None = None

    def respond(self, response: Response, now: float) -> None:
        """Send a response from the TU through this transaction."""
        event = "tu_" + response_class(response.status)
        before = self.state
        if self._step(event, now) is None:
            return  # e.g. a final after a final: ignored
        layer = self._layer
        self.last_response = response
        self.wire = response.serialize()
        layer._send(self.wire, self.peer)
        if before is self.state:
            return
        reliable = self.peer.reliable
        if self.method == "INVITE":
            if self.state is S.COMPLETED:
                if not reliable:
                    self._arm("timer_G", layer.t1, now, layer.t1)
                self._arm("timer_H", 64 * layer.t1, now)
            elif self.state is S.ACCEPTED:
                self._arm("timer_L", 64 * layer.t1, now)
        elif self.state is S.COMPLETED:
            self._arm("timer_J", 0.0 if reliable else 64 * layer.t1, now)

    def _on_request(self, request: Request, now: float) -> None:
        if request.method == "ACK":
            if self._step("ack", now) is S.CONFIRMED:
                self._arm("timer_I", 0.0 if self.peer.reliable else self._layer.t4, now)
            return
        if (
            self._step("request", now) is not None
            and self.wire is not None
            and self.state is not S.ACCEPTED
        ):
            self._layer._send(self.wire, self.peer)
            self._layer.retransmissions += 1

    def _on_timer(self, name: str, now: float, arg: float) -> list[Event]:
        if self._step(name, now) is None:
            return []
        if name == "timer_G" and self.wire is not None:
            self._layer._send(self.wire, self.peer)
            self._layer.retransmissions += 1
            interval = min(2 * arg, self._layer.t2)
            self._arm("timer_G", interval, now, interval)
        return []


def build_non2xx_ack(invite: Request, resp: Response) -> Request:
    """The ACK a client INVITE transaction sends for a 3xx–6xx (RFC 3261 §17.1.1.3)."""
    h = Headers()
    items = h._items
    for item in invite.headers._items:
        key = item[0]
        if key == "via":
            items.append(("via", item[1], invite.headers.values("via")[0], None))
        elif key in ("from", "call-id", "route", "max-forwards"):
            items.append(item)
    h.set("To", resp.headers.get("to") or "")
    h.set("CSeq", f"{invite.cseq.number} ACK")
    h.add("Content-Length", "0")
    return Request("ACK", invite.uri, h)


# -- the layer ---------------------------------------------------------------------------
class TransactionLayer:
    """All transactions of one SIP endpoint, with one timer heap.

    ``send`` is called synchronously with ``(data, peer)`` for every outgoing
    message; when not given, messages queue in :meth:`datagrams_to_send`.
    """

    def __init__(
        self,
        send: Callable[[bytes, Peer], None] | None = None,
        *,
        t1: float = T1,
        t2: float = T2,
        t4: float = T4,
        timer_d: float = 32.0,
    ) -> None:
        self.t1, self.t2, self.t4, self.timer_d = t1, t2, t4, timer_d
        self._out: list[tuple[bytes, Peer]] = []
        self._send_cb = send
        self.client: dict[tuple, ClientTransaction] = {}
        self.server: dict[tuple, ServerTransaction] = {}
        self._timers: list[tuple[float, int, Transaction, str, int, float]] = []
        self._seq = itertools.count()
        self._events: list[Event] = []
        self.retransmissions = 0

    # -- plumbing used by transactions
    def _send(self, data: bytes, peer: Peer) -> None:
        if self._send_cb is not None:
            self._send_cb(data, peer)
        else:
            self._out.append((data, peer))

    def _arm(self, txn: Transaction, name: str, when: float, arg: float) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), txn, name, txn.timer_gen, arg))

    def _terminate(self, txn: Transaction) -> None:
        table = self.client if isinstance(txn, ClientTransaction) else self.server
        if table.get(txn.key) is txn:
            del table[txn.key]
        self._events.append(TransactionTerminated(txn))

    # -- adapter interface
    def datagrams_to_send(self) -> list[tuple[bytes, Peer]]:
        out, self._out = self._out, []
        return out

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` must next be called (``None``: nothing pending)."""
        timers = self._timers
        while timers:
            when, _, txn, _, gen, _ = timers[0]
            if txn.timer_gen == gen and txn.state is not S.TERMINATED:
                return when
            heapq.heappop(timers)
        return None

    def handle_timer(self, now: float) -> list[Event]:
        timers = self._timers
        events = self._events
        while timers and timers[0][0] <= now:
            _, _, txn, name, gen, arg = heapq.heappop(timers)
            if txn.timer_gen != gen or txn.state is S.TERMINATED:
                continue
            events.extend(txn._on_timer(name, now, arg))
        return self.take_events()

    def take_events(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    # -- incoming
    def receive_request(self, request: Request, source: Peer, now: float) -> list[Event]:
        key = server_key(request)
        txn = self.server.get(key)
        if txn is not None:
            txn._on_request(request, now)
            return self.take_events()
        if request.method == "ACK":
            # ACK for a 2xx (its own transaction) or a stray ACK: the TU decides.
            self._events.append(RequestReceived(request, source, None))
            return self.take_events()
        table = IST_TABLE if request.method == "INVITE" else NIST_TABLE
        state = S.PROCEEDING if request.method == "INVITE" else S.TRYING
        txn = ServerTransaction(self, key, request, source, table, state)
        self.server[key] = txn
        self._events.append(RequestReceived(request, source, txn))
        return self.take_events()

    def receive_response(self, response: Response, source: Peer, now: float) -> list[Event]:
        txn = self.client.get(client_key(response))
        if txn is None:
            self._events.append(StrayResponse(response, source))
        else:
            self._events.extend(txn._on_response(response, now))
        return self.take_events()

    # -- outgoing
    def send_request(self, request: Request, peer: Peer, now: float) -> ClientTransaction:
        """Start a client transaction (not for ACK, which has none)."""
        if request.method == "ACK":
            raise ValueError("ACK is sent without a transaction: use send_stateless")
        invite = request.method == "INVITE"
        txn = ClientTransaction(
            self,
            client_key(request),
            request,
            peer,
            ICT_TABLE if invite else NICT_TABLE,
            S.CALLING if invite else S.TRYING,
        )
        self.client[txn.key] = txn
        txn._start(now)
        return txn

    def send_stateless(self, message: Request | Response, peer: Peer) -> None:
        """Send outside any transaction (ACK for 2xx, 2xx retransmissions, stateless errors)."""
        self._send(message.serialize(), peer)

    def transport_error(self, peer: Peer, now: float) -> list[Event]:
        """A connection to ``peer`` failed or was refused: every client transaction
        waiting on it ends with a 503 to the TU (RFC 3261 §8.1.3.1)."""
        for txn in [t for t in self.client.values() if t.peer == peer]:
            txn.timer_gen += 1
            txn.state = S.TERMINATED
            self._terminate(txn)
            self._events.append(
                TransactionTimeout(
                    txn, make_response(txn.request, 503, "Service Unavailable (transport error)")
                )
            )
        return self.take_events()

    def find_invite(self, cancel: Request) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL refers to (§9.2)."""
        key = server_key(cancel)
        return self.server.get((key[0], key[1], "INVITE"))

    @property
    def active(self) -> int:
        return len(self.client) + len(self.server)


def server_key(request: Request) -> tuple:
    via = request.vias[0]
    branch = via.branch
    method = "INVITE" if request.method == "ACK" else request.method
    if branch and branch.startswith(MAGIC_COOKIE):
        # RFC 3261 §17.2.3 matches on branch, sent-by and method; the Call-ID is
        # added so a peer that reuses a branch across calls (RFC 4475 cparam01/02
        # do) cannot have a new request swallowed as a retransmission.
        return (branch, f"{via.host}:{via.port}|{request.call_id}", method)
    # RFC 2543 peer: match on the dialog/CSeq identifiers instead (§17.2.3)
    return (
        "2543:" + request.call_id,
        f"{request.from_.tag}|{request.cseq.number}|{via}",
        method,
    )


def client_key(message: Request | Response) -> tuple:
    return (
        message.vias[0].branch,
        message.cseq.method if message.cseq.method != "ACK" else "INVITE",
    )


__all__ = [
    "T1",
    "T2",
    "T4",
    "ClientTransaction",
    "Event",
    "Peer",
    "RequestReceived",
    "ResponseReceived",
    "ServerTransaction",
    "State",
    "StrayResponse",
    "TransactionLayer",
    "TransactionTerminated",
    "TransactionTimeout",
    "build_non2xx_ack",
    "client_key",
    "server_key",
]
