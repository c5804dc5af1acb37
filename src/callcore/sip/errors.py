"""Errors of the SIP layer.

Two families, as h11 splits them:

* :class:`SipParseError` (and its status-bearing subclasses) — the *peer* sent
  something we cannot accept. It carries the status code a UAS answers with
  (400, 416, 420, 505, 513 …) and a reason phrase naming the fault.
* :class:`SipUsageError` — *we* misused the API (e.g. building a request with
  no Call-ID). These are bugs in the caller, never answered on the wire.
"""

from __future__ import annotations


class SipError(Exception):
    """Base class of every SIP-layer error."""


class SipParseError(SipError, ValueError):
    """The remote side sent a message we reject.

    ``status`` is the response code a UAS should send for a request (responses
    that fail to parse are dropped); ``reason`` is the reason phrase, naming the
    fault, e.g. ``"Bad CSeq"``; ``extra_headers`` are added to the answer
    (``Unsupported`` for 420, ``Accept`` for 415 …).
    """

    def __init__(
        self,
        reason: str,
        status: int = 400,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.extra_headers = extra_headers


class SipUsageError(SipError):
    """The local application used the API wrongly."""
