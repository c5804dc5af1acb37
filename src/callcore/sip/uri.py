"""SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966), parsed and rebuilt.

A :class:`SipURI` keeps the text it was parsed from, so an unchanged URI
serializes byte-exactly; :meth:`SipURI.replace` builds a new one. Comparison
follows RFC 3261 §19.1.4 loosely enough for routing (:meth:`SipURI.same_target`).
Any other scheme parses to :class:`AbsoluteURI` (only its scheme is checked),
which a UAS answers with 416.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from callcore.sip.errors import SipParseError

_ESC = r"%[0-9A-Fa-f]{2}"
_USER = rf"(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|{_ESC})+"
_PASS = rf"(?:[A-Za-z0-9\-_.!~*'()&=+$,]|{_ESC})*"
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9\-_.]*[A-Za-z0-9_.])?)"
_PCHAR = rf"(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$]|{_ESC})"
_HCHAR = rf"(?:[A-Za-z0-9\-_.!~*'()\[\]/?:+$]|{_ESC})"
_USERINFO_RE = re.compile(rf"(?P<user>{_USER})(?::(?P<password>{_PASS}))?")
_HOSTPORT_RE = re.compile(
    rf"(?P<host>{_HOST})(?::(?P<port>[0-9]{{1,5}}))?"
    rf"(?P<params>(?:;{_PCHAR}+(?:={_PCHAR}*)?)*)"
    rf"(?:\?(?P<headers>{_HCHAR}+=?{_HCHAR}*(?:&{_HCHAR}+=?{_HCHAR}*)*))?"
)
# the whole sip/sips URI after the scheme in one match (the hot path); a
# mismatch is re-run step by step below to name the faulty part
_SIP_RE = re.compile(rf"(?:(?P<user>{_USER})(?::(?P<password>{_PASS}))?@)?{_HOSTPORT_RE.pattern}")
_TEL_RE = re.compile(r"(?P<number>\+?[0-9A-Fa-f*#.()\-]+)(?P<params>(?:;[^;\s]+)*)")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")

Params = tuple[tuple[str, str | None], ...]


def _split_params(text: str) -> Params:
    """``;a=b;c`` → ``(("a", "b"), ("c", None))`` (``text`` starts with ``;``)."""
    if not text:
        return ()
    out = []
    for item in text[1:].split(";"):
        name, eq, value = item.partition("=")
        out.append((name, value if eq else None))
    return tuple(out)


def _join_params(params: Params) -> str:
    return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in params)


def _param(params: Params, name: str) -> str | None:
    name = name.lower()
    for n, v in params:
        if n.lower() == name:
            return "" if v is None else v
    return None


class SipURI:
    """A ``sip:`` or ``sips:`` URI.

    ``params`` and ``headers`` keep their order and spelling; :meth:`param`
    looks a parameter up case-insensitively (``None`` when absent, ``""`` for a
    flag parameter such as ``lr``).
    """

    __slots__ = ("_raw", "headers", "host", "params", "password", "port", "scheme", "user")

    def __init__(
        self,
        host: str,
        user: str | None = None,
        port: int | None = None,
        params: Params = (),
        headers: Params = (),
        scheme: str = "sip",
        password: str | None = None,
        _raw: str | None = None,
    ) -> None:
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.params = params
        self.headers = headers
        self._raw = _raw

    @classmethod
    def parse(cls, text: str) -> SipURI:
        uri = parse_uri(text)
        if not isinstance(uri, SipURI):
            raise SipParseError(f"Not a SIP URI: {text[:60]}", 416)
        return uri

    # -- views ---------------------------------------------------------------
    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    @property
    def transport(self) -> str:
        """The ``transport`` parameter, lower-case; ``tls`` for sips, else ``udp``."""
        t = self.param("transport")
        if t:
            return t.lower()
        return "tls" if self.scheme == "sips" else "udp"

    @property
    def lr(self) -> bool:
        return self.param("lr") is not None

    @property
    def user_unescaped(self) -> str | None:
        return None if self.user is None else unquote(self.user)

    @property
    def hostport(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def aor(self) -> str:
        """Address of record: ``sip:user@host`` (no port, params or headers), lower-cased host."""
        user = f"{self.user_unescaped}@" if self.user is not None else ""
        return f"{self.scheme}:{user}{self.host.lower()}"

    def replace(self, **changes: object) -> SipURI:
        """A copy with some fields changed (``params=…``, ``port=…`` …)."""
        fields = {s: getattr(self, s) for s in self.__slots__ if s != "_raw"}
        fields.update(changes)
        return SipURI(**fields)  # type: ignore[arg-type]

    def with_param(self, name: str, value: str | None = None) -> SipURI:
        kept = tuple(p for p in self.params if p[0].lower() != name.lower())
        return self.replace(params=(*kept, (name, value)))

    def without_params(self, *names: str) -> SipURI:
        drop = {n.lower() for n in names}
        return self.replace(params=tuple(p for p in self.params if p[0].lower() not in drop))

    def same_target(self, other: object) -> bool:
        """RFC 3261 §19.1.4 equivalence of scheme, user, password, host, port and the
        transport/user/ttl/method/maddr parameters (enough to match bindings and routes)."""
        if not isinstance(other, SipURI):
            return False
        if (self.scheme, self.host.lower(), self.port) != (
            other.scheme,
            other.host.lower(),
            other.port,
        ):
            return False
        if self.user_unescaped != other.user_unescaped or self.password != other.password:
            return False
        for name in ("transport", "user", "ttl", "method", "maddr"):
            a, b = self.param(name), other.param(name)
            if a is not None and b is not None and a.lower() != b.lower():
                return False
            if (a is None) != (b is None):
                return False
        return True

    def __str__(self) -> str:
        if self._raw is None:
            userinfo = ""
            if self.user is not None:
                userinfo = (
                    self.user + (f":{self.password}" if self.password is not None else "") + "@"
                )
            port = "" if self.port is None else f":{self.port}"
            headers = ""
            if self.headers:
                headers = "?" + "&".join(n if v is None else f"{n}={v}" for n, v in self.headers)
            self._raw = (
                f"{self.scheme}:{userinfo}{self.host}{port}{_join_params(self.params)}{headers}"
            )
        return self._raw

    def __repr__(self) -> str:
        return f"SipURI({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SipURI) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class TelURI:
    """A ``tel:`` URI (RFC 3966): ``number`` plus parameters."""

    __slots__ = ("number", "params", "scheme")

    def __init__(self, number: str, params: Params = ()) -> None:
        self.scheme = "tel"
        self.number = number
        self.params = params

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    @property
    def aor(self) -> str:
        return f"tel:{self.number}"

    @property
    def user(self) -> str:
        return self.number

    def __str__(self) -> str:
        return f"tel:{self.number}{_join_params(self.params)}"

    def __repr__(self) -> str:
        return f"TelURI({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TelURI) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class AbsoluteURI:
    """Any other scheme (``http:``, ``mailto:`` …): kept as text."""

    __slots__ = ("scheme", "text")

    def __init__(self, text: str, scheme: str) -> None:
        self.text = text
        self.scheme = scheme

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"AbsoluteURI({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AbsoluteURI) and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)


URI = SipURI | TelURI | AbsoluteURI


def parse_uri(text: str) -> URI:
    """Parse a URI; raises :class:`SipParseError` (400) when it is malformed.

    Unknown schemes are not an error here (they give :class:`AbsoluteURI`); the
    caller decides whether to answer 416.
    """
    colon = text.find(":")
    if colon <= 0:
        raise SipParseError(f"Bad URI: {text[:60]!r}")
    scheme = text[:colon].lower()
    rest = text[colon + 1 :]
    if scheme == "sip" or scheme == "sips":
        m = _SIP_RE.fullmatch(text, colon + 1)
        if m is not None:
            user, password, host, port, params, headers = m.groups()
            if port is None or int(port) <= 65535:
                return SipURI(
                    host,
                    user,
                    int(port) if port is not None else None,
                    _split_params(params),
                    _split_params(";" + headers.replace("&", ";")) if headers else (),
                    scheme,
                    password,
                    text,
                )
        user = password = None
        at = rest.find("@")
        if at >= 0:
            m = _USERINFO_RE.fullmatch(rest, 0, at)
            if m is None:
                raise SipParseError(f"Bad URI user part: {text[:60]!r}")
            user = m.group("user")
            password = m.group("password")
            rest = rest[at + 1 :]
        m = _HOSTPORT_RE.fullmatch(rest)
        if m is None:
            raise SipParseError(f"Bad URI: {text[:60]!r}")
        port = m.group("port")
        if port is not None and int(port) > 65535:
            raise SipParseError(f"Bad URI port: {text[:60]!r}")
        headers = m.group("headers")
        return SipURI(
            m.group("host"),
            user,
            int(port) if port is not None else None,
            _split_params(m.group("params")),
            _split_params(";" + headers.replace("&", ";")) if headers else (),
            scheme,
            password,
            text,
        )
    if scheme == "tel":
        m = _TEL_RE.fullmatch(rest)
        if m is None:
            raise SipParseError(f"Bad tel URI: {text[:60]!r}")
        return TelURI(m.group("number"), _split_params(m.group("params")))
    if not _SCHEME_RE.fullmatch(text[:colon]) or not rest or any(c.isspace() for c in rest):
        raise SipParseError(f"Bad URI: {text[:60]!r}")
    return AbsoluteURI(text, scheme)
