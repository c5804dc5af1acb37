"""DTMF carried in SIP INFO bodies.

* ``application/dtmf-relay`` (Cisco style)::

      Signal=5
      Duration=160

  ``Duration`` is in milliseconds and optional. Keys are case-insensitive;
  lines may end in CRLF or LF. ``Signal`` may also be the event code
  ``10``/``11`` for ``*``/``#`` (some phones send that).
* ``application/dtmf``: the body is the digit itself (or its event code).

:func:`parse_dtmf_info` dispatches on the Content-Type and raises
:class:`DtmfRelayError` with a readable message on anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from .dtmf_event import DTMF_EVENTS

__all__ = [
    "DTMF_CONTENT_TYPE",
    "DTMF_RELAY_CONTENT_TYPE",
    "DtmfRelayError",
    "InfoDigit",
    "build_dtmf_relay",
    "parse_dtmf",
    "parse_dtmf_info",
    "parse_dtmf_relay",
]

DTMF_RELAY_CONTENT_TYPE = "application/dtmf-relay"
DTMF_CONTENT_TYPE = "application/dtmf"


class DtmfRelayError(ValueError):
    """The INFO body does not carry a DTMF digit we understand."""


@dataclass(frozen=True, slots=True)
class InfoDigit:
    """A digit received in a SIP INFO (``duration_ms`` is None when not given)."""

    digit: str
    duration_ms: int | None = None


def _digit(signal: str) -> str:
    s = signal.strip()
    if len(s) == 1 and s.upper() in DTMF_EVENTS:
        return s.upper()
    if s.isdigit() and 10 <= int(s) <= 15:
        return DTMF_EVENTS[int(s)]
    raise DtmfRelayError(f"not a DTMF signal: {signal!r}")


def _text(body: bytes | str) -> str:
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DtmfRelayError("DTMF INFO body is not UTF-8 text") from exc
    return body


def parse_dtmf_relay(body: bytes | str) -> InfoDigit:
    """Parse an ``application/dtmf-relay`` body."""
    fields: dict[str, str] = {}
    for raw in _text(body).splitlines():
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise DtmfRelayError(f"dtmf-relay line without '=': {line!r}")
        fields[key.strip().lower()] = value.strip()
    if "signal" not in fields:
        raise DtmfRelayError("dtmf-relay body has no Signal= line")
    digit = _digit(fields["signal"])
    duration = None
    if "duration" in fields:
        d = fields["duration"]
        if not d.isdigit():
            raise DtmfRelayError(f"dtmf-relay Duration is not a number of ms: {d!r}")
        duration = int(d)
    return InfoDigit(digit, duration)


def parse_dtmf(body: bytes | str) -> InfoDigit:
    """Parse an ``application/dtmf`` body (just the digit)."""
    text = _text(body).strip()
    if not text:
        raise DtmfRelayError("empty application/dtmf body")
    return InfoDigit(_digit(text))


def parse_dtmf_info(content_type: str, body: bytes | str) -> InfoDigit:
    """Parse an INFO body by its Content-Type (parameters are ignored)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == DTMF_RELAY_CONTENT_TYPE:
        return parse_dtmf_relay(body)
    if ctype == DTMF_CONTENT_TYPE:
        return parse_dtmf(body)
    raise DtmfRelayError(f"not a DTMF content type: {content_type!r}")


def build_dtmf_relay(digit: str, duration_ms: int = 160) -> bytes:
    """An ``application/dtmf-relay`` body for sending a digit in INFO."""
    d = _digit(digit)
    if duration_ms <= 0:
        raise DtmfRelayError("duration must be positive")
    return f"Signal={d}\r\nDuration={int(duration_ms)}\r\n".encode()
