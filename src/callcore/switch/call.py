"""A call leg as an application sees it: answer, reject, ring, hang up, wait.

One :class:`Call` is one SIP dialog (or dialog-to-be) owned by the
:class:`~callcore.switch.endpoint.Endpoint`. Every operation is awaitable;
:attr:`Call.events` is a queue of :class:`CallEvent` (ringing, answered,
dtmf, hangup …) and :meth:`Call.wait_hangup` resolves with the
:class:`Hangup` (cause, SIP status, who hung up).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from callcore.media.player import ItemFinished, ItemInterrupted, Player
from callcore.media.prompts import Prompt
from callcore.media.tones import ToneSequence
from callcore.sip.headers import Address

if TYPE_CHECKING:
    from callcore.sip.dialog import Dialog
    from callcore.sip.message import Request
    from callcore.sip.sdp import Answer, Negotiated
    from callcore.sip.transaction import Peer, ServerTransaction
    from callcore.switch.endpoint import Endpoint
    from callcore.switch.media import MediaSession

Direction = Literal["inbound", "outbound"]
State = Literal["new", "ringing", "early", "answered", "ended"]


@dataclass(frozen=True, slots=True)
class CallEvent:
    """Something that happened on a call: ``kind`` is ``ringing``, ``answered``,
    ``dtmf`` (``data`` = digit), ``hangup`` (``data`` = :class:`Hangup`)…"""

    kind: str
    data: object = None
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Hangup:
    """How a call ended: ``cause`` (``normal_clearing``, ``busy``, ``no_answer``,
    ``rejected``, ``cancelled``, ``failed``, ``ack_timeout``), the SIP status
    that ended it when there was one, and ``by`` (``local``/``remote``/``system``)."""

    cause: str
    status: int | None = None
    by: str = "remote"
    reason: str = ""


class CallError(Exception):
    """An operation is impossible in the call's state (e.g. answering an ended call)."""


class Call:
    """One leg. Created by the endpoint for inbound INVITEs and by :meth:`Endpoint.dial`."""

    def __init__(
        self,
        endpoint: Endpoint,
        direction: Direction,
        invite: Request,
        peer: Peer,
        local_tag: str,
    ) -> None:
        self.endpoint = endpoint
        self.direction: Direction = direction
        self.invite = invite
        self.peer = peer
        self.local_tag = local_tag
        self.state: State = "new"
        self.dialog: Dialog | None = None
        self.server_txn: ServerTransaction | None = None
        self.media: Answer | Negotiated | None = None
        self.local_sdp: bytes = b""
        self.session: MediaSession | None = None
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.session_timer = None  # RFC 4028 timer, when one was agreed
        self.remote_hold = False  # the far end put us on hold
        self.local_hold = False  # we put the far end on hold
        self.partner: Call | None = None  # the leg this one is bridged to
        self._saved_source = None
        self._hold_listeners: list = []
        self._refer_listeners: list = []
        self._player: Player | None = None
        self.events: asyncio.Queue[CallEvent] = asyncio.Queue()
        #: called with every digit the far end sends (opt-out watchers, recorders)
        self.dtmf_listeners: list[Callable[[str], None]] = []
        self.created_at = time.time()
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.hangup_info: Hangup | None = None
        self.authenticated_user: str | None = None
        self._ended: asyncio.Future[Hangup] = asyncio.get_running_loop().create_future()
        self._answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- identity ------------------------------------------------------------
    @property
    def call_id(self) -> str:
        return self.invite.call_id

    @property
    def caller(self) -> Address:
        """The calling party (From of an inbound INVITE, To of an outbound one)."""
        return self.invite.from_ if self.direction == "inbound" else self.invite.to

    @property
    def dialed(self) -> str:
        """The dialed number: Request-URI user part (unescaped)."""
        uri = self.invite.uri
        return getattr(uri, "user_unescaped", None) or getattr(uri, "user", "") or ""

    @property
    def caller_number(self) -> str:
        uri = self.invite.from_.uri
        return getattr(uri, "user_unescaped", None) or getattr(uri, "user", "") or ""

    @property
    def caller_display(self) -> str | None:
        """Display name of the calling party (From), unquoted."""
        return self.invite.from_.display_name if self.direction == "inbound" else None

    @property
    def asserted_identity(self) -> str | None:
        """P-Asserted-Identity URI of an inbound call (trusted network identity), if any."""
        value = self.invite.headers.get("p-asserted-identity")
        if not value:
            return None
        try:
            return str(Address.parse(value.split(",")[0], "P-Asserted-Identity").uri)
        except ValueError:
            return None

    @property
    def onward_max_forwards(self) -> int:
        """Max-Forwards for a leg placed on this inbound call's behalf (B2BUA,
        RFC 3261 §16.6): the INVITE's value minus one (69 when it had none). -1 when
        it arrived with 0: ``Endpoint.dial(..., max_forwards=-1)`` answers 483 unsent."""
        value = self.invite.max_forwards
        return (70 if value is None else value) - 1

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    # -- operations ----------------------------------------------------------
    def trying(self) -> None:
        """Send 100 Trying now (inbound; nothing if a response was already sent).

        The switch sends one on its own when the handler has not responded within
        200 ms (RFC 3261 §17.2.1). A handler that knows it will take longer — a
        B2BUA about to dial its far end — calls this first, so the caller stops
        retransmitting the INVITE at once, as a proxy does (§16.2)."""
        self._need_inbound("trying")
        self.endpoint._trying(self)

    async def ring(self) -> None:
        """Send 180 Ringing (inbound)."""
        self._need_inbound("ring")
        if self.state == "new":
            self.endpoint._respond_provisional(self, 180)
            self.state = "ringing"

    async def answer(self) -> None:
        """Answer (200 OK with our SDP). Returns once the 200 is sent; the ACK is
        awaited in the background (:meth:`wait_answered` waits for it)."""
        self._need_inbound("answer")
        if self.state == "answered":
            return
        if self.state == "ended":
            raise CallError("cannot answer: the call has ended")
        self.endpoint._answer(self)
        self.state = "answered"
        self.answered_at = time.time()
        self._emit("answered")

    async def wait_answered(self) -> None:
        """Inbound: until the caller's ACK confirms the dialog. Outbound: until answered."""
        await asyncio.shield(self._answered)

    async def reject(self, status: int = 486, reason: str | None = None) -> None:
        """Refuse an unanswered inbound call with a final SIP status."""
        self._need_inbound("reject")
        if self.state in ("answered", "ended"):
            raise CallError(f"cannot reject a call that is {self.state}")
        self.endpoint._reject(self, status, reason)

    async def hangup(self, cause: str = "normal_clearing") -> Hangup:
        """End the call: BYE when answered, 480/CANCEL before that."""
        if self.state == "ended":
            assert self.hangup_info is not None
            return self.hangup_info
        await self.endpoint._hangup(self, cause)
        return await self.wait_hangup()

    async def wait_hangup(self) -> Hangup:
        """Until the call ends, for whatever reason."""
        return await asyncio.shield(self._ended)

    # -- media ----------------------------------------------------------------
    def _need_media(self) -> MediaSession:
        if self.session is None or self.session.closed:
            raise CallError("this call has no media session")
        return self.session

    def echo(self) -> None:
        """Send the caller's own audio back (one 20 ms tick later)."""
        s = self._need_media()
        s.source = lambda: s.heard

    def silence(self) -> None:
        """Stop sending audio."""
        self._need_media().source = None

    async def play(
        self,
        what: str | os.PathLike[str] | bytes | Prompt | ToneSequence,
        *,
        interruptible: bool = True,
    ) -> str:
        """Play a WAV prompt (path), raw 8 kHz 16-bit PCM, or a tone sequence to the far end.

        Returns ``"finished"``, or ``"dtmf:<digit>"`` when a digit barged in
        (the digit stays in :attr:`digits` for a following :meth:`collect`).
        """
        s = self._need_media()
        if isinstance(what, (str, os.PathLike)):  # load and convert off the event loop, once
            what = await asyncio.to_thread(self.endpoint.prompts.get, what)
        if self._player is None:
            self._player = Player(prompts=self.endpoint.prompts)
        player = self._player
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        item = player.enqueue(what, interruptible=interruptible)

        def source() -> bytes:
            frame = player.next_frame()
            for ev in player.events():
                if getattr(ev, "item_id", None) == item and not done.done():
                    if isinstance(ev, ItemFinished):
                        done.set_result("finished")
                    elif isinstance(ev, ItemInterrupted):
                        done.set_result(
                            f"dtmf:{ev.digit}" if getattr(ev, "digit", None) else "interrupted"
                        )
            return frame

        s.source = source
        ended = asyncio.ensure_future(self.wait_hangup())
        try:
            await asyncio.wait([done, ended], return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        if not done.done():
            raise CallError("the call ended during playback")
        return done.result()

    async def collect(
        self,
        max_digits: int = 1,
        *,
        terminator: str | None = "#",
        first_timeout: float = 5.0,
        inter_timeout: float = 3.0,
    ) -> str:
        """Collect DTMF digits (RFC 4733 or SIP INFO) until ``max_digits``, the
        terminator (not included) or a timeout; returns what was collected."""
        got = ""
        timeout = first_timeout
        while len(got) < max_digits:
            try:
                digit = await asyncio.wait_for(self.digits.get(), timeout)
            except TimeoutError:
                break
            if terminator and digit == terminator:
                break
            got += digit
            timeout = inter_timeout
        return got

    async def hold(self, *, inactive: bool = False) -> None:
        """Put the far end on hold (re-INVITE ``sendonly``); it hears music on hold."""
        from callcore.switch.in_dialog import hold

        resp = await hold(self.endpoint, self, inactive=inactive)
        if resp.status >= 300:
            raise CallError(f"hold refused: {resp.status} {resp.reason}")

    async def resume(self) -> None:
        """Take the far end off hold (re-INVITE ``sendrecv``)."""
        from callcore.switch.in_dialog import resume

        resp = await resume(self.endpoint, self)
        if resp.status >= 300:
            raise CallError(f"resume refused: {resp.status} {resp.reason}")

    async def refer(self, target: str, *, replaces: Call | None = None) -> int:
        """Send REFER: ask the far end to call ``target`` (or to replace ``replaces``).
        Returns the REFER's status (202 accepted)."""
        from callcore.switch.in_dialog import refer

        return (await refer(self.endpoint, self, target, replaces=replaces)).status

    def _on_dtmf(self, digit: str) -> None:
        self.digits.put_nowait(digit)
        self._emit("dtmf", digit)
        for fn in self.dtmf_listeners:
            fn(digit)
        if self._player is not None:
            self._player.on_dtmf(digit)

    # -- endpoint-facing -------------------------------------------------------
    def _need_inbound(self, what: str) -> None:
        if self.direction != "inbound":
            raise CallError(f"{what}() is for inbound calls")

    def _emit(self, kind: str, data: object = None) -> None:
        self.events.put_nowait(CallEvent(kind, data))

    def _confirm(self) -> None:
        if not self._answered.done():
            self._answered.set_result(None)

    def _finish(self, hangup: Hangup) -> None:
        if self.state == "ended":
            return
        self.state = "ended"
        self.ended_at = time.time()
        self.hangup_info = hangup
        self._emit("hangup", hangup)
        if not self._ended.done():
            self._ended.set_result(hangup)
        if not self._answered.done():
            self._answered.cancel()
        self.endpoint._release(self)

    def __repr__(self) -> str:
        return f"<Call {self.direction} {self.call_id} {self.state}>"


@dataclass(frozen=True, slots=True)
class DialResult:
    """Outcome of :meth:`Endpoint.dial`: ``answered``, ``busy``, ``no_answer``,
    ``rejected`` (with ``status``), ``cancelled`` or ``failed``."""

    outcome: str
    status: int | None = None
    reason: str = ""
    call: Call | None = None

    @property
    def answered(self) -> bool:
        return self.outcome == "answered"


__all__ = ["Call", "CallError", "CallEvent", "DialResult", "Hangup"]
