"""Typed views of the SIP headers the stack itself relies on.

Header *values* arrive unfolded (continuation lines joined with one space) and
stripped. These parsers turn them into small immutable objects and raise
:class:`SipParseError` (400, reason naming the header) when a value is malformed:

* :class:`Address` — ``From``/``To``/``Contact``/``Route``/``Record-Route``/
  ``Refer-To`` (name-addr or addr-spec, then header parameters);
* :class:`Via` — sent-protocol, sent-by, branch/received/rport;
* :class:`CSeq`.

:func:`split_commas` splits a multi-valued header on the commas that are not
inside quotes or angle brackets.
"""

from __future__ import annotations

import re

from callcore.sip.errors import SipParseError
from callcore.sip.uri import URI, AbsoluteURI, Params, SipURI, _join_params, _param, parse_uri

#: long name (lower-case) of each compact form
COMPACT = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "r": "refer-to",
    "b": "referred-by",
    "x": "session-expires",
    "u": "allow-events",
    "y": "identity",
    "a": "accept-contact",
    "j": "reject-contact",
    "d": "request-disposition",
    "n": "identity-info",
}

#: how the stack spells a header it writes (canonical capitalisation)
CANONICAL = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "p-asserted-identity": "P-Asserted-Identity",
    "p-preferred-identity": "P-Preferred-Identity",
}


def canonical_name(key: str) -> str:
    """``"call-id"`` → ``"Call-ID"``, ``"content-type"`` → ``"Content-Type"``."""
    name = CANONICAL.get(key)
    if name is None:
        name = "-".join(p[:1].upper() + p[1:] for p in key.split("-"))
    return name


_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
TOKEN_RE = re.compile(_TOKEN)
_WS = " \t"


def split_commas(value: str) -> list[str]:
    """Split ``a, "b,c" <sip:d,e>, f`` on top-level commas; items are stripped.

    An empty item (``a,,b`` or a trailing comma) raises 400.
    """
    if "," not in value:
        return [value]
    items: list[str] = []
    depth_angle = False
    in_quote = False
    start = 0
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if in_quote:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quote = False
        elif c == '"':
            in_quote = True
        elif c == "<":
            depth_angle = True
        elif c == ">":
            depth_angle = False
        elif c == "," and not depth_angle:
            items.append(value[start:i].strip())
            start = i + 1
        i += 1
    items.append(value[start:].strip())
    if any(not item for item in items):
        raise SipParseError("Empty item in header list")
    return items


# -- parameters -----------------------------------------------------------------
_PARAM_RE = re.compile(
    rf"[ \t]*;[ \t]*({_TOKEN})(?:[ \t]*=[ \t]*({_TOKEN}|\"(?:[^\"\\]|\\.)*\"|\[[0-9A-Fa-f:.]+\]))?[ \t]*",
    re.S,
)


def parse_params(text: str, where: str) -> Params:
    """Parse ``;a=b ; c ; d="q"`` (LWS allowed around ``;`` and ``=``)."""
    if not text or text.isspace():
        return ()
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _PARAM_RE.match(text, pos)
        if m is None:
            raise SipParseError(f"Bad parameter in {where}")
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    return tuple(out)


# -- addresses --------------------------------------------------------------------
def _scan_quoted(text: str, start: int, where: str) -> int:
    """Index just past the closing quote of the quoted-string at ``start``."""
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    raise SipParseError(f"Unterminated quoted string in {where}")


_DISPLAY_TOKENS_RE = re.compile(rf"(?:{_TOKEN})(?:[ \t]+{_TOKEN})*")


class Address:
    """A name-addr or addr-spec with header parameters (``tag``, ``expires`` …)."""

    __slots__ = ("_raw", "display", "params", "uri")

    def __init__(
        self, uri: URI, display: str | None = None, params: Params = (), _raw: str | None = None
    ) -> None:
        self.uri = uri
        self.display = display
        self.params = params
        self._raw = _raw

    @classmethod
    def parse(cls, value: str, where: str = "address") -> Address:
        text = value.strip(_WS)
        display: str | None = None
        if text.startswith('"'):
            end = _scan_quoted(text, 0, where)
            display = text[:end]
            rest = text[end:].lstrip(_WS)
            if not rest.startswith("<"):
                raise SipParseError(f"Bad {where}: quoted name without <URI>")
            text_lt = end + (len(text) - end - len(rest))
        else:
            text_lt = text.find("<")
            if text_lt > 0:
                name = text[:text_lt].strip(_WS)
                if name and not _DISPLAY_TOKENS_RE.fullmatch(name):
                    raise SipParseError(f"Bad display name in {where}")
                display = name or None
        if text_lt >= 0:
            gt = text.find(">", text_lt)
            if gt < 0:
                raise SipParseError(f"Unclosed <URI> in {where}")
            uri_text = text[text_lt + 1 : gt].strip(_WS)  # liberal: '< sip:x >'
            params_text = text[gt + 1 :]
        else:
            # addr-spec: parameters after the URI belong to the header, and the
            # URI itself may carry neither ';' params, '?' headers nor ','.
            semi = text.find(";")
            uri_text = text if semi < 0 else text[:semi]
            uri_text = uri_text.rstrip(_WS)
            params_text = "" if semi < 0 else text[semi:]
            if "?" in uri_text or "," in uri_text or any(c in _WS for c in uri_text):
                raise SipParseError(f"Bad {where}: URI with reserved characters must be in <>")
        uri = parse_uri(uri_text)
        return cls(uri, display, parse_params(params_text, where), value)

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    @property
    def display_name(self) -> str | None:
        """Display name without quotes and escapes."""
        d = self.display
        if d is None:
            return None
        if d.startswith('"'):
            return re.sub(r"\\(.)", r"\1", d[1:-1])
        return d

    def with_param(self, name: str, value: str | None) -> Address:
        kept = tuple(p for p in self.params if p[0].lower() != name.lower())
        return Address(self.uri, self.display, (*kept, (name, value)))

    def __str__(self) -> str:
        if self._raw is None:
            name = f"{self.display} " if self.display else ""
            self._raw = f"{name}<{self.uri}>{_join_params(self.params)}"
        return self._raw

    def __repr__(self) -> str:
        return f"Address({str(self)!r})"


def quote_display(name: str) -> str:
    """Quote a display name for a header: ``Bob "B"`` → ``"Bob \\"B\\""``."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- Via -----------------------------------------------------------------------------
_VIA_RE = re.compile(
    rf"SIP[ \t]*/[ \t]*(?P<version>[0-9]+\.[0-9]+)[ \t]*/[ \t]*(?P<transport>{_TOKEN})[ \t]+"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-_.]+)(?:[ \t]*:[ \t]*(?P<port>[0-9]{1,5}))?"
    r"(?P<params>.*)",
    re.S | re.I,
)
MAGIC_COOKIE = "z9hG4bK"


class Via:
    """One Via value: ``SIP/2.0/UDP host:port;branch=…;rport;received=…``."""

    __slots__ = ("_raw", "host", "params", "port", "transport")

    def __init__(
        self,
        transport: str,
        host: str,
        port: int | None = None,
        params: Params = (),
        _raw: str | None = None,
    ) -> None:
        self.transport = transport
        self.host = host
        self.port = port
        self.params = params
        self._raw = _raw

    @classmethod
    def parse(cls, value: str) -> Via:
        m = _VIA_RE.fullmatch(value.strip(_WS))
        if m is None:
            raise SipParseError("Malformed Via")
        if m.group("version") != "2.0":
            raise SipParseError("Bad Via version")
        port = m.group("port")
        if port is not None and int(port) > 65535:
            raise SipParseError("Bad Via port")
        params = parse_params(m.group("params"), "Via")
        return cls(
            m.group("transport").upper(),
            m.group("host"),
            int(port) if port else None,
            params,
            value,
        )

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def received(self) -> str | None:
        return self.param("received")

    @property
    def rport(self) -> str | None:
        return self.param("rport")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    def with_params(self, **params: str | None) -> Via:
        """Set/replace parameters (``received=…``, ``rport="5060"``)."""
        names = {k.lower() for k in params}
        kept = tuple(p for p in self.params if p[0].lower() not in names)
        return Via(self.transport, self.host, self.port, (*kept, *params.items()))

    def __str__(self) -> str:
        if self._raw is None:
            port = "" if self.port is None else f":{self.port}"
            self._raw = f"SIP/2.0/{self.transport} {self.host}{port}{_join_params(self.params)}"
        return self._raw

    def __repr__(self) -> str:
        return f"Via({str(self)!r})"


# -- CSeq -----------------------------------------------------------------------------
_CSEQ_RE = re.compile(rf"([0-9]{{1,10}})[ \t]+({_TOKEN})")
MAX_CSEQ = 2**31 - 1


class CSeq:
    __slots__ = ("method", "number")

    def __init__(self, number: int, method: str) -> None:
        self.number = number
        self.method = method

    @classmethod
    def parse(cls, value: str) -> CSeq:
        m = _CSEQ_RE.fullmatch(value.strip(_WS))
        if m is None:
            raise SipParseError("Bad CSeq")
        number = int(m.group(1))
        if number > 2**32 - 1:
            raise SipParseError("Bad CSeq: number too large")
        return cls(number, m.group(2))

    def __str__(self) -> str:
        return f"{self.number} {self.method}"

    def __repr__(self) -> str:
        return f"CSeq({self.number}, {self.method!r})"


def parse_uint(value: str, name: str, maximum: int) -> int:
    v = value.strip(_WS)
    if not v.isdigit() or not v.isascii():
        raise SipParseError(f"Bad {name}")
    if len(v.lstrip("0")) > 10:  # int() of thousands of digits is slow or refused
        raise SipParseError(f"Bad {name}: out of range")
    n = int(v)
    if n > maximum:
        raise SipParseError(f"Bad {name}: out of range")
    return n


__all__ = [
    "COMPACT",
    "MAGIC_COOKIE",
    "AbsoluteURI",
    "Address",
    "CSeq",
    "SipURI",
    "Via",
    "canonical_name",
    "parse_params",
    "parse_uint",
    "quote_display",
    "split_commas",
]
