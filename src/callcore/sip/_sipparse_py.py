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
from callcore.sip.sdp import (
    Attribute,
    Connection,
    MediaDescription,
    Origin,
    SessionDescription,
    Timing,
)
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
        wire = head_bytes + b"\r\n\r\n"
        body = b""
    else:
        head_bytes = data[start:end]
        wire = data[start : end + 4]
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
    headers._wire = None
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
    # serialize() sends these octets back while the headers and start line are unchanged
    headers._wire = (first, bytes(wire))
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


# -- SDP ------------------------------------------------------------------------------------
# scan_sdp returns exactly what SessionDescription.parse_reference returns. It handles
# the bodies phones send (ASCII, no control characters but CR/LF, plain decimal numbers,
# dotted-quad IPv4) itself; on anything else (a fault, IPv6, non-ASCII, "+5" where int()
# would also take it) it hands the whole body to the reference, which returns the
# object or raises the exact SdpError. Faults are rare: they cost nothing here.
# the ASCII characters str.split()/strip() treat as white space, besides space, CR, LF
_SDP_WS = re.compile("[\t\x0b\x0c\x1c-\x1f]")
_IN_MEDIA_FORBIDDEN = frozenset("vosuepzt")


def _sdp_ipv4_ok(addr: str) -> bool:
    """False when the reference would reject ``addr`` as a bad dotted quad."""
    parts = addr.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return True  # not a dotted quad: the reference does not check it
    # what ipaddress.IPv4Address refuses: over 3 digits, a leading zero, over 255
    return not any(len(p) > 3 or (p[0] == "0" and p != "0") or int(p) > 255 for p in parts)


def _sdp_c(value: str) -> Connection | None:
    parts = value.split()
    if len(parts) != 3:
        return None
    nettype, addrtype, addr = parts
    addrtype = addrtype.upper()
    suffix = ""
    if addrtype == "IP4":
        slash = addr.find("/")
        if slash >= 0:
            addr, suffix = addr[:slash], addr[slash:]
        if not _sdp_ipv4_ok(addr):
            return None
    elif addrtype == "IP6":
        return None
    return Connection(addr, addrtype, nettype, suffix)


def _sdp_m(value: str) -> MediaDescription | None:
    parts = value.split()
    if len(parts) < 3:
        return None
    port_s, _, count_s = parts[1].partition("/")
    if not port_s.isdigit() or (count_s and not count_s.isdigit()):
        return None
    port = int(port_s)
    if port > 65535:
        return None
    return MediaDescription(parts[0], port, parts[2], parts[3:], int(count_s) if count_s else None)


def _sdp_scan(text: str) -> SessionDescription | None:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    head = lines[0].rstrip(" ")
    if head and head[:2] != "v=":
        return None
    sd = SessionDescription.__new__(SessionDescription)
    SessionDescription.__init__(sd)
    timing: list[Timing] = []
    sd.timing = timing
    attrs = sd.attributes
    media: MediaDescription | None = None
    seen_origin = False
    for raw in lines:
        line = raw.rstrip(" ")
        if not line:
            continue
        kind = line[0]
        if len(line) < 2 or line[1] != "=" or not kind.isalpha():
            return None
        value = line[2:]
        if kind == "a":
            name, sep, val = value.partition(":")
            if not name:
                return None
            lname = name.lower()
            if lname == "rtpmap":
                pt, _, enc = val.partition(" ")
                bits = enc.strip().split("/")
                if not pt.isdigit() or not bits[0] or (len(bits) >= 2 and not bits[1].isdigit()):
                    return None
            elif (lname == "ptime" or lname == "maxptime") and not val.isdigit():
                return None  # float() may still take it: the reference decides
            attrs.append(Attribute(name, val if sep else None))
        elif kind == "m":
            media = _sdp_m(value)
            if media is None:
                return None
            sd.media.append(media)
            attrs = media.attributes
        elif media is not None:
            if kind == "c":
                conn = _sdp_c(value)
                if conn is None:
                    return None
                media.connection = conn
            elif kind == "b":
                media.bandwidths.append(value)
            elif kind == "i":
                media.title = value
            elif kind == "k":
                media.key = value
            elif kind in _IN_MEDIA_FORBIDDEN:
                return None
            else:
                media.extra.append((kind, value))
        elif kind == "o":
            parts = value.split()
            if len(parts) != 6 or not parts[1].isdigit() or not parts[2].isdigit():
                return None
            sd.origin = Origin(parts[0], int(parts[1]), int(parts[2]), parts[3], parts[4], parts[5])
            seen_origin = True
        elif kind == "c":
            conn = _sdp_c(value)
            if conn is None:
                return None
            sd.connection = conn
        elif kind == "t":
            parts = value.split()
            if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit():
                return None
            timing.append(Timing(int(parts[0]), int(parts[1])))
        elif kind == "v":
            if value.strip() != "0":
                return None
        elif kind == "s":
            sd.name = value
        elif kind == "b":
            sd.bandwidths.append(value)
        elif kind == "i":
            sd.info = value
        elif kind == "u":
            sd.uri = value
        elif kind == "e":
            sd.emails.append(value)
        elif kind == "p":
            sd.phones.append(value)
        elif kind == "r":
            if not timing:
                return None
            timing[-1].repeats.append(value)
        elif kind == "z":
            sd.zone = value
        elif kind == "k":
            sd.key = value
        else:
            sd.extra.append((kind, value))
    if not seen_origin:
        return None
    if not timing:
        timing.append(Timing())
    return sd


def scan_sdp(text: str | bytes) -> SessionDescription:
    """``SessionDescription.parse_reference(text)``, faster on the bodies phones send."""
    if type(text) is bytes:
        try:
            body = text.decode("utf-8")
        except UnicodeDecodeError:
            return SessionDescription.parse_reference(text)
    elif type(text) is str:
        body = text
    else:
        return SessionDescription.parse_reference(text)
    if body.isascii() and _SDP_WS.search(body) is None:
        sd = _sdp_scan(body)
        if sd is not None:
            return sd
    return SessionDescription.parse_reference(text)


# The value parsers, under the names the compiled module gives its scanners
# (the differential tests compare them one by one).
scan_uri = parse_uri
scan_via = Via.parse
scan_address = Address.parse
scan_cseq = CSeq.parse
scan_params = parse_params

__all__ = [
    "parse_message",
    "scan_address",
    "scan_cseq",
    "scan_params",
    "scan_sdp",
    "scan_uri",
    "scan_via",
]
