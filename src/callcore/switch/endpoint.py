"""The SIP endpoint: UAS and UAC cores, registrar, and the glue to the app.

It owns the transports (:mod:`callcore.net.sip_transport`), one sans-IO
:class:`~callcore.sip.transaction.TransactionLayer` driven by a single loop
timer, the dialogs of live calls, and the registrar. Incoming requests are
validated (the parser answers malformed ones with 400/416/505/513), then
checked as a UAS must (420 for unknown Require, 415/406 for media types,
481 outside a dialog, 405/501 for methods), authenticated when the route is
private, and handed to the application's handler as a
:class:`~callcore.switch.call.Call`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from callcore.media.player import Player
from callcore.media.prompts import PromptCache
from callcore.media.tones import ToneSequence
from callcore.sip import sdp as sdplib
from callcore.sip.auth import DigestChallenger, DigestClient
from callcore.sip.dialog import Dialog, new_branch, new_call_id, new_tag
from callcore.sip.errors import SipParseError
from callcore.sip.message import (
    Headers,
    Request,
    Response,
    error_response,
    make_response,
    parse_message,
)
from callcore.sip.transaction import (
    ClientTransaction,
    Peer,
    RequestReceived,
    ResponseReceived,
    ServerTransaction,
    StrayResponse,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
)
from callcore.sip.uri import SipURI, parse_uri
from callcore.switch import in_dialog, info, session_timer
from callcore.switch.app import App
from callcore.switch.call import Call, DialResult, Hangup
from callcore.switch.location import LocationService
from callcore.switch.media import MediaEngine
from callcore.switch.registrar import Registrar

log = logging.getLogger("callcore.endpoint")

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, UPDATE, REFER, NOTIFY"
#: default music on hold: a soft arpeggio, forever (set Endpoint.moh to a WAV path instead)
DEFAULT_MOH = ToneSequence.of(
    [((523.25,), 280, 40), ((659.25,), 280, 40), ((783.99,), 280, 40), ((659.25,), 280, 600)],
    repeat=None, name="moh", level_dbfs=-22,
)  # fmt: skip
KNOWN_METHODS = frozenset(
    {"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "INFO", "UPDATE", "PRACK",
     "MESSAGE", "SUBSCRIBE", "NOTIFY", "REFER", "PUBLISH"}
)  # fmt: skip
SUPPORTED = frozenset({"path", "outbound", "gruu", "timer", "replaces"})
ACCEPTABLE_BODIES = frozenset({"application/sdp"})


@dataclass
class EndpointStats:
    """Counters for logs, tests and metrics."""

    received: int = 0
    malformed: int = 0
    answered_errors: Counter[int] = field(default_factory=Counter)
    calls_in: int = 0
    calls_out: int = 0
    handler_errors: int = 0


class Endpoint:
    """One SIP user agent (UAS + UAC + registrar) serving one :class:`App`."""

    def __init__(
        self,
        app: App | None = None,
        *,
        host: str = "127.0.0.1",
        realm: str = "callcore",
        user_agent: str = "callcore/0.1",
        open_registration: bool = False,
        server_ssl: ssl.SSLContext | None = None,
        client_ssl: ssl.SSLContext | None = None,
        rtp_ports: tuple[int, int] = (20000, 40000),
        secret: bytes | None = None,
        t1: float = 0.5,
        algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
        md5_only_agents: tuple[str, ...] = ("baresip",),
    ) -> None:
        from callcore.net.sip_transport import SipTransports

        self.app = app or App()
        self.md5_only_agents = md5_only_agents
        self.host = host
        self.user_agent = user_agent
        self.stats = EndpointStats()
        #: seconds after which an INVITE the handler has not responded to gets 100
        #: Trying from the switch (RFC 3261 §17.2.1: 200 ms); see also Call.trying()
        self.trying_after = 0.2
        self.transports = SipTransports(
            self._on_message,
            on_stream_error=self._on_stream_error,
            server_ssl=server_ssl,
            client_ssl=client_ssl,
            on_transport_error=self._on_transport_error,
        )
        self.txl = TransactionLayer(self.transports.send, t1=t1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.calls: dict[tuple[str, str], Call] = {}  # (Call-ID, local tag) -> call
        self._uac: dict[ClientTransaction, asyncio.Future[Response]] = {}
        self._handler_tasks: set[asyncio.Task] = set()
        self._media_closing: set[asyncio.Task] = set()  # RTP sessions of ended calls closing
        self.media = MediaEngine(host, rtp_ports)
        #: RFC 4028: the interval we offer on outgoing calls, and the smallest we accept
        self.session_expires = session_timer.DEFAULT_SE
        self.min_se = session_timer.MIN_SE
        #: WAV prompts converted once to 8 kHz and cached (Call.play, music on hold)
        self.prompts = PromptCache()
        #: music on hold: a WAV path or a tone sequence
        self.moh: str | ToneSequence = DEFAULT_MOH
        #: called with every Call once it has ended (CDR writers, statistics)
        self.call_ended_hooks: list[Callable[[Call], None]] = []
        #: called with every new leg, inbound or outbound (CDR writers, statistics)
        self.call_started_hooks: list[Callable[[Call], None]] = []
        self.challenger = DigestChallenger(
            realm,
            secret or os.urandom(32),
            clock=lambda: self._now(),
            algorithms=algorithms,
            proxy=True,
        )
        self.location = LocationService(clock=lambda: self._now())
        self.registrar = Registrar(
            self.location,
            self.app.accounts,
            # require_qop=False: pyVoIP 1.6.8 answers with RFC 2069 digests (no qop)
            DigestChallenger(
                realm,
                secret or os.urandom(32),
                clock=lambda: self._now(),
                algorithms=algorithms,
                require_qop=False,
            ),
            domain=host,
            open_registration=open_registration,
            md5_only_agents=md5_only_agents,
        )

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, listens: Iterable) -> None:
        from callcore.net.sip_transport import Listen

        self._loop = asyncio.get_running_loop()
        for spec in listens:
            await self.transports.listen(spec if isinstance(spec, Listen) else Listen.parse(spec))

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            if call.state == "answered" and call.dialog is not None:
                self._send_bye(call)
            call._finish(Hangup("shutdown", by="system"))
        for task in list(self._handler_tasks):
            task.cancel()
        if self._timer is not None:
            self._timer.cancel()
        await asyncio.sleep(0)
        # let the RTP sessions of ended calls close (not cancelled with the handlers:
        # a close cancelled before it ran would leave its ports bound and in use)
        if self._media_closing:
            await asyncio.gather(*list(self._media_closing), return_exceptions=True)
        await self.transports.close()

    def _now(self) -> float:
        return (self._loop or asyncio.get_event_loop()).time()

    def local_address(self, transport: str) -> tuple[str, int]:
        try:
            return self.transports.local[transport]
        except KeyError:
            raise RuntimeError(f"no {transport} listener") from None

    def _via(self, transport: str) -> str:
        host, port = self.local_address(transport)
        return f"SIP/2.0/{transport.upper()} {host}:{port}" + (
            ";rport" if transport == "udp" else ""
        )

    def _contact(self, transport: str, user: str = "callcore") -> str:
        host, port = self.local_address(transport)
        scheme = "sips" if transport == "tls" else "sip"
        tp = "" if transport == "udp" else f";transport={transport}"
        return f"<{scheme}:{user}@{host}:{port}{tp}>"

    # -- the one timer ------------------------------------------------------------------
    def _rearm(self) -> None:
        when = self.txl.next_timer()
        if when is None or (
            self._timer_at is not None and self._timer_at <= when and self._timer is not None
        ):
            return
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._timer_at = when
        self._timer = self._loop.call_at(when, self._on_timer)

    def _on_transport_error(self, peer: Peer) -> None:
        self._dispatch(self.txl.transport_error(peer, self._now()))
        self._rearm()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._dispatch(self.txl.handle_timer(self._now()))
        self._rearm()

    # -- input ---------------------------------------------------------------------------
    def _on_stream_error(self, data: bytes, err: SipParseError, peer: Peer) -> bytes | None:
        self.stats.malformed += 1
        try:
            parse_message(data, stream=False)
        except SipParseError as perr:
            resp = error_response(perr, server=self.user_agent)
            if resp is not None:
                return resp.serialize()
        return None

    def _on_message(self, data: bytes, peer: Peer) -> None:
        self.stats.received += 1
        try:
            msg = parse_message(data, stream=peer.transport != "udp")
        except SipParseError as err:
            self.stats.malformed += 1
            resp = error_response(err, server=self.user_agent)
            if resp is not None:
                self.stats.answered_errors[resp.status] += 1
                self.transports.send(resp.serialize(), peer)
            log.debug("malformed message from %s: %s", peer, err)
            return
        now = self._now()
        try:
            if isinstance(msg, Request):
                self._note_source(msg, peer)
                events = self.txl.receive_request(msg, self._response_peer(msg, peer), now)
            else:
                events = self.txl.receive_response(msg, peer, now)
            self._dispatch(events)
        except SipParseError as err:  # semantic faults found while handling
            if isinstance(msg, Request) and msg.method != "ACK":
                self._reply_stateless(msg, peer, err.status, err.reason, err.extra_headers)
        except Exception:  # never let one message take the server down
            log.exception("error handling %r from %s", msg, peer)
            if isinstance(msg, Request) and msg.method != "ACK":
                self._reply_stateless(msg, peer, 500, "Server Internal Error")
        self._rearm()

    def _note_source(self, req: Request, peer: Peer) -> None:
        """RFC 3261 §18.2.1 received= and RFC 3581 rport= on the top Via."""
        via = req.via
        params: dict[str, str | None] = {}
        if via.rport is not None:
            params["rport"] = str(peer.port)
            params["received"] = peer.host
        elif via.host != peer.host:
            params["received"] = peer.host
        if params:
            vias = req.headers.values("via")
            req.headers.set("Via", ", ".join([str(via.with_params(**params)), *vias[1:]]))

    @staticmethod
    def _response_peer(req: Request, peer: Peer) -> Peer:
        """Responses go back to where the request came from (symmetric response
        routing, as RFC 3581 rport asks and as NAT'd phones need) — also when the
        Via names another host or port: that is what reaches the sender."""
        return peer

    def _reply_stateless(
        self, req: Request, peer: Peer, status: int, reason: str, extra=()
    ) -> None:
        resp = make_response(
            req, status, reason, to_tag=new_tag(), extra=[*extra, ("Server", self.user_agent)]
        )
        self.stats.answered_errors[status] += 1
        self.transports.send(resp.serialize(), self._response_peer(req, peer))

    def _dispatch(self, events: list) -> None:
        for ev in events:
            if isinstance(ev, RequestReceived):
                self._on_request(ev.request, ev.source, ev.transaction)
            elif isinstance(ev, ResponseReceived | TransactionTimeout):
                fut = self._uac.get(ev.transaction)
                if ev.response.status >= 200 and fut is not None:
                    del self._uac[ev.transaction]
                    if not fut.done():
                        fut.set_result(ev.response)
                elif ev.response.status < 200:
                    self._on_provisional(ev.transaction, ev.response)
                elif ev.response.status < 300 and ev.response.cseq.method == "INVITE":
                    self._reack(ev.response)
            elif isinstance(ev, StrayResponse):
                if ev.response.status < 300 and ev.response.cseq.method == "INVITE":
                    self._reack(ev.response)
            elif isinstance(ev, TransactionTerminated):
                fut = self._uac.pop(ev.transaction, None)  # type: ignore[arg-type]
                if fut is not None and not fut.done():
                    fut.set_result(make_response(ev.transaction.request, 408))

    # -- UAS ---------------------------------------------------------------------------
    def _respond(
        self, txn: ServerTransaction, status: int, reason: str | None = None, **kw
    ) -> Response:
        extra = list(kw.pop("extra", ()))
        extra.append(("Server", self.user_agent))
        resp = make_response(txn.request, status, reason, extra=extra, **kw)
        if status >= 300:
            self.stats.answered_errors[status] += 1
        txn.respond(resp, self._now())
        return resp

    def _on_request(self, req: Request, source: Peer, txn: ServerTransaction | None) -> None:
        method = req.method
        if txn is None:
            self._on_ack(req)
            return
        if method == "CANCEL":
            self._on_cancel(req, txn)
            return
        unsupported = [t for t in req.option_tags("require") if t not in SUPPORTED]
        if unsupported:
            self._respond(
                txn, 420, to_tag=new_tag(), extra=[("Unsupported", ", ".join(unsupported))]
            )
            return
        if req.to.tag is not None:
            self._in_dialog(req, txn)
            return
        if method == "INVITE":
            self._on_invite(req, txn, source)
        elif method == "OPTIONS":
            self._respond(
                txn, 200, to_tag=new_tag(),
                extra=[("Allow", ALLOW), ("Accept", "application/sdp"), ("Supported", "path, outbound")],
            )  # fmt: skip
        elif method == "REGISTER":
            status, reason, extra = self.registrar.handle(req, source)
            self._respond(txn, status, reason, to_tag=new_tag(), extra=extra)
        elif method == "BYE":
            self._respond(txn, 481, to_tag=new_tag())
        elif method in KNOWN_METHODS:
            self._respond(txn, 405, to_tag=new_tag(), extra=[("Allow", ALLOW)])
        else:
            self._respond(txn, 501, to_tag=new_tag(), extra=[("Allow", ALLOW)])

    def _on_invite(self, req: Request, txn: ServerTransaction, source: Peer) -> None:
        ctype = req.content_type
        if req.body and ctype not in ACCEPTABLE_BODIES:
            self._respond(txn, 415, to_tag=new_tag(), extra=[("Accept", "application/sdp")])
            return
        if "accept" in req.headers:
            accepts = {v.split(";")[0].strip().lower() for v in req.headers.values("accept")}
            if not accepts & {"application/sdp", "application/*", "*/*"}:
                self._respond(
                    txn, 406, to_tag=new_tag(),
                    extra=[("Warning", f'399 {self.host} "only application/sdp bodies are offered"')],
                )  # fmt: skip
                return
        too_small = session_timer.check_request(req, self.min_se)
        if too_small is not None:
            self._respond(txn, 422, to_tag=new_tag(), extra=too_small)
            return
        uri = req.uri
        dialed = (uri.user_unescaped if isinstance(uri, SipURI) else getattr(uri, "user", "")) or ""
        route = self.app.match(dialed, req)
        if route is None:
            self._respond(txn, 404, "No Route", to_tag=new_tag())
            return
        user: str | None = None
        if not route.public:
            user = self._authenticate(req, txn)
            if user is None:
                return
        call = Call(self, "inbound", req, source, new_tag())
        call.server_txn = txn
        call.authenticated_user = user
        self.calls[(req.call_id, call.local_tag)] = call
        self._call_started(call)
        self.stats.calls_in += 1
        task = asyncio.get_running_loop().create_task(self._run_inbound(route.handler, call))
        self._handler_tasks.add(task)
        task.add_done_callback(self._handler_tasks.discard)
        # RFC 3261 §17.2.1: 100 Trying unless the handler responds within 200 ms (a B2BUA
        # waiting for its far end): else the caller retransmits the INVITE from 500 ms on
        asyncio.get_running_loop().call_later(self.trying_after, self._trying, call)

    def _trying(self, call: Call) -> None:
        txn = call.server_txn
        if call.state == "new" and txn is not None and txn.last_response is None:
            self._respond(txn, 100)
            self._rearm()

    async def _open_inbound_media(self, call: Call) -> bool:
        """Bind an RTP port, answer the offer on it; False (call rejected) if impossible."""
        req = call.invite
        if not req.body:
            return True  # late offer: no media at this layer yet
        try:
            session = await self.media.open()
        except Exception as exc:  # port pool exhausted, OS refused
            log.warning("no RTP port for %r: %s", call, exc)
            self._reject(call, 503, "No Media Port")
            return False
        if call.state == "ended":  # CANCELled while the port was bound: it was released
            await session.close()  # without this session, so close it here
            return False
        call.session = session
        try:
            call.media = sdplib.answer(
                req.body, self.local_address(call.peer.transport)[0], session.local_port
            )
        except sdplib.NoAcceptableMedia as exc:
            self._respond(
                call.server_txn, 488, to_tag=call.local_tag, extra=[("Warning", exc.warning)]
            )
            call._finish(Hangup("rejected", 488, by="local", reason=exc.reason))
            return False
        except sdplib.SdpError as exc:
            self._reject(call, 400, f"Bad SDP: {exc}"[:80])
            return False
        session.set_codec(call.media.codec.name, call.media.telephone_event_pt)
        session.set_remote(call.media.remote_address, call.media.remote_port)
        session.on_dtmf = call._on_dtmf
        call.local_sdp = call.media.body
        return True

    async def _run_inbound(self, handler, call: Call) -> None:
        if await self._open_inbound_media(call) and call.state != "ended":
            await self._run_handler(handler, call)

    def _authenticate(self, req: Request, txn: ServerTransaction) -> str | None:
        value = req.headers.get("proxy-authorization")
        if value is not None:
            result = self.challenger.verify(
                value, req.method, self.app.accounts.password, str(req.uri), req.body
            )
            if result.ok:
                return result.username
            stale = result.stale
        else:
            stale = False
        challenges = md5_only(self.challenger.challenge(stale=stale), req, self.md5_only_agents)
        extra = [("Proxy-Authenticate", c) for c in challenges]
        self._respond(txn, 407, to_tag=new_tag(), extra=extra)
        return None

    async def _run_handler(self, handler, call: Call) -> None:
        try:
            await handler(call)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.stats.handler_errors += 1
            log.exception("handler failed for %r", call)
            if call.state in ("new", "ringing") and call.direction == "inbound":
                self._reject(call, 500, "Handler Error")
            elif call.state == "answered":
                await self._hangup(call, "handler_error")

    def _respond_provisional(self, call: Call, status: int) -> None:
        assert call.server_txn is not None
        self._respond(
            call.server_txn,
            status,
            to_tag=call.local_tag,
            extra=[("Contact", self._contact(call.peer.transport))],
        )
        self._rearm()

    def _answer(self, call: Call) -> None:
        txn = call.server_txn
        assert txn is not None
        req = call.invite
        extra = [("Contact", self._contact(call.peer.transport)), ("Allow", ALLOW)]
        for rr in req.headers.get_all("record-route"):
            extra.append(("Record-Route", rr))
        timer = call.session_timer = session_timer.for_inbound(call)
        if timer is not None:
            extra.append(("Session-Expires", timer.header()))
            if "timer" in req.option_tags("supported"):
                extra.append(("Require", "timer"))
        kw = {}
        if call.local_sdp:
            kw = {"body": call.local_sdp, "content_type": "application/sdp"}
        resp = make_response(
            req, 200, to_tag=call.local_tag, extra=[*extra, ("Server", self.user_agent)], **kw
        )
        txn.respond(resp, self._now())
        call.dialog = Dialog.from_uas(req, call.local_tag)
        if timer is not None:
            timer.start()
        if not call.peer.reliable:
            self._retransmit_2xx(call, resp.serialize(), self.txl.t1, 0.0)
        self._rearm()

    def _retransmit_2xx(self, call: Call, wire: bytes, interval: float, elapsed: float) -> None:
        """RFC 3261 §13.3.1.4: resend the 2xx until the ACK; give up after 64·T1."""
        assert self._loop is not None

        def fire() -> None:
            if call.dialog is None or call.dialog.confirmed or call.state == "ended":
                return
            total = elapsed + interval
            if total >= 64 * self.txl.t1:
                self._send_bye(call)
                call._finish(Hangup("ack_timeout", by="system", reason="no ACK for 2xx"))
                return
            self.transports.send(wire, call.peer)
            self._retransmit_2xx(call, wire, min(2 * interval, self.txl.t2), total)

        self._loop.call_later(interval, fire)

    def _reject(self, call: Call, status: int, reason: str | None) -> None:
        if call.server_txn is not None and call.state != "ended":
            self._respond(call.server_txn, status, reason, to_tag=call.local_tag)
            self._rearm()
        call._finish(Hangup("rejected", status, by="local", reason=reason or ""))

    def _on_ack(self, ack: Request) -> None:
        call = self._find_call(ack)
        if call is None or call.dialog is None:
            return
        call.dialog.confirmed = True
        call._confirm()

    def _find_call(self, req: Request) -> Call | None:
        """In-dialog lookup by Call-ID and our tag; leniently by Call-ID and the
        peer's From tag for UAs that send a made-up To tag on ACK (pyVoIP 1.6.8)."""
        to_tag = req.to.tag
        call = self.calls.get((req.call_id, to_tag or ""))
        if call is not None:
            return call
        if req.method == "ACK":
            from_tag = req.from_.tag
            for (cid, _), c in self.calls.items():
                if (
                    cid == req.call_id
                    and c.direction == "inbound"
                    and c.invite.from_.tag == from_tag
                ) and c.invite.cseq.number == req.cseq.number:
                    return c
        return None

    def find_call(self, call_id: str, tag_a: str, tag_b: str) -> Call | None:
        """The live call whose dialog is (call_id, tags) in either orientation
        (how a Replaces header or a Join names a dialog)."""
        for local, remote in ((tag_a, tag_b), (tag_b, tag_a)):
            call = self.calls.get((call_id, local))
            if call is not None and call.dialog is not None and call.dialog.remote_tag == remote:
                return call
        return None

    def _on_cancel(self, cancel: Request, txn: ServerTransaction) -> None:
        invite_txn = self.txl.find_invite(cancel)
        if invite_txn is None:
            self._respond(txn, 481, to_tag=new_tag())
            return
        self._respond(txn, 200, to_tag=new_tag())
        call = next((c for c in self.calls.values() if c.server_txn is invite_txn), None)
        if call is not None and call.state in ("new", "ringing", "early"):
            self._respond(invite_txn, 487, to_tag=call.local_tag)
            call._finish(Hangup("cancelled", 487, by="remote"))
        elif call is None and invite_txn.last_response is None:
            self._respond(invite_txn, 487, to_tag=new_tag())

    def _in_dialog(self, req: Request, txn: ServerTransaction) -> None:
        call = self._find_call(req)
        if call is None or call.dialog is None:
            self._respond(txn, 481)
            return
        try:
            call.dialog.check_request(req)
        except SipParseError as err:
            self._respond(txn, err.status, err.reason)
            return
        method = req.method
        if method == "BYE":
            self._respond(txn, 200)
            call._finish(Hangup("normal_clearing", by="remote"))
        elif method in ("INVITE", "UPDATE"):
            self._on_reinvite(call, req, txn)
        elif method == "REFER":
            in_dialog.on_refer(self, call, req, txn)
        elif method == "NOTIFY":
            self._respond(txn, 200)
            call._emit("notify", req)
        elif method == "INFO":
            info.on_info(self, call, req, txn)
        elif method == "OPTIONS":
            self._respond(txn, 200, extra=[("Allow", ALLOW), ("Accept", "application/sdp")])
        elif method in KNOWN_METHODS:
            self._respond(txn, 405, extra=[("Allow", ALLOW)])
        else:
            self._respond(txn, 501, extra=[("Allow", ALLOW)])

    def _on_reinvite(self, call: Call, req: Request, txn: ServerTransaction) -> None:
        """Session refresh or media change: answer with our current SDP (a hook the
        call-control layer extends for hold/resume)."""
        body = b""
        if req.body and call.session is not None:
            try:
                previous = getattr(call.media, "sdp", None)
                call.media = sdplib.answer(
                    req.body,
                    self.local_address(call.peer.transport)[0],
                    call.session.local_port,
                    previous=previous,
                )
                body = call.media.body
                call.session.set_codec(call.media.codec.name, call.media.telephone_event_pt)
                call.session.set_remote(call.media.remote_address, call.media.remote_port)
                call.session.send_enabled = call.media.direction in ("sendrecv", "sendonly")
            except sdplib.NoAcceptableMedia as exc:
                self._respond(txn, 488, extra=[("Warning", exc.warning)])
                return
        kw = {"body": body, "content_type": "application/sdp"} if body else {}
        extra = [("Contact", self._contact(call.peer.transport))]
        if call.session_timer is not None:
            se = session_timer.parse_session_expires(req)
            call.session_timer.touched(se[0] if se else None)
            extra.append(("Session-Expires", call.session_timer.header()))
        self._respond(txn, 200, extra=extra, **kw)
        call._emit("reinvite", req)
        if body:
            in_dialog.remote_hold_changed(call, bool(getattr(call.media, "on_hold", False)))

    def music_on_hold(self):
        """A media source playing :attr:`moh` in a loop (a fresh player per use)."""
        player = Player(prompts=self.prompts)
        moh = self.moh
        if isinstance(moh, ToneSequence):
            player.enqueue(moh, interruptible=False)

            def tones() -> bytes:
                return player.next_frame()

            return tones

        def looping() -> bytes:
            if player.idle:
                player.enqueue(moh, interruptible=False)
            return player.next_frame()

        return looping

    # -- UAC ---------------------------------------------------------------------------
    def _send_request(self, req: Request, peer: Peer) -> asyncio.Future[Response]:
        fut: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        txn = self.txl.send_request(req, peer, self._now())
        self._uac[txn] = fut
        self._rearm()
        return fut

    def peer_for(self, uri) -> Peer:
        """Next hop for a SIP URI: maddr/host, port (5060/5061), transport parameter."""
        if not isinstance(uri, SipURI):
            raise ValueError(f"cannot send to {uri}")
        transport = uri.transport
        host = uri.param("maddr") or uri.host
        port = uri.port or (5061 if transport == "tls" else 5060)
        return Peer(transport, host.strip("[]"), port)

    def _resolve_target(self, target: str) -> tuple[SipURI, Peer]:
        uri = parse_uri(target)
        if not isinstance(uri, SipURI):
            raise ValueError(f"can only dial sip:/sips: URIs, not {target!r}")
        if uri.user and (uri.host in (self.host, self.registrar.domain) or uri.port is None):
            contacts = self.location.contacts(self.registrar.aor_for(uri.user_unescaped or ""))
            if contacts:
                c = contacts[0]
                contact_uri = SipURI.parse(c.uri)
                if c.source_host and c.source_port:
                    return contact_uri, Peer(
                        c.transport or contact_uri.transport, c.source_host, c.source_port
                    )
                return contact_uri, self.peer_for(contact_uri)
        return uri, self.peer_for(uri)

    async def dial(
        self,
        target: str,
        *,
        caller: str = "callcore",
        display_name: str | None = None,
        timeout: float = 30.0,
        credentials: tuple[str, str] | None = None,
        headers: Iterable[tuple[str, str]] = (),
        asserted_identity: str | None = None,
        privacy: str | None = None,
        max_forwards: int | None = None,
    ) -> DialResult:
        """Call ``target`` (a SIP URI, or a registered extension as ``sip:EXT@<our host>``).

        Returns when the call is answered, refused, unanswered within
        ``timeout`` (CANCEL is sent) or failed. ``credentials`` answer a
        401/407 challenge. Caller identity: ``caller`` (user part) and
        ``display_name`` go in From; ``asserted_identity`` (a SIP or tel URI, e.g.
        the company number) in P-Asserted-Identity, with ``privacy`` (RFC 3323,
        e.g. ``"id"``) when the number must not be shown.

        ``max_forwards`` is the INVITE's Max-Forwards (default 70). A leg placed on
        behalf of an inbound call passes ``call.onward_max_forwards`` (its value minus
        one, RFC 3261 §16.6); below 0 — the inbound INVITE came with 0 — nothing is sent
        and the result is ``rejected`` with 483 Too Many Hops, for the app to relay.
        """
        if max_forwards is None:
            max_forwards = 70
        elif max_forwards < 0:
            return DialResult("rejected", 483, "Too Many Hops")
        elif max_forwards > 255:
            raise ValueError(f"max_forwards must be at most 255, not {max_forwards}")
        uri, peer = self._resolve_target(target)
        transport = peer.transport
        local_host, _local_port = self.local_address(transport)
        tag = new_tag()
        call_id = new_call_id(local_host)
        session = await self.media.open()
        offer = sdplib.make_offer(local_host, session.local_port)
        body = offer.serialize()
        name = f'"{display_name}" ' if display_name else ""
        from_value = f"{name}<sip:{caller}@{local_host}>;tag={tag}"

        def build(cseq: int, auth: tuple[str, str] | None = None) -> Request:
            h = Headers()
            h.add("Via", f"{self._via(transport)};branch={new_branch()}")
            h.add("Max-Forwards", str(max_forwards))
            h.add("From", from_value)
            h.add("To", f"<{uri}>")
            h.add("Call-ID", call_id)
            h.add("CSeq", f"{cseq} INVITE")
            h.add("Contact", self._contact(transport, caller))
            h.add("Allow", ALLOW)
            h.add("Supported", "timer, replaces")
            h.add("Session-Expires", str(self.session_expires))
            h.add("User-Agent", self.user_agent)
            if asserted_identity:
                h.add("P-Asserted-Identity", f"<{asserted_identity}>")
            if privacy:
                h.add("Privacy", privacy)
            if auth:
                h.add(*auth)
            for k, v in headers:
                h.add(k, v)
            req = Request("INVITE", uri, h)
            req.set_body(body, "application/sdp")
            return req

        invite = build(1)
        call = Call(self, "outbound", invite, peer, tag)
        call.session = session
        session.on_dtmf = call._on_dtmf
        call.local_sdp = body
        self.calls[(call_id, tag)] = call
        self._call_started(call)
        self.stats.calls_out += 1
        result = await self._invite_round(call, invite, peer, timeout)
        if result.status in (401, 407) and credentials is not None and result.call is None:
            resp = result.response  # type: ignore[attr-defined]
            header = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
            client = DigestClient(*credentials)
            auth_value = client.authorize(resp.headers.get_all(header), "INVITE", str(uri))
            invite = build(
                2, ("Authorization" if resp.status == 401 else "Proxy-Authorization", auth_value)
            )
            call.invite = invite
            result = await self._invite_round(call, invite, peer, timeout)
        if not result.answered:
            call._finish(Hangup(result.outcome, result.status, by="remote", reason=result.reason))
        return DialResult(
            result.outcome, result.status, result.reason, call if result.answered else None
        )

    async def _invite_round(
        self, call: Call, invite: Request, peer: Peer, timeout: float
    ) -> _Round:
        fut = self._send_request(invite, peer)
        try:
            return await self._await_final(call, invite, peer, fut, timeout)
        except asyncio.CancelledError:
            # the application gave up (e.g. its caller hung up): CANCEL, and BYE a
            # 2xx that crosses the CANCEL
            self._cancel(invite, peer)
            call._finish(Hangup("cancelled", by="local"))
            fut.add_done_callback(lambda f: self._bye_late_2xx(invite, peer, f))
            raise

    def _bye_late_2xx(self, invite: Request, peer: Peer, fut: asyncio.Future[Response]) -> None:
        if fut.cancelled() or fut.result().status >= 300:
            return
        dialog = Dialog.from_uac(invite, fut.result())
        via = self._via(peer.transport)
        self.transports.send(
            dialog.create_request("ACK", via, cseq=invite.cseq.number).serialize(), peer
        )
        self._send_request(dialog.create_request("BYE", via), peer)

    async def _await_final(
        self, call: Call, invite: Request, peer: Peer, fut: asyncio.Future[Response], timeout: float
    ) -> _Round:
        try:
            resp = await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            self._cancel(invite, peer)
            if not self._heard_from(fut):
                # not even a 100 Trying within `timeout`: nobody is there (UDP
                # reports nothing for a port nobody listens on). Waiting on for
                # Timer B (32 s) would only make it a 408 "no answer": report the
                # failure now, and BYE a 2xx should one still come.
                fut.add_done_callback(lambda f: self._bye_late_2xx(invite, peer, f))
                return _Round("failed", None, "no response")
            try:
                resp = await asyncio.wait_for(fut, 64 * self.txl.t1)
            except TimeoutError:
                return _Round("no_answer", 408, "no final response")
            if resp.status < 300:
                pass  # answered while we cancelled: take the call
            else:
                return _Round("no_answer", resp.status, resp.reason)
        if resp.status < 300:
            dialog = Dialog.from_uac(invite, resp)
            dialog.confirmed = True
            call.dialog = dialog
            call.local_tag = dialog.local_tag
            ack = dialog.create_request("ACK", self._via(peer.transport), cseq=invite.cseq.number)
            call._ack_wire = ack.serialize()  # type: ignore[attr-defined]
            call._ack_peer = self._dialog_peer(call)  # type: ignore[attr-defined]
            self.transports.send(call._ack_wire, call._ack_peer)  # type: ignore[attr-defined]
            if resp.body:
                try:
                    call.media = sdplib.negotiated(
                        resp.body, sdplib.SessionDescription.parse(call.local_sdp)
                    )
                except (sdplib.SdpError, sdplib.NoAcceptableMedia) as exc:
                    log.warning("bad SDP answer on %s: %s", call, exc)
                else:
                    # send to the answer's address at once (not only after the
                    # far end's first packet: a silent callee must still hear us)
                    if call.session is not None:
                        call.session.set_codec(call.media.codec.name, call.media.telephone_event_pt)
                        call.session.set_remote(call.media.remote_address, call.media.remote_port)
            call.session_timer = session_timer.for_outbound(call, resp)
            if call.session_timer is not None:
                call.session_timer.start()
            call.state = "answered"
            call.answered_at = time.time()
            call._confirm()
            call._emit("answered")
            return _Round("answered", resp.status, resp.reason, call)
        outcome = {
            486: "busy",
            600: "busy",
            408: "no_answer",
            480: "no_answer",
            487: "cancelled",
        }.get(resp.status, "rejected")
        if resp.status >= 500 and resp.status not in (600, 603, 604, 606):
            outcome = "failed"
        r = _Round(outcome, resp.status, resp.reason)
        r.response = resp
        return r

    def _heard_from(self, fut: asyncio.Future[Response]) -> bool:
        """Whether the client transaction behind ``fut`` has had any response."""
        for txn, f in self._uac.items():
            if f is fut:
                return txn.last_response is not None
        return True  # no longer pending: its final response has just come

    def _cancel(self, invite: Request, peer: Peer) -> None:
        h = Headers()
        h.add("Via", invite.headers.values("via")[0])
        for key in ("max-forwards", "from", "to", "call-id"):
            h.add(key, invite.headers.get(key) or "")
        for r in invite.headers.get_all("route"):
            h.add("Route", r)
        h.add("CSeq", f"{invite.cseq.number} CANCEL")
        h.add("Content-Length", "0")
        self._send_request(Request("CANCEL", invite.uri, h), peer)

    def _on_provisional(self, txn: ClientTransaction, resp: Response) -> None:
        if txn.method != "INVITE":
            return
        call = self.calls.get((resp.call_id, resp.from_.tag or ""))
        if call is not None and resp.status in (180, 183):
            if call.state == "new":
                call.state = "ringing"
            call._emit("ringing" if resp.status == 180 else "progress", resp.status)

    def _reack(self, resp: Response) -> None:
        call = self.calls.get((resp.call_id, resp.from_.tag or ""))
        wire = getattr(call, "_ack_wire", None)
        if call is not None and wire is not None:
            self.transports.send(wire, call._ack_peer)  # type: ignore[attr-defined]

    def _dialog_peer(self, call: Call) -> Peer:
        assert call.dialog is not None
        if call.direction == "inbound" and call.peer.reliable:
            return call.peer
        hop = call.dialog.next_hop()
        if call.direction == "outbound":
            try:
                return self.peer_for(hop)
            except ValueError:
                return call.peer
        # inbound over UDP: the caller's Contact, but keep the address we saw it from
        # when it sits behind NAT (rport)
        if call.invite.via.rport is not None:
            return call.peer
        return self.peer_for(hop)

    def _send_bye(self, call: Call) -> asyncio.Future[Response] | None:
        if call.dialog is None:
            return None
        peer = self._dialog_peer(call)
        bye = call.dialog.create_request(
            "BYE", self._via(peer.transport), extra=[("User-Agent", self.user_agent)]
        )
        return self._send_request(bye, peer)

    async def _hangup(self, call: Call, cause: str) -> None:
        if call.state == "answered" and call.dialog is not None:
            fut = self._send_bye(call)
            call._finish(Hangup(cause, by="local"))
            if fut is not None:
                await fut
        elif call.direction == "inbound":
            self._reject(call, 480 if cause == "normal_clearing" else 603, None)
        else:
            self._cancel(call.invite, call.peer)
            call._finish(Hangup("cancelled", by="local"))

    def _call_started(self, call: Call) -> None:
        for hook in self.call_started_hooks:
            try:
                hook(call)
            except Exception:
                log.exception("call_started hook failed")

    def _release(self, call: Call) -> None:
        self.calls.pop((call.call_id, call.local_tag), None)
        if call.session_timer is not None:
            call.session_timer.cancel()
        for hook in self.call_ended_hooks:
            try:
                hook(call)
            except Exception:
                log.exception("call-ended hook failed for %r", call)
        if call.session is not None and not call.session.closed:
            task = asyncio.get_running_loop().create_task(call.session.close())
            self._media_closing.add(task)
            task.add_done_callback(self._media_closing.discard)


def md5_only(challenges: list[str], req: Request, agents: tuple[str, ...]) -> list[str]:
    """RFC 8760 challenges (SHA-256 first, then MD5) for everyone, except UAs whose
    digest code fails on any non-MD5 challenge (baresip 1.0's libre answers
    ENOSYS): they get the MD5 one only. Matched on the User-Agent prefix."""
    ua = (req.headers.get("user-agent") or "").lower()
    if ua and any(ua.startswith(a.lower()) for a in agents):
        return [
            c for c in challenges if "algorithm=md5" in c.lower().replace(" ", "")
        ] or challenges
    return challenges


class _Round:
    __slots__ = ("call", "outcome", "reason", "response", "status")

    def __init__(
        self, outcome: str, status: int | None, reason: str, call: Call | None = None
    ) -> None:
        self.outcome = outcome
        self.status = status
        self.reason = reason
        self.call = call
        self.response: Response | None = None

    @property
    def answered(self) -> bool:
        return self.outcome == "answered"


def new_secret() -> bytes:
    return secrets.token_bytes(32)


__all__ = ["Endpoint", "EndpointStats"]
