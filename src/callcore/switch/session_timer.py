"""Session timers (RFC 4028): long calls stay up, dead ones are cleared.

When a peer asks for a session timer (``Session-Expires``, ``Supported: timer``)
callcore accepts it (raising an interval below ``MIN_SE`` with 422 + Min-SE),
states the refresher in its 2xx, and then either refreshes the session itself
(re-INVITE with the same SDP every half interval, when it is the refresher) or
expects the peer to — a session not refreshed in time is ended with a BYE.
Outgoing calls offer ``Session-Expires: 1800`` with ``Supported: timer``.
One ``loop.call_later`` handle per call; no task.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from callcore.sip.errors import SipParseError

if TYPE_CHECKING:
    from callcore.sip.message import Message, Request
    from callcore.switch.call import Call

log = logging.getLogger("callcore.session_timer")

MIN_SE = 90
DEFAULT_SE = 1800


def parse_session_expires(msg: Message) -> tuple[int, str | None] | None:
    """``(interval, refresher)`` from a Session-Expires header, or None."""
    value = msg.headers.get("session-expires")
    if value is None:
        return None
    delta, *params = [p.strip() for p in value.split(";")]
    if not delta.isdigit():
        raise SipParseError("Bad Session-Expires")
    refresher = None
    for p in params:
        k, _, v = p.partition("=")
        if k.strip().lower() == "refresher":
            refresher = v.strip().lower()
            if refresher not in ("uac", "uas"):
                raise SipParseError("Bad Session-Expires refresher")
    return int(delta), refresher


def check_request(req: Request, min_se: int = MIN_SE) -> list[tuple[str, str]] | None:
    """None when acceptable; otherwise the extra headers of a 422 answer."""
    se = parse_session_expires(req)
    if se is not None and se[0] < min_se:
        return [("Min-SE", str(min_se))]
    return None


class SessionTimer:
    """The session timer of one answered call."""

    def __init__(self, call: Call, interval: int, we_refresh: bool) -> None:
        self.call = call
        self.interval = interval
        self.we_refresh = we_refresh
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task | None = None
        self.refreshes = 0

    @property
    def refresher(self) -> str:
        """The refresher as the UAS side states it (``uac``/``uas``)."""
        inbound = self.call.direction == "inbound"
        return ("uas" if inbound else "uac") if self.we_refresh else ("uac" if inbound else "uas")

    def header(self) -> str:
        return f"{self.interval};refresher={self.refresher}"

    def start(self) -> None:
        self._arm()

    def touched(self, interval: int | None = None) -> None:
        """A refresh happened (either direction): restart the clock."""
        if interval:
            self.interval = interval
        self.refreshes += 1
        self._arm()

    def _arm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        loop = asyncio.get_running_loop()
        if self.we_refresh:
            self._handle = loop.call_later(self.interval / 2, self._refresh)
        else:  # RFC 4028 §10: BYE at expiry minus min(32, interval/3)
            self._handle = loop.call_later(
                self.interval - min(32, self.interval / 3), self._expired
            )

    def _refresh(self) -> None:
        if self.call.ended:
            return
        self._task = asyncio.ensure_future(self._send_refresh())

    async def _send_refresh(self) -> None:
        from callcore.switch.in_dialog import request

        call = self.call
        try:
            resp = await request(
                call.endpoint, call, "INVITE", body=call.local_sdp, content_type="application/sdp" if call.local_sdp else None,
                extra=[("Session-Expires", self.header()), ("Supported", "timer")],
            )  # fmt: skip
        except SipParseError:
            return
        if resp.status < 300:
            self.touched()
        elif resp.status in (408, 481):
            await call.hangup("session_expired")
        else:
            self._arm()

    def _expired(self) -> None:
        if not self.call.ended:
            log.info("session timer expired on %r", self.call)
            self._task = asyncio.ensure_future(self.call.hangup("session_expired"))

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def for_inbound(call: Call) -> SessionTimer | None:
    """The timer an inbound INVITE asked for (None if it asked for none)."""
    se = parse_session_expires(call.invite)
    if se is None:
        return None
    interval, refresher = se
    supports = "timer" in call.invite.option_tags("supported")
    we_refresh = refresher == "uas" or (refresher is None and not supports)
    return SessionTimer(call, max(interval, call.endpoint.min_se), we_refresh)


def for_outbound(call: Call, response: Message) -> SessionTimer | None:
    """The timer agreed in the 2xx to our INVITE (we offered DEFAULT_SE)."""
    se = parse_session_expires(response)
    if se is None:
        return None
    interval, refresher = se
    return SessionTimer(call, interval, refresher != "uas")


__all__ = [
    "DEFAULT_SE",
    "MIN_SE",
    "SessionTimer",
    "check_request",
    "for_inbound",
    "for_outbound",
    "parse_session_expires",
]
