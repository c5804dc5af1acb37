"""Dialogs (RFC 3261 §12), sans-IO.

A :class:`Dialog` holds the state shared by both ends of a call leg: Call-ID,
tags, local/remote URIs, the remote target (refreshed by re-INVITE/UPDATE),
the route set (from Record-Route), and both CSeq counters. It builds
in-dialog requests (§12.2.1.1, loose and strict routing) and checks incoming
ones (§12.2.2: CSeq ordering → 500, target refresh).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from callcore.sip.errors import SipParseError
from callcore.sip.headers import MAGIC_COOKIE, Address
from callcore.sip.message import Headers, Request, Response
from callcore.sip.uri import URI, SipURI

TARGET_REFRESH = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(10)}@{host}"


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # full From/To value we use for ourselves, tag excluded
    remote_uri: str
    remote_target: URI
    route_set: list[str] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None
    secure: bool = False
    confirmed: bool = False

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    # -- creation
    @classmethod
    def from_uas(cls, request: Request, local_tag: str) -> Dialog:
        """The dialog a UAS creates when it answers ``request`` (§12.1.1)."""
        contacts = request.contacts
        # RFC 2543 UAs may omit Contact: the From URI is then the remote target
        target = contacts[0].uri if contacts else request.from_.uri
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_.tag or "",
            local_uri=_without_tag(request.headers.get("to") or ""),
            remote_uri=_without_tag(request.headers.get("from") or ""),
            remote_target=target,
            route_set=request.headers.values("record-route"),
            local_seq=0,
            remote_seq=request.cseq.number,
            secure=isinstance(request.uri, SipURI) and request.uri.scheme == "sips",
        )

    @classmethod
    def from_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a UAC creates from a 2xx/101-199 with a To tag (§12.1.2)."""
        contacts = response.contacts
        target = contacts[0].uri if contacts else request.uri
        return cls(
            call_id=request.call_id,
            local_tag=request.from_.tag or "",
            remote_tag=response.to.tag or "",
            local_uri=_without_tag(request.headers.get("from") or ""),
            remote_uri=_without_tag(response.headers.get("to") or ""),
            remote_target=target,
            route_set=list(reversed(response.headers.values("record-route"))),
            local_seq=request.cseq.number,
            remote_seq=None,
            secure=isinstance(request.uri, SipURI) and request.uri.scheme == "sips",
        )

    # -- requests within the dialog
    def create_request(
        self,
        method: str,
        via: str,
        contact: str | None = None,
        *,
        cseq: int | None = None,
        extra: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        """Build an in-dialog request. ``via`` is the Via value without branch; a fresh
        branch is added. ACK and CANCEL reuse a given ``cseq``; others increment."""
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        uri, routes = self._request_target()
        h = Headers()
        h.add("Via", f"{via};branch={new_branch()}")
        h.add("Max-Forwards", "70")
        for r in routes:
            h.add("Route", r)
        h.add("From", f"{self.local_uri};tag={self.local_tag}")
        h.add(
            "To", f"{self.remote_uri};tag={self.remote_tag}" if self.remote_tag else self.remote_uri
        )
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{cseq} {method}")
        if contact and method in TARGET_REFRESH:
            h.add("Contact", contact)
        for name, value in extra or ():
            h.add(name, value)
        req = Request(method, uri, h)
        if body:
            req.set_body(body, content_type)
        else:
            h.add("Content-Length", "0")
        return req

    def _request_target(self) -> tuple[URI, list[str]]:
        if not self.route_set:
            return self.remote_target, []
        first = Address.parse(self.route_set[0], "Route")
        if isinstance(first.uri, SipURI) and first.uri.lr:
            return self.remote_target, list(self.route_set)
        # strict router (§12.2.1.1): it becomes the Request-URI, less what a Request-URI
        # may not carry (§19.1.1: the method parameter and headers)
        uri = first.uri
        if isinstance(uri, SipURI) and (uri.headers or uri.param("method") is not None):
            uri = uri.without_params("method").replace(headers=())
        return uri, [*self.route_set[1:], f"<{self.remote_target}>"]

    def next_hop(self) -> URI:
        """Where the next in-dialog request is sent (first Route, else remote target)."""
        if self.route_set:
            return Address.parse(self.route_set[0], "Route").uri
        return self.remote_target

    # -- requests from the peer
    def check_request(self, request: Request) -> None:
        """§12.2.2: reject out-of-order CSeq (500), refresh the remote target."""
        number = request.cseq.number
        if request.method not in ("ACK", "CANCEL"):
            if self.remote_seq is not None and number <= self.remote_seq:
                raise SipParseError("CSeq out of order", 500)
            self.remote_seq = number
        if request.method in TARGET_REFRESH and request.contacts:
            self.remote_target = request.contacts[0].uri

    def refresh_from_response(self, response: Response) -> None:
        """A 2xx to a target-refresh request updates the remote target (§12.2.1.2);
        any other response (a 3xx's Contact lists redirect targets) leaves it."""
        if (
            200 <= response.status < 300
            and response.cseq.method in TARGET_REFRESH
            and response.contacts
        ):
            self.remote_target = response.contacts[0].uri


def _without_tag(value: str) -> str:
    addr = Address.parse(value)
    kept = tuple(p for p in addr.params if p[0].lower() != "tag")
    if kept == addr.params:
        return value
    return str(Address(addr.uri, addr.display, kept))


__all__ = ["TARGET_REFRESH", "Dialog", "new_branch", "new_call_id", "new_tag"]
