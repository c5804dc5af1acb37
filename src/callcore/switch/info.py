"""In-dialog SIP INFO: DTMF digits (``application/dtmf-relay``, ``application/dtmf``).

A digit carried in an INFO body is handed to :meth:`Call._on_dtmf`, the same path
an RFC 4733 telephone-event takes, so ``Call.collect``, prompt barge-in and
``Call.dtmf_listeners`` cannot tell the two apart.

Responses (RFC 6086 §4.2.2, legacy INFO usage: no Info-Package header):

* no body: 200 (an INFO without a body is a legal probe of the dialog);
* a body of another type: 415 with ``Accept`` listing the DTMF types;
* a DTMF body that does not name a digit: 400 with a ``Warning`` saying why,
  nothing delivered (the request is not well structured, so the 200 that
  RFC 6086 requires for well-structured requests does not apply);
* a DTMF body naming a digit: 200, then the digit is delivered.

Every INFO answered 200 is also put on ``Call.events`` as an ``"info"`` event.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from callcore.rtp.dtmf_relay import (
    DTMF_CONTENT_TYPE,
    DTMF_RELAY_CONTENT_TYPE,
    DtmfRelayError,
    parse_dtmf_info,
)

if TYPE_CHECKING:
    from callcore.sip.message import Request
    from callcore.sip.transaction import ServerTransaction
    from callcore.switch.call import Call
    from callcore.switch.endpoint import Endpoint

__all__ = ["INFO_ACCEPT", "on_info"]

log = logging.getLogger(__name__)

#: the body types an INFO may carry here (the ``Accept`` of a 415)
INFO_ACCEPT = f"{DTMF_RELAY_CONTENT_TYPE}, {DTMF_CONTENT_TYPE}"
_DTMF_TYPES = frozenset({DTMF_RELAY_CONTENT_TYPE, DTMF_CONTENT_TYPE})


def _warn_text(text: str) -> str:
    """``text`` made safe for a Warning header's quoted-string."""
    printable = "".join(c if " " <= c <= "~" else "?" for c in text)
    return printable.replace("\\", "\\\\").replace('"', '\\"')[:200]


def on_info(ep: Endpoint, call: Call, req: Request, txn: ServerTransaction) -> None:
    """Answer an in-dialog INFO and deliver the DTMF digit it carries, if any."""
    if not req.body:
        ep._respond(txn, 200)
        call._emit("info", req)
        return
    ctype = req.content_type
    if ctype not in _DTMF_TYPES:
        ep._respond(txn, 415, extra=[("Accept", INFO_ACCEPT)])
        return
    try:
        got = parse_dtmf_info(ctype, req.body)
    except DtmfRelayError as exc:
        log.info("INFO on call %s: %s", call.call_id, exc)
        ep._respond(txn, 400, extra=[("Warning", f'399 {ep.host} "{_warn_text(str(exc))}"')])
        return
    ep._respond(txn, 200)
    call._emit("info", req)
    call._on_dtmf(got.digit)
