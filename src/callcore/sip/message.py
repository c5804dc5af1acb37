"""SIP messages: parse, validate, build and serialize (RFC 3261 §7, §20, §25).

``parse_message(data)`` turns one datagram (or one framed stream message) into
a :class:`Request` or :class:`Response`. Every header the stack relies on is
validated while parsing (start line, Via, From, To, Call-ID, CSeq,
Max-Forwards, Contact, Expires, Content-Length); a fault raises
:class:`SipParseError` carrying the status a UAS answers with and, in
``headers``, what could be read so the answer can still be addressed.

An unchanged message serializes to the exact bytes it was parsed from: header
lines keep their spelling, folding and compact names until they are changed.
A parsed message keeps its head octets (``Headers._wire``) and ``serialize()``
hands them back, plus the body, while its start line reads as parsed and its
headers were not changed; every :class:`Headers` change drops them (see
``Headers._changed``), and the lines are written out again as before.
:class:`StreamFramer` cuts messages out of a TCP/TLS byte stream using
Content-Length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from callcore.sip.errors import SipParseError
from callcore.sip.headers import (
    COMPACT,
    MAGIC_COOKIE,
    TOKEN_RE,
    Address,
    CSeq,
    Via,
    canonical_name,
    parse_uint,
    split_commas,
)
from callcore.sip.uri import URI, AbsoluteURI, SipURI, parse_uri

SIP_VERSION = "SIP/2.0"
CRLF = "\r\n"
_ENC = "utf-8"
_ERRS = "surrogateescape"  # keeps any octet so serialization is byte-exact

REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

#: headers that may appear only once per message
SINGLETONS = ("call-id", "cseq", "from", "to", "max-forwards", "content-length")
#: headers whose value is a comma-separated list (RFC 3261 §7.3.1)
LIST_HEADERS = frozenset(
    {
        "via",
        "route",
        "record-route",
        "contact",
        "allow",
        "supported",
        "require",
        "proxy-require",
        "unsupported",
        "accept",
        "accept-encoding",
        "accept-language",
        "allow-events",
        "content-encoding",
        "in-reply-to",
        "path",
        "service-route",
    }
)


def header_key(name: str) -> str:
    """Lower-case long form of a header name (``"v"`` → ``"via"``)."""
    key = name.lower()
    return COMPACT.get(key, key)


class Headers:
    """An ordered, case-insensitive multi-map of header lines.

    Each entry keeps the name as written, the unfolded value and the original
    line(s); an entry set through this API loses its original spelling and is
    written as ``Canonical-Name: value``. Keys accept long or compact names in
    any case.
    """

    __slots__ = ("_cache", "_items", "_wire")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        # (key, name-as-written, value, raw-line-or-None)
        self._items: list[tuple[str, str, str, str | None]] = []
        self._cache: dict[str, Any] = {}
        # (start line, head octets + CRLFCRLF) as parsed, until the first change
        self._wire: tuple[str, bytes] | None = None
        for name, value in items:
            self.add(name, value)

    # -- reading -----------------------------------------------------------------
    def get(self, name: str, default: str | None = None) -> str | None:
        key = header_key(name)
        for item in self._items:
            if item[0] == key:
                return item[2]
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, one per header line."""
        key = header_key(name)
        return [item[2] for item in self._items if item[0] == key]

    def values(self, name: str) -> list[str]:
        """Every value of ``name``, comma-separated lists split into items."""
        out: list[str] = []
        for value in self.get_all(name):
            out.extend(split_commas(value))
        return out

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = header_key(name)
        return any(item[0] == key for item in self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for item in self._items:
            yield item[1], item[2]

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[str]:
        return [item[0] for item in self._items]

    # -- changing ----------------------------------------------------------------
    def _changed(self) -> None:
        # every change goes through here: it drops the typed views and the parsed
        # octets, so serialize() writes the lines out again
        self._wire = None
        if self._cache:
            self._cache.clear()

    def add(self, name: str, value: str) -> None:
        """Append a header line."""
        _check_value(value)
        key = header_key(name)
        self._items.append((key, canonical_name(key), value, None))
        self._changed()

    def prepend(self, name: str, value: str) -> None:
        """Insert a header line before the first of the same name (or at the top)."""
        _check_value(value)
        key = header_key(name)
        index = next((i for i, item in enumerate(self._items) if item[0] == key), 0)
        self._items.insert(index, (key, canonical_name(key), value, None))
        self._changed()

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` with one line, kept where the first was."""
        _check_value(value)
        key = header_key(name)
        entry = (key, canonical_name(key), value, None)
        for i, item in enumerate(self._items):
            if item[0] == key:
                self._items[i] = entry
                self._items[i + 1 :] = [it for it in self._items[i + 1 :] if it[0] != key]
                break
        else:
            self._items.append(entry)
        self._changed()

    def remove(self, name: str) -> None:
        key = header_key(name)
        self._items = [item for item in self._items if item[0] != key]
        self._changed()

    def remove_first(self, name: str) -> None:
        """Remove the first *value* of a list header (e.g. the top Via)."""
        key = header_key(name)
        for i, item in enumerate(self._items):
            if item[0] == key:
                rest = split_commas(item[2])[1:]
                if rest:
                    self._items[i] = (key, item[1], ", ".join(rest), None)
                else:
                    del self._items[i]
                break
        self._changed()

    def copy(self) -> Headers:
        h = Headers()
        h._items = list(self._items)
        h._wire = self._wire  # same lines, same octets
        return h

    # -- typed views (cached until the headers change) ---------------------------------
    def typed(self, key: str, build: Any) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = build()
            return value

    def lines(self) -> list[str]:
        return [
            raw if raw is not None else f"{name}: {value}" for _, name, value, raw in self._items
        ]


def _check_value(value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError("header value must not contain CR or LF")


# ---------------------------------------------------------------------------------------
class Message:
    """Common part of :class:`Request` and :class:`Response`."""

    __slots__ = ("body", "headers")

    def __init__(self, headers: Headers | None = None, body: bytes = b"") -> None:
        self.headers = headers if headers is not None else Headers()
        self.body = body

    # typed header views --------------------------------------------------------------
    @property
    def vias(self) -> list[Via]:
        h = self.headers
        vias = h._cache.get("via")
        if vias is None:
            vias = h._cache["via"] = [Via.parse(v) for v in h.values("via")]
        return vias

    @property
    def via(self) -> Via:
        """The top Via."""
        vias = self.vias
        if not vias:
            raise SipParseError("Missing Via header")
        return vias[0]

    @property
    def from_(self) -> Address:
        return self._address("from")

    @property
    def to(self) -> Address:
        return self._address("to")

    def _address(self, key: str) -> Address:
        h = self.headers
        addr = h._cache.get(key)
        if addr is None:
            value = h.get(key)
            if value is None:
                raise SipParseError(f"Missing {canonical_name(key)} header")
            addr = h._cache[key] = Address.parse(value, canonical_name(key))
        return addr

    @property
    def call_id(self) -> str:
        value = self.headers.get("call-id")
        if not value:
            raise SipParseError("Missing Call-ID header")
        return value

    @property
    def cseq(self) -> CSeq:
        h = self.headers
        cseq = h._cache.get("cseq")
        if cseq is None:
            value = h.get("cseq")
            if value is None:
                raise SipParseError("Missing CSeq header")
            cseq = h._cache["cseq"] = CSeq.parse(value)
        return cseq

    @property
    def contacts(self) -> list[Address]:
        """Contact values; a bare ``*`` is returned as an empty list (see :attr:`contact_star`)."""
        h = self.headers
        contacts = h._cache.get("contact")
        if contacts is None:
            values = h.values("contact")
            contacts = [] if values == ["*"] else [Address.parse(v, "Contact") for v in values]
            h._cache["contact"] = contacts
        return contacts

    @property
    def contact_star(self) -> bool:
        return self.headers.get("contact", "").strip() == "*"

    def route_set(self, name: str = "route") -> list[Address]:
        h = self.headers
        return h.typed(
            name, lambda: [Address.parse(v, canonical_name(name)) for v in h.values(name)]
        )

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("max-forwards")
        return None if value is None else parse_uint(value, "Max-Forwards", 255)

    @property
    def expires(self) -> int | None:
        value = self.headers.get("expires")
        return None if value is None else parse_uint(value, "Expires", 2**32 - 1)

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("content-type")
        return None if value is None else value.split(";", 1)[0].strip().lower()

    def option_tags(self, name: str) -> list[str]:
        """Values of Require / Supported / Proxy-Require / Unsupported, lower-cased."""
        return [v.lower() for v in self.headers.values(name)]

    def set_body(self, body: bytes, content_type: str | None = None) -> None:
        """Replace the body, keeping Content-Length (and Content-Type) right."""
        self.body = body
        if content_type is not None:
            self.headers.set("Content-Type", content_type)
        elif not body:
            self.headers.remove("content-type")
        self.headers.set("Content-Length", str(len(body)))

    # serialization -----------------------------------------------------------------------
    def start_line(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def serialize(self) -> bytes:
        start = self.start_line()
        wire = self.headers._wire
        if wire is not None and wire[0] == start:
            # headers untouched since parsing and the same start line: the octets
            # parsed are exactly what the lines below would produce
            return wire[1] + self.body
        lines = [start]
        append = lines.append
        for item in self.headers._items:
            raw = item[3]
            append(raw if raw is not None else f"{item[1]}: {item[2]}")
        append(CRLF)
        return CRLF.join(lines).encode(_ENC, _ERRS) + self.body

    __bytes__ = serialize

    @property
    def transaction_branch(self) -> str | None:
        vias = self.vias
        return vias[0].branch if vias else None


class Request(Message):
    __slots__ = ("method", "uri")

    def __init__(
        self, method: str, uri: URI | str, headers: Headers | None = None, body: bytes = b""
    ) -> None:
        super().__init__(headers, body)
        self.method = method
        self.uri: URI = parse_uri(uri) if isinstance(uri, str) else uri

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {SIP_VERSION}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri}>"


class Response(Message):
    __slots__ = ("reason", "status")

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Headers | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(headers, body)
        self.status = status
        self.reason = REASONS.get(status, "Unknown") if reason is None else reason

    def start_line(self) -> str:
        return f"{SIP_VERSION} {self.status} {self.reason}"

    @property
    def method(self) -> str:
        return self.cseq.method

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"


# ---------------------------------------------------------------------------------------
# parsing
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.I)
_HEADER_NAME_RE = TOKEN_RE


def _fail(
    reason: str, status: int, headers: Headers | None, is_request: bool, extra=()
) -> SipParseError:
    err = SipParseError(reason, status, tuple(extra))
    err.headers = headers  # type: ignore[attr-defined]
    err.is_request = is_request  # type: ignore[attr-defined]
    return err


def split_head(data: bytes) -> tuple[str, bytes]:
    """Split a message into its decoded head (start line + headers) and body.

    Leading CRLFs are skipped (RFC 3261 §7.5). A message with no empty line
    after its headers is taken as all head, no body.
    """
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
    return head_bytes.decode(_ENC, _ERRS), body


def parse_headers(lines: list[str]) -> Headers:
    """Header lines (after the start line) → :class:`Headers`, unfolding continuations."""
    headers = Headers()
    items = headers._items
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not items:
                raise SipParseError("Continuation line before any header")
            key, name, value, raw = items[-1]
            items[-1] = (
                key,
                name,
                (value + " " + line.strip(" \t")).strip(" \t"),
                f"{raw}{CRLF}{line}",
            )
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise SipParseError("Header line without a colon")
        name = name.rstrip(" \t")
        if not _HEADER_NAME_RE.fullmatch(name):
            raise SipParseError("Bad header name")
        key = name.lower()
        items.append((COMPACT.get(key, key), name, value.strip(" \t"), line))
    return headers


def parse_message(
    data: bytes, *, stream: bool = False, max_size: int = 65535
) -> Request | Response:
    """Parse and validate one SIP message.

    ``stream=False`` (datagram): a body longer than Content-Length is cut
    (trailing octets ignored), one shorter is a 400; with no Content-Length the
    body is the rest of the datagram. ``stream=True``: ``data`` is exactly one
    framed message (see :class:`StreamFramer`).

    The work is done by ``callcore.sip._sipparse`` (compiled) or its pure twin
    ``_sipparse_py``, chosen by :func:`callcore.fastpath.load`; both give the
    same objects and errors. The typed views checked while parsing (Via, From,
    To, CSeq, Contact) come back already cached in :attr:`Message.headers`.
    """
    return _parser()(data, stream, max_size)


_PARSE: Any = None


def _parser() -> Any:
    global _PARSE
    if _PARSE is None:
        from callcore.fastpath import load

        _PARSE = load(name="callcore.sip._sipparse").parse_message
    return _PARSE


def parse_message_reference(
    data: bytes, *, stream: bool = False, max_size: int = 65535
) -> Request | Response:
    """The original straightforward parser (kept as the specification the fast
    paths are tested against); same results as :func:`parse_message`."""
    if len(data) > max_size:
        raise _fail("Message Too Large", 513, None, True)
    head, body = split_head(data)
    lines = head.split(CRLF)
    start = lines[0]
    is_request = not start.startswith("SIP/")
    try:
        headers = parse_headers(lines[1:])
    except SipParseError as e:
        raise _fail(e.reason, 400, None, is_request) from None
    try:
        if is_request:
            msg: Request | Response = _parse_request_line(start, headers)
        else:
            msg = _parse_status_line(start, headers)
        msg.body = _frame_body(headers, body, stream)
        _validate(msg, headers)
    except SipParseError as e:
        raise _fail(e.reason, e.status, headers, is_request, e.extra_headers) from None
    return msg


def _parse_request_line(start: str, headers: Headers) -> Request:
    parts = start.split(" ")
    if len(parts) != 3 or not all(parts):
        raise SipParseError("Malformed Request-Line")
    method, uri_text, version = parts
    if version != SIP_VERSION:
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
    return Request(method, uri, headers)


def _parse_status_line(start: str, headers: Headers) -> Response:
    version, _, rest = start.partition(" ")
    code, _, reason = rest.partition(" ")
    if version != SIP_VERSION:
        raise SipParseError("Version Not Supported", 505)
    if len(code) != 3 or not code.isdigit() or not code.isascii() or not 100 <= int(code) <= 699:
        raise SipParseError("Bad status code")
    return Response(int(code), reason, headers)


def _frame_body(headers: Headers, body: bytes, stream: bool) -> bytes:
    values = headers.get_all("content-length")
    if not values:
        if stream and body:
            raise SipParseError("Missing Content-Length")
        return body
    lengths = {v.strip(" \t") for v in values}
    if len(lengths) > 1:
        raise SipParseError("Conflicting Content-Length headers")
    text = lengths.pop()
    if not text.isdigit() or not text.isascii():
        raise SipParseError("Bad Content-Length")
    if len(text.lstrip("0")) > 10:
        raise SipParseError("Content-Length larger than the message body")
    length = int(text)
    if length > len(body):
        raise SipParseError("Content-Length larger than the message body")
    if stream and length != len(body):
        raise SipParseError("Content-Length does not match the body")
    return body[:length] if length < len(body) else body


def _validate(msg: Request | Response, headers: Headers) -> None:
    keys = headers.keys()
    for key in SINGLETONS:
        if key != "content-length" and keys.count(key) > 1:
            raise SipParseError(f"Duplicate {canonical_name(key)} header")
    for key in ("via", "from", "to", "call-id", "cseq"):
        if key not in keys:
            raise SipParseError(f"Missing {canonical_name(key)} header")
    call_id = headers.get("call-id") or ""
    if not call_id or any(c in call_id for c in " \t"):
        raise SipParseError("Bad Call-ID")
    cseq = msg.cseq
    if isinstance(msg, Request):
        if cseq.method != msg.method:
            raise SipParseError("CSeq method does not match the Request-Line")
        if cseq.number > 2**31 - 1:
            raise SipParseError("Bad CSeq: number too large")
        msg.max_forwards  # noqa: B018 - validates
        msg.expires  # noqa: B018
        msg.contacts  # noqa: B018
    for via in msg.vias:
        branch = via.branch
        if branch is not None and (branch == MAGIC_COOKIE or not branch):
            raise SipParseError("Bad Via branch")
    msg.from_  # noqa: B018
    msg.to  # noqa: B018


# ---------------------------------------------------------------------------------------
class StreamFramer:
    """Cuts SIP messages out of a TCP/TLS byte stream (RFC 3261 §18.3).

    ``feed(data)`` returns the complete messages' bytes, in order. A CRLFCRLF
    keep-alive between messages (RFC 5626 §4.4.1) is reported by
    :attr:`pings` counting up, so the adapter can answer with CRLF.
    Framing faults raise :class:`SipParseError`; the connection must then be
    closed (after answering if possible).
    """

    __slots__ = ("_buf", "max_size", "pings")
    _CL_RE = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(-?[0-9]+)[ \t]*$", re.I | re.M)

    def __init__(self, max_size: int = 65535) -> None:
        self._buf = b""
        self.max_size = max_size
        self.pings = 0

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data
        out: list[bytes] = []
        while True:
            while buf.startswith(b"\r\n"):
                if buf.startswith(b"\r\n\r\n"):
                    self.pings += 1
                    buf = buf[4:]
                elif len(buf) < 4 and b"\r\n\r\n".startswith(buf):
                    break  # maybe half a ping
                else:
                    buf = buf[2:]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > self.max_size:
                    self._buf = b""
                    raise SipParseError("Message Too Large", 513)
                break
            head = buf[:end]
            lengths = {int(m) for m in self._CL_RE.findall(head)}
            if len(lengths) > 1:
                raise SipParseError("Conflicting Content-Length headers")
            length = lengths.pop() if lengths else 0
            if length < 0:
                raise SipParseError("Bad Content-Length")
            total = end + 4 + length
            if total > self.max_size:
                self._buf = b""
                raise SipParseError("Message Too Large", 513)
            if len(buf) < total:
                break
            out.append(buf[:total])
            buf = buf[total:]
        self._buf = buf
        return out

    @property
    def pending(self) -> int:
        """Bytes buffered towards an incomplete message."""
        return len(self._buf)


# ---------------------------------------------------------------------------------------
# building
def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
) -> Response:
    """A response to ``request`` (RFC 3261 §8.2.6): Via, From, To (+tag), Call-ID,
    CSeq copied; a To tag added when given and absent; Record-Route copied on
    dialog-creating responses is the dialog layer's choice (pass it in ``extra``)."""
    src = request.headers
    h = Headers()
    items = h._items
    for item in src._items:
        key = item[0]
        if key in ("via", "from", "call-id", "cseq"):
            items.append(item)
        elif key == "to":
            if to_tag is not None and request.to.tag is None:
                value = f"{item[2]};tag={to_tag}"
                items.append(("to", item[1], value, None))
            else:
                items.append(item)
    for name, value in extra:
        h.add(name, value)
    resp = Response(status, reason, h)
    if body:
        resp.set_body(body, content_type)
    else:
        h.add("Content-Length", "0")
    return resp


def error_response(err: SipParseError, *, server: str | None = None) -> Response | None:
    """The answer to a request that failed to parse, or ``None`` if it cannot be
    addressed (no Via/Call-ID/CSeq/From/To could be read) or was a response."""
    headers = getattr(err, "headers", None)
    if not getattr(err, "is_request", False) or headers is None:
        return None
    h = Headers()
    for key in ("via", "from", "to", "call-id", "cseq"):
        for item in headers._items:
            if item[0] == key:
                h._items.append(item)
    keys = h.keys()
    if not keys or "via" not in keys:
        return None
    for name, value in err.extra_headers:
        h.add(name, value)
    if server:
        h.add("Server", server)
    h.add("Content-Length", "0")
    return Response(err.status, err.reason, h)


__all__ = [
    "REASONS",
    "SIP_VERSION",
    "Headers",
    "Message",
    "Request",
    "Response",
    "StreamFramer",
    "error_response",
    "header_key",
    "make_response",
    "parse_message",
]
