"""Requests inside an established dialog: hold/resume, REFER and its NOTIFYs.

* :func:`request` sends any in-dialog request (and the ACK of a re-INVITE's 2xx).
* :func:`hold` / :func:`resume` re-INVITE the far end with ``sendonly`` (or
  ``inactive``) and back to ``sendrecv`` (RFC 3264 §8.4); while a leg is on hold
  callcore keeps sending it music on hold.
* :func:`on_refer` answers an incoming REFER (RFC 3515) with 202 and hands a
  :class:`ReferRequest` to whoever owns the leg (the bridge does the transfer);
  :func:`notify_refer` reports progress as ``message/sipfrag`` NOTIFYs.
* When the far end holds us (its re-INVITE is ``sendonly``/``inactive``) the
  call's hold listeners are told, so a bridge can play music on hold to the
  other leg.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from callcore.sip import sdp as sdplib
from callcore.sip.errors import SipParseError
from callcore.sip.headers import Address
from callcore.sip.message import Request, Response
from callcore.sip.uri import SipURI

if TYPE_CHECKING:
    from callcore.sip.transaction import ServerTransaction
    from callcore.switch.call import Call
    from callcore.switch.endpoint import Endpoint


@dataclass(frozen=True, slots=True)
class Replaces:
    """A Replaces header value (RFC 3891): the dialog to take over."""

    call_id: str
    to_tag: str
    from_tag: str

    @classmethod
    def parse(cls, value: str) -> Replaces:
        call_id, *params = [p.strip() for p in value.split(";")]
        kv = {}
        for p in params:
            k, _, v = p.partition("=")
            kv[k.strip().lower()] = v.strip()
        if not call_id or "to-tag" not in kv or "from-tag" not in kv:
            raise SipParseError("Bad Replaces header")
        return cls(call_id, kv["to-tag"], kv["from-tag"])


@dataclass(frozen=True, slots=True)
class ReferRequest:
    """An accepted REFER: where to transfer (``target`` without the Replaces
    header) and, for an attended transfer, the dialog to replace."""

    leg: Call
    target: str
    replaces: Replaces | None
    referred_by: str | None


async def request(
    ep: Endpoint,
    call: Call,
    method: str,
    *,
    body: bytes = b"",
    content_type: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> Response:
    """Send ``method`` inside ``call``'s dialog; ACK a re-INVITE's 2xx."""
    dialog = call.dialog
    if dialog is None or call.state == "ended":
        raise SipParseError("no dialog", 481)
    peer = ep._dialog_peer(call)
    via = ep._via(peer.transport)
    req = dialog.create_request(
        method, via, ep._contact(peer.transport), extra=[*extra, ("User-Agent", ep.user_agent)],
        body=body, content_type=content_type,
    )  # fmt: skip
    resp = await ep._send_request(req, peer)
    if method == "INVITE" and resp.status < 300:
        dialog.refresh_from_response(resp)
        ack = dialog.create_request("ACK", via, cseq=req.cseq.number)
        ep.transports.send(ack.serialize(), peer)
    return resp


def _local_sdp(call: Call) -> sdplib.SessionDescription:
    sdp = getattr(call.media, "sdp", None)
    return sdp if sdp is not None else sdplib.SessionDescription.parse(call.local_sdp)


async def _reinvite(ep: Endpoint, call: Call, direction: str) -> Response:
    offer = sdplib.reoffer(_local_sdp(call), direction=direction)
    resp = await request(ep, call, "INVITE", body=offer.serialize(), content_type="application/sdp")
    if resp.status < 300:
        call.local_sdp = offer.serialize()
        if resp.body:
            call.media = sdplib.negotiated(resp.body, offer)
            if call.session is not None:
                call.session.set_remote(call.media.remote_address, call.media.remote_port)
    return resp


async def hold(ep: Endpoint, call: Call, *, inactive: bool = False) -> Response:
    """Put the far end on hold; it hears music on hold from callcore meanwhile."""
    resp = await _reinvite(ep, call, "inactive" if inactive else "sendonly")
    if resp.status < 300:
        call.local_hold = True
        if call.session is not None and not inactive:
            call._saved_source = call.session.source
            call.session.source = ep.music_on_hold()
        call._emit("held_by_us")
    return resp


async def resume(ep: Endpoint, call: Call) -> Response:
    """Take the far end off hold (``sendrecv``) and give it back its audio."""
    resp = await _reinvite(ep, call, "sendrecv")
    if resp.status < 300:
        call.local_hold = False
        if call.session is not None:
            call.session.source = call._saved_source
            call._saved_source = None
        call._emit("resumed_by_us")
    return resp


def remote_hold_changed(call: Call, on_hold: bool) -> None:
    """The far end's re-INVITE put us on hold / took us off it."""
    if call.remote_hold == on_hold:
        return
    call.remote_hold = on_hold
    call._emit("hold" if on_hold else "resume")
    for listener in list(call._hold_listeners):
        listener(call, on_hold)


def on_refer(ep: Endpoint, call: Call, req: Request, txn: ServerTransaction) -> None:
    """REFER in a dialog: 202 then hand it to the leg's refer listener (or refuse)."""
    values = req.headers.get_all("refer-to")
    if len(values) != 1:
        ep._respond(txn, 400, "Exactly one Refer-To is required")
        return
    try:
        refer_to = Address.parse(values[0], "Refer-To")
    except SipParseError as err:
        ep._respond(txn, 400, err.reason)
        return
    uri = refer_to.uri
    if not isinstance(uri, SipURI):
        ep._respond(txn, 416, "Refer-To must be a SIP URI")
        return
    replaces = None
    for name, value in uri.headers:
        if name.lower() == "replaces" and value:
            try:
                replaces = Replaces.parse(unquote(value))
            except SipParseError as err:
                ep._respond(txn, 400, err.reason)
                return
    if not call._refer_listeners:
        ep._respond(txn, 603, "Transfer not possible here")
        return
    ep._respond(txn, 202, extra=[("Contact", ep._contact(call.peer.transport))])
    target = str(uri.replace(headers=()))
    refer = ReferRequest(call, target, replaces, req.headers.get("referred-by"))
    call._emit("refer", refer)
    for listener in list(call._refer_listeners):
        listener(refer)


async def refer(ep: Endpoint, call: Call, target: str, *, replaces: Call | None = None) -> Response:
    """Ask the far end to call ``target`` (blind transfer), or — with ``replaces`` —
    to replace that other dialog of ours (attended transfer). Returns the REFER's
    final response (202 when accepted); progress arrives as NOTIFY events."""
    refer_to = target
    if replaces is not None and replaces.dialog is not None:
        d = replaces.dialog
        value = quote(f"{d.call_id};to-tag={d.remote_tag};from-tag={d.local_tag}", safe="")
        refer_to = f"{target}?Replaces={value}"
    return await request(
        ep,
        call,
        "REFER",
        extra=[("Refer-To", f"<{refer_to}>"), ("Referred-By", ep._contact(call.peer.transport))],
    )


async def notify_refer(ep: Endpoint, call: Call, status: int, reason: str, *, final: bool) -> None:
    """Report a transfer's progress to the referrer (RFC 3515 §2.4.5)."""
    if call.state == "ended" or call.dialog is None:
        return
    state = "terminated;reason=noresource" if final else "active;expires=60"
    try:
        await request(
            ep, call, "NOTIFY", body=f"SIP/2.0 {status} {reason}\r\n".encode(),
            content_type="message/sipfrag;version=2.0",
            extra=[("Event", "refer"), ("Subscription-State", state)],
        )  # fmt: skip
    except SipParseError:
        pass


__all__ = [
    "ReferRequest",
    "Replaces",
    "hold",
    "notify_refer",
    "on_refer",
    "refer",
    "remote_hold_changed",
    "request",
    "resume",
]
