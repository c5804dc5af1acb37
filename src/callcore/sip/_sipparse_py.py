"""Pure-Python twin of the compiled SIP parser ``callcore.sip._sipparse``.

:func:`parse_message` is what :func:`callcore.sip.message.parse_message`
runs. It scans the header block once, validates every header the stack relies
on in the same order and with the same errors as the reference rules in
message.py, and caches the typed views it built (Via list, From, To, CSeq,
Contact list) in the :class:`~callcore.sip.message.Headers` so the message's
properties do not parse them again. The compiled module returns exactly the
same objects and raises exactly the same errors on every input.
"""

from __future__ import annotations

import re

from callcore.sip.errors import SipParseError
from callcore.sip.headers import (
    COMPACT,
    MAGIC_COOKIE,
    TOKEN_RE,
    Address,
    CSeq,
    Via,
    parse_params,
    split_commas,
)
from callcore.sip.message import Headers, Request, Response
from callcore.sip.uri import AbsoluteURI, SipURI, parse_uri

_VERSION = "SIP/2.0"
_MAX_CSEQ = 2**31 - 1
# name as written (before the colon) -> (key, name without trailing LWS); bounded
_NAMES: dict[str, tuple[str, str]] = {}
_NAMES_MAX = 1024
_SINGLE = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "from": "From",
    "to": "To",
    "max-forwards": "Max-Forwards",
}
_WANTED = frozenset(
    ("via", "from", "to", "call-id", "cseq", "max-forwards", "expires", "contact", "content-length")
)


def _fail(
    reason: str, status: int, headers: Headers | None, is_request: bool, extra: tuple = ()
) -> SipParseError:
    err = SipParseError(reason, status, tuple(extra))
    err.headers = headers  # type: ignore[attr-defined]
    err.is_request = is_request  # type: ignore[attr-defined]
    return err


_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.I)


def _uint(value: str, name: str, maximum: int) -> int:
    v = value.strip(" \t")
    if not v.isdigit() or not v.isascii():
        raise SipParseError(f"Bad {name}")
    if len(v.lstrip("0")) > 10:
        raise SipParseError(f"Bad {name}: out of range")
    n = int(v)
    if n > maximum:
        raise SipParseError(f"Bad {name}: out of range")
    return n


def _scan_headers(lines: list[str]) -> list[tuple[str, str, str, str]]:
    items: list[tuple[str, str, str, str]] = []
    names = _NAMES
    for i in range(1, len(lines)):
        line = lines[i]
        c = line[:1]
        if c == " " or c == "\t":
            if not items:
                raise SipParseError("Continuation line before any header")
            key, name, value, raw = items[-1]
            items[-1] = (
                key,
                name,
                (value + " " + line.strip(" \t")).strip(" \t"),
                raw + "\r\n" + line,
            )
            continue
        written, colon, value = line.partition(":")
        if not colon:
            raise SipParseError("Header line without a colon")
        known = names.get(written)
        if known is None:
            name = written.rstrip(" \t")
            if not TOKEN_RE.fullmatch(name):
                raise SipParseError("Bad header name")
            low = name.lower()
            known = (COMPACT.get(low, low), name)
            if len(names) < _NAMES_MAX:
                names[written] = known
        items.append((known[0], known[1], value.strip(" \t"), line))
    return items


def _list_values(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        if "," in v:
            out.extend(split_commas(v))
        else:
            out.append(v)
    return out


def parse_message(data: bytes, stream: bool = False, max_size: int = 65535) -> Request | Response:
    """Parse and validate one SIP message (see :func:`callcore.sip.message.parse_message`)."""
    if len(data) > max_size:
        raise _fail("Message Too Large", 513, None, True)
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        head_bytes = data[start:].rstrip(b"\r\n")
        body = b""
    else:
        head_bytes = data[start:end]
        body = data[end + 4 :]
    lines = head_bytes.decode("utf-8", "surrogateescape").split("\r\n")
    first = lines[0]
    is_request = not first.startswith("SIP/")
    try:
        items = _scan_headers(lines)
    except SipParseError as e:
        raise _fail(e.reason, 400, None, is_request) from None
    headers = Headers.__new__(Headers)
    headers._items = items
    cache: dict = {}
    headers._cache = cache
    try:
        msg = _start_line(first, is_request, headers)
        # one pass: every value of the headers validated below, in order
        found: dict[str, list[str]] = {}
        for item in items:
            key = item[0]
            if key in _WANTED:
                got = found.get(key)
                if got is None:
                    found[key] = [item[2]]
                else:
                    got.append(item[2])
        msg.body = _frame_body(found.get("content-length"), body, stream)
        _validate(msg, found, cache, is_request)
    except SipParseError as e:
        raise _fail(e.reason, e.status, headers, is_request, e.extra_headers) from None
    return msg


def _start_line(first: str, is_request: bool, headers: Headers) -> Request | Response:
    if is_request:
        parts = first.split(" ")
        if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2]:
            raise SipParseError("Malformed Request-Line")
        method, uri_text, version = parts
        if version != _VERSION:
            if _VERSION_RE.fullmatch(version):
                raise SipParseError("Version Not Supported", 505)
            raise SipParseError("Malformed Request-Line")
        if not TOKEN_RE.fullmatch(method):
            raise SipParseError("Bad method")
        try:
            uri = parse_uri(uri_text)
        except SipParseError:
            raise SipParseError("Bad Request-URI") from None
        if isinstance(uri, AbsoluteURI):
            raise SipParseError("Unsupported URI Scheme", 416)
        if isinstance(uri, SipURI) and uri.headers:
            raise SipParseError("Request-URI must not carry headers")
        req = Request.__new__(Request)
        req.headers = headers
        req.body = b""
        req.method = method
        req.uri = uri
        return req
    version, _, rest = first.partition(" ")
    code, _, reason = rest.partition(" ")
    if version != _VERSION:
        raise SipParseError("Version Not Supported", 505)
    if len(code) != 3 or not code.isdigit() or not code.isascii() or not "100" <= code <= "699":
        raise SipParseError("Bad status code")
    resp = Response.__new__(Response)
    resp.headers = headers
    resp.body = b""
    resp.status = int(code)
    resp.reason = reason
    return resp


def _frame_body(values: list[str] | None, body: bytes, stream: bool) -> bytes:
    if values is None:
        if stream and body:
            raise SipParseError("Missing Content-Length")
        return body
    text = values[0]
    for v in values:
        if v != text:
            raise SipParseError("Conflicting Content-Length headers")
    if not text.isdigit() or not text.isascii():
        raise SipParseError("Bad Content-Length")
    digits = text.lstrip("0")
    if len(digits) > 10:
        raise SipParseError("Content-Length larger than the message body")
    length = int(text)
    if length > len(body):
        raise SipParseError("Content-Length larger than the message body")
    if stream and length != len(body):
        raise SipParseError("Content-Length does not match the body")
    return body[:length] if length < len(body) else body


def _validate(msg, found: dict[str, list[str]], cache: dict, is_request: bool) -> None:
    for key, name in _SINGLE.items():
        got = found.get(key)
        if got is not None and len(got) > 1:
            raise SipParseError(f"Duplicate {name} header")
    if "via" not in found:
        raise SipParseError("Missing Via header")
    if "from" not in found:
        raise SipParseError("Missing From header")
    if "to" not in found:
        raise SipParseError("Missing To header")
    if "call-id" not in found:
        raise SipParseError("Missing Call-ID header")
    if "cseq" not in found:
        raise SipParseError("Missing CSeq header")
    call_id = found["call-id"][0]
    if not call_id or " " in call_id or "\t" in call_id:
        raise SipParseError("Bad Call-ID")
    cseq = cache["cseq"] = CSeq.parse(found["cseq"][0])
    if is_request:
        if cseq.method != msg.method:
            raise SipParseError("CSeq method does not match the Request-Line")
        if cseq.number > _MAX_CSEQ:
            raise SipParseError("Bad CSeq: number too large")
        got = found.get("max-forwards")
        if got is not None:
            _uint(got[0], "Max-Forwards", 255)
        got = found.get("expires")
        if got is not None:
            _uint(got[0], "Expires", 2**32 - 1)
        got = found.get("contact")
        contacts: list[Address] = []
        if got is not None:
            values = _list_values(got)
            if values != ["*"]:
                contacts = [Address.parse(v, "Contact") for v in values]
        cache["contact"] = contacts
    vias = [Via.parse(v) for v in _list_values(found["via"])]
    cache["via"] = vias
    for via in vias:
        branch = via.branch
        if branch is not None and (branch == MAGIC_COOKIE or not branch):
            raise SipParseError("Bad Via branch")
    cache["from"] = Address.parse(found["from"][0], "From")
    cache["to"] = Address.parse(found["to"][0], "To")


# The value parsers, under the names the compiled module gives its scanners
# (the differential tests compare them one by one).
scan_uri = parse_uri
scan_via = Via.parse
scan_address = Address.parse
scan_cseq = CSeq.parse
scan_params = parse_params

__all__ = ["parse_message", "scan_address", "scan_cseq", "scan_params", "scan_uri", "scan_via"]
