"""SDP (RFC 4566) parsing/serialization and offer/answer (RFC 3264), sans-IO.

The model is a set of small mutable dataclasses (a session description is a
document an application edits); the results of negotiation (:class:`Answer`,
:class:`Negotiated`, :class:`Codec`) are frozen.  Nothing here depends on the
SIP message layer: bodies go in and out as ``str``/``bytes``.
"""

from __future__ import annotations

import copy
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DIRECTIONS",
    "STATIC_PAYLOAD_TYPES",
    "Answer",
    "Attribute",
    "Codec",
    "Connection",
    "MediaDescription",
    "Negotiated",
    "NoAcceptableMedia",
    "Origin",
    "SdpError",
    "SessionDescription",
    "Timing",
    "answer",
    "make_offer",
    "negotiated",
    "reoffer",
]

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
#: RFC 3551 static payload types that callcore knows by number.
STATIC_PAYLOAD_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("PCMU", 8000, 1),
    3: ("GSM", 8000, 1),
    4: ("G723", 8000, 1),
    8: ("PCMA", 8000, 1),
    9: ("G722", 8000, 1),
    13: ("CN", 8000, 1),
    18: ("G729", 8000, 1),
}
_STATIC_BY_NAME = {(n.upper(), r): pt for pt, (n, r, _c) in STATIC_PAYLOAD_TYPES.items()}
_DEFAULT_RATE = {"PCMU": 8000, "PCMA": 8000, "G722": 8000, "TELEPHONE-EVENT": 8000}
_TEL_EVENT = "telephone-event"
_RTP_PROTOS = ("RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF")


class SdpError(ValueError):
    """Malformed SDP; ``line`` is 1-based (0 when not tied to one line)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"SDP line {line}: {reason}" if line else f"SDP: {reason}")
        self.line = line
        self.reason = reason


class NoAcceptableMedia(Exception):
    """No offered stream can be accepted: answer ``488 Not Acceptable Here``.

    ``warning`` is a ready Warning header value (RFC 3261 §20.43, code 304/305).
    """

    status = 488

    def __init__(self, reason: str, warn_code: int = 305, agent: str = "callcore") -> None:
        super().__init__(reason)
        self.reason = reason
        self.warn_code = warn_code
        self.warning = f'{warn_code} {agent} "{reason}"'


@dataclass(slots=True)
class Origin:
    """``o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>``."""

    username: str = "-"
    session_id: int = 0
    version: int = 0
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "0.0.0.0"

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(slots=True)
class Connection:
    """``c=<nettype> <addrtype> <address>[/ttl][/n]``; ``address`` excludes the suffix."""

    address: str
    addrtype: str = "IP4"
    nettype: str = "IN"
    suffix: str = ""  # "/127/3" style multicast TTL / count, kept verbatim

    @classmethod
    def for_address(cls, address: str) -> Connection:
        """A connection for a literal IPv4/IPv6 address or a host name (IP4)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return cls(address, "IP4")
        return cls(address, "IP6" if ip.version == 6 else "IP4")

    @property
    def is_hold(self) -> bool:
        """True for the RFC 2543 hold address ``0.0.0.0`` (or ``::``)."""
        return self.address in ("0.0.0.0", "::")

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}{self.suffix}"


@dataclass(slots=True)
class Attribute:
    """``a=name`` (``value is None``) or ``a=name:value``."""

    name: str
    value: str | None = None

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(slots=True)
class Timing:
    """``t=<start> <stop>`` with its ``r=`` repeat lines."""

    start: int = 0
    stop: int = 0
    repeats: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Codec:
    """One RTP payload format: ``name/clock_rate[/channels]`` on ``payload_type``."""

    name: str
    clock_rate: int
    payload_type: int
    channels: int = 1
    fmtp: str | None = None

    @property
    def is_telephone_event(self) -> bool:
        return self.name.lower() == _TEL_EVENT


def _attr_lookup(attrs: Iterable[Attribute], name: str) -> str | None:
    for a in attrs:
        if a.name.lower() == name:
            return a.value
    return None


def _direction_of(attrs: Iterable[Attribute]) -> str | None:
    for a in attrs:
        if a.value is None and a.name.lower() in DIRECTIONS:
            return a.name.lower()
    return None


def _set_direction(attrs: list[Attribute], direction: str | None) -> None:
    attrs[:] = [a for a in attrs if not (a.value is None and a.name.lower() in DIRECTIONS)]
    if direction is not None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        attrs.append(Attribute(direction))


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section and the lines that follow it."""

    media: str
    port: int
    proto: str
    formats: list[str]
    port_count: int | None = None
    title: str | None = None  # i=
    connection: Connection | None = None
    bandwidths: list[str] = field(default_factory=list)
    key: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)  # unknown line types

    # -- attribute helpers -------------------------------------------------
    def attribute(self, name: str) -> str | None:
        """Value of the first ``a=name:value`` (case-insensitive name) or None."""
        return _attr_lookup(self.attributes, name.lower())

    def attribute_values(self, name: str) -> list[str]:
        n = name.lower()
        return [a.value or "" for a in self.attributes if a.name.lower() == n]

    @property
    def direction(self) -> str | None:
        """The media-level direction attribute, if any (see ``effective_direction``)."""
        return _direction_of(self.attributes)

    @direction.setter
    def direction(self, value: str | None) -> None:
        _set_direction(self.attributes, value)

    @property
    def ptime(self) -> int | None:
        v = self.attribute("ptime")
        return int(float(v)) if v else None

    @property
    def maxptime(self) -> int | None:
        v = self.attribute("maxptime")
        return int(float(v)) if v else None

    @property
    def rtpmaps(self) -> dict[int, tuple[str, int, int]]:
        """``{pt: (name, clock_rate, channels)}`` from ``a=rtpmap`` lines."""
        out: dict[int, tuple[str, int, int]] = {}
        for v in self.attribute_values("rtpmap"):
            try:
                pt_s, enc = v.split(None, 1)
                parts = enc.strip().split("/")
                out[int(pt_s)] = (parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 1)
            except (ValueError, IndexError):
                continue  # validated at parse time; tolerate hand-built oddities
        return out

    @property
    def fmtps(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for v in self.attribute_values("fmtp"):
            pt_s, _, params = v.partition(" ")
            if pt_s.isdigit():
                out[int(pt_s)] = params.strip()
        return out

    def codecs(self) -> list[Codec]:
        """Payload formats in offer order; static PTs resolve without an rtpmap."""
        if self.proto.upper() not in _RTP_PROTOS:
            return []
        maps, fmtps, out = self.rtpmaps, self.fmtps, []
        for f in self.formats:
            if not f.isdigit():
                continue
            pt = int(f)
            if pt in maps:
                name, rate, ch = maps[pt]
            elif pt in STATIC_PAYLOAD_TYPES:
                name, rate, ch = STATIC_PAYLOAD_TYPES[pt]
            else:
                continue  # dynamic PT without rtpmap: unusable
            out.append(Codec(name, rate, pt, ch, fmtps.get(pt)))
        return out


@dataclass(slots=True)
class SessionDescription:
    """A whole SDP body. ``parse`` / ``serialize`` round-trip unknown lines."""

    origin: Origin = field(default_factory=Origin)
    name: str = "-"
    version: int = 0
    info: str | None = None
    uri: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    connection: Connection | None = None
    bandwidths: list[str] = field(default_factory=list)
    timing: list[Timing] = field(default_factory=lambda: [Timing()])
    zone: str | None = None
    key: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)  # unknown line types

    # -- parsing ----------------------------------------------------------
    @classmethod
    def parse(cls, text: str | bytes) -> SessionDescription:
        """Parse an SDP body (CRLF or bare LF). Raises :class:`SdpError`.

        Runs the compiled scanner ``_sipparse.scan_sdp`` (or its pure twin), which
        returns exactly what :meth:`parse_reference` returns and raises the same errors.
        """
        if cls is SessionDescription:
            return (_SCAN or _scanner())(text)
        return cls.parse_reference(text)

    @classmethod
    def parse_reference(cls, text: str | bytes) -> SessionDescription:
        """The straightforward parser: the specification the scanners are tested against."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as e:
                raise SdpError(0, f"not UTF-8: {e}") from None
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            raise SdpError(0, "empty description")
        sd = cls.__new__(cls)
        cls.__init__(sd)
        sd.timing = []
        seen_origin = False
        media: MediaDescription | None = None
        for lineno, raw in enumerate(lines, 1):
            line = raw.rstrip()
            if not line:
                continue  # tolerate blank lines
            if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
                raise SdpError(lineno, f"expected '<type>=<value>', got {line[:40]!r}")
            kind, value = line[0], line[2:]
            if lineno == 1 and kind != "v":
                raise SdpError(1, "first line must be v=")
            try:
                if media is None:
                    if kind == "m":
                        media = _parse_m(value)
                        sd.media.append(media)
                    elif kind == "o":
                        sd.origin = _parse_o(value)
                        seen_origin = True
                    else:
                        sd._session_line(kind, value)
                elif kind == "m":
                    media = _parse_m(value)
                    sd.media.append(media)
                else:
                    _media_line(media, kind, value)
            except SdpError as e:
                raise SdpError(lineno, e.reason) from None
            except ValueError as e:
                raise SdpError(lineno, f"bad {kind}= line: {e}") from None
        if not seen_origin:
            raise SdpError(0, "missing o= line")
        if not sd.timing:
            sd.timing.append(Timing())
        return sd

    def _session_line(self, kind: str, value: str) -> None:
        if kind == "v":
            if value.strip() != "0":
                raise SdpError(0, f"unsupported version {value!r}")
            self.version = 0
        elif kind == "s":
            self.name = value
        elif kind == "i":
            self.info = value
        elif kind == "u":
            self.uri = value
        elif kind == "e":
            self.emails.append(value)
        elif kind == "p":
            self.phones.append(value)
        elif kind == "c":
            self.connection = _parse_c(value)
        elif kind == "b":
            self.bandwidths.append(value)
        elif kind == "t":
            parts = value.split()
            if len(parts) != 2:
                raise SdpError(0, "t= needs <start> <stop>")
            self.timing.append(Timing(int(parts[0]), int(parts[1])))
        elif kind == "r":
            if not self.timing:
                raise SdpError(0, "r= before any t=")
            self.timing[-1].repeats.append(value)
        elif kind == "z":
            self.zone = value
        elif kind == "k":
            self.key = value
        elif kind == "a":
            self.attributes.append(_parse_a(value))
        else:
            self.extra.append((kind, value))

    # -- serialization ----------------------------------------------------
    def serialize(self) -> bytes:
        """The body as bytes, CRLF line ends, RFC 4566 field order."""
        out = [f"v={self.version}", f"o={self.origin}", f"s={self.name or '-'}"]
        if self.info is not None:
            out.append(f"i={self.info}")
        if self.uri is not None:
            out.append(f"u={self.uri}")
        out += [f"e={e}" for e in self.emails]
        out += [f"p={p}" for p in self.phones]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"b={b}" for b in self.bandwidths]
        for t in self.timing or [Timing()]:
            out.append(f"t={t.start} {t.stop}")
            out += [f"r={r}" for r in t.repeats]
        if self.zone is not None:
            out.append(f"z={self.zone}")
        if self.key is not None:
            out.append(f"k={self.key}")
        out += [f"a={a}" for a in self.attributes]
        out += [f"{k}={v}" for k, v in self.extra]
        for m in self.media:
            port = f"{m.port}/{m.port_count}" if m.port_count is not None else str(m.port)
            out.append(" ".join(["m=" + m.media, port, m.proto, *m.formats]))
            if m.title is not None:
                out.append(f"i={m.title}")
            if m.connection is not None:
                out.append(f"c={m.connection}")
            out += [f"b={b}" for b in m.bandwidths]
            if m.key is not None:
                out.append(f"k={m.key}")
            out += [f"a={a}" for a in m.attributes]
            out += [f"{k}={v}" for k, v in m.extra]
        return ("\r\n".join(out) + "\r\n").encode("utf-8")

    __bytes__ = serialize

    # -- queries ----------------------------------------------------------
    @property
    def direction(self) -> str | None:
        """The session-level direction attribute, if any."""
        return _direction_of(self.attributes)

    @direction.setter
    def direction(self, value: str | None) -> None:
        _set_direction(self.attributes, value)

    def effective_direction(self, media: MediaDescription) -> str:
        """Media-level direction, else session-level, else ``sendrecv``."""
        return media.direction or self.direction or "sendrecv"

    def connection_for(self, media: MediaDescription) -> Connection | None:
        """The media's ``c=`` or the session's."""
        return media.connection or self.connection

    def is_on_hold(self, media: MediaDescription) -> bool:
        """The stream is held: ``c=0.0.0.0`` or direction sendonly/inactive."""
        conn = self.connection_for(media)
        if conn is not None and conn.is_hold:
            return True
        return self.effective_direction(media) in ("sendonly", "inactive")

    def copy(self) -> SessionDescription:
        return copy.deepcopy(self)


_SCAN: Any = None


def _scanner() -> Any:
    global _SCAN
    if _SCAN is None:
        from callcore.fastpath import load

        _SCAN = load(name="callcore.sip._sipparse").scan_sdp
    return _SCAN


def _parse_o(value: str) -> Origin:
    parts = value.split()
    if len(parts) != 6:
        raise SdpError(0, f"o= needs 6 fields, got {len(parts)}")
    try:
        sid, ver = int(parts[1]), int(parts[2])
    except ValueError:
        raise SdpError(0, "o= session id and version must be numbers") from None
    return Origin(parts[0], sid, ver, parts[3], parts[4], parts[5])


def _parse_c(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3:
        raise SdpError(0, f"c= needs 3 fields, got {len(parts)}")
    nettype, addrtype, addr = parts
    addrtype = addrtype.upper()
    suffix = ""
    if addrtype == "IP4" and "/" in addr:
        addr, _, rest = addr.partition("/")
        suffix = "/" + rest
    if addrtype == "IP4":
        if addr.count(".") == 3 and all(p.isdigit() for p in addr.split(".")):
            try:
                ipaddress.IPv4Address(addr)
            except ValueError:
                raise SdpError(0, f"bad IPv4 address {addr!r}") from None
    elif addrtype == "IP6":
        if "/" in addr:
            addr, _, rest = addr.partition("/")
            suffix = "/" + rest
        if ":" in addr:
            try:
                ipaddress.IPv6Address(addr)
            except ValueError:
                raise SdpError(0, f"bad IPv6 address {addr!r}") from None
    return Connection(addr, addrtype, nettype, suffix)


def _parse_m(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 3:
        raise SdpError(0, "m= needs <media> <port> <proto> <fmt>...")
    port_s, _, count_s = parts[1].partition("/")
    if not port_s.isdigit() or (count_s and not count_s.isdigit()):
        raise SdpError(0, f"bad m= port {parts[1]!r}")
    port = int(port_s)
    if port > 65535:
        raise SdpError(0, f"m= port out of range: {port}")
    return MediaDescription(
        parts[0], port, parts[2], parts[3:], port_count=int(count_s) if count_s else None
    )


def _parse_a(value: str) -> Attribute:
    name, sep, val = value.partition(":")
    if not name:
        raise SdpError(0, "empty attribute name")
    attr = Attribute(name, val if sep else None)
    lname = name.lower()
    if lname == "rtpmap":
        pt, _, enc = val.partition(" ")
        bits = enc.strip().split("/")
        # RFC 4475 §3.1.1.1 sends 'a=rtpmap:31 LPC' (no clock rate): tolerated, and
        # ignored by MediaDescription.rtpmaps; a non-numeric rate is still an error.
        if not pt.isdigit() or not bits[0] or (len(bits) >= 2 and not bits[1].isdigit()):
            raise SdpError(0, f"bad rtpmap {val!r}")
    elif lname in ("ptime", "maxptime"):
        try:
            float(val)
        except ValueError:
            raise SdpError(0, f"bad {lname} {val!r}") from None
    return attr


def _media_line(m: MediaDescription, kind: str, value: str) -> None:
    if kind == "i":
        m.title = value
    elif kind == "c":
        m.connection = _parse_c(value)
    elif kind == "b":
        m.bandwidths.append(value)
    elif kind == "k":
        m.key = value
    elif kind == "a":
        m.attributes.append(_parse_a(value))
    elif kind in "vosuepzt":
        raise SdpError(0, f"{kind}= is not allowed inside a media section")
    else:
        m.extra.append((kind, value))


# ---------------------------------------------------------------------------
# offer / answer


def _codec_spec(spec: str) -> tuple[str, int | None]:
    name, _, rate = spec.partition("/")
    if rate:
        return name.upper(), int(rate)
    return name.upper(), _DEFAULT_RATE.get(name.upper())


def _local_codec(spec: str, dynamic: Iterable[int]) -> Codec:
    name, rate = _codec_spec(spec)
    rate = rate or 8000
    pt = _STATIC_BY_NAME.get((name, rate))
    if pt is None:
        pt = next(iter(dynamic))
    canonical = STATIC_PAYLOAD_TYPES[pt][0] if pt in STATIC_PAYLOAD_TYPES else spec.split("/")[0]
    return Codec(canonical, rate, pt)


def _codec_attrs(codecs: Sequence[Codec], ptime: int | None) -> list[Attribute]:
    attrs = [
        Attribute("rtpmap", f"{c.payload_type} {c.name}/{c.clock_rate}")
        if c.channels == 1
        else Attribute("rtpmap", f"{c.payload_type} {c.name}/{c.clock_rate}/{c.channels}")
        for c in codecs
    ]
    attrs += [Attribute("fmtp", f"{c.payload_type} {c.fmtp}") for c in codecs if c.fmtp]
    if ptime:
        attrs.append(Attribute("ptime", str(ptime)))
    return attrs


def _new_session_id() -> int:
    return secrets.randbelow(2**62)


def make_offer(
    address: str,
    port: int,
    codecs: Sequence[str] = ("PCMU", "PCMA"),
    telephone_event: bool = True,
    ptime: int | None = 20,
    direction: str = "sendrecv",
    *,
    telephone_event_pt: int = 101,
    session_id: int | None = None,
    session_version: int | None = None,
    username: str = "callcore",
    session_name: str = "callcore",
) -> SessionDescription:
    """A one-stream audio offer (``codecs`` in preference order, ``NAME`` or ``NAME/RATE``)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    dynamic = (pt for pt in range(96, 128) if pt != telephone_event_pt)
    chosen = [_local_codec(c, dynamic) for c in codecs]
    if telephone_event:
        chosen.append(Codec(_TEL_EVENT, 8000, telephone_event_pt, fmtp="0-16"))
    sid = _new_session_id() if session_id is None else session_id
    conn = Connection.for_address(address)
    media = MediaDescription(
        "audio", port, "RTP/AVP", [str(c.payload_type) for c in chosen],
        attributes=_codec_attrs(chosen, ptime),
    )  # fmt: skip
    media.direction = direction
    return SessionDescription(
        origin=Origin(username, sid, sid if session_version is None else session_version,
                      "IN", conn.addrtype, address),
        name=session_name,
        connection=conn,
        media=[media],
    )  # fmt: skip


def _bump(previous: SessionDescription, new: SessionDescription) -> SessionDescription:
    """Keep ``previous``'s o= identity; increment the version iff the body changed."""
    new.origin.username = previous.origin.username
    new.origin.session_id = previous.origin.session_id
    new.origin.version = previous.origin.version
    if new.serialize() != previous.serialize():
        new.origin.version = previous.origin.version + 1
    return new


def reoffer(
    previous: SessionDescription,
    *,
    direction: str | None = None,
    address: str | None = None,
    port: int | None = None,
    zero_address_hold: bool = False,
) -> SessionDescription:
    """A re-INVITE offer derived from our ``previous`` offer/answer (hold, resume, move).

    The ``o=`` session id is kept; its version goes up by one when anything
    changed (RFC 3264 §8), and stays put for a pure session refresh.
    ``zero_address_hold`` additionally uses the RFC 2543 ``c=0.0.0.0`` style.
    """
    new = previous.copy()
    for m in new.media:
        if m.port == 0:
            continue
        if direction is not None:
            m.direction = direction
        if port is not None:
            m.port = port
        if address is not None:
            m.connection = None
    if direction is not None:
        new.direction = None
    if address is not None:
        new.connection = Connection.for_address(address)
        new.origin.address = address
        new.origin.addrtype = new.connection.addrtype
    if zero_address_hold and new.connection is not None:
        new.connection = Connection("0.0.0.0", "IP4", new.connection.nettype)
    return _bump(previous, new)


@dataclass(frozen=True, slots=True)
class Answer:
    """The SDP answer we built, and what it means for our media path."""

    sdp: SessionDescription
    codec: Codec
    telephone_event_pt: int | None
    remote_address: str
    remote_port: int
    direction: str  # direction written in our answer (our view)
    media_index: int
    ptime: int | None
    on_hold: bool  # the offerer put us on hold (sendonly/inactive or c=0.0.0.0)

    @property
    def body(self) -> bytes:
        return self.sdp.serialize()


@dataclass(frozen=True, slots=True)
class Negotiated:
    """Outcome of our offer: what the answerer picked."""

    codec: Codec
    telephone_event_pt: int | None
    remote_address: str
    remote_port: int
    direction: str  # our effective direction (answer's direction reversed)
    media_index: int
    ptime: int | None
    on_hold: bool


_ANSWER_DIRECTION = {
    "sendrecv": {"sendrecv": "sendrecv", "sendonly": "sendonly", "recvonly": "recvonly"},
    "sendonly": {"sendrecv": "recvonly", "recvonly": "recvonly"},
    "recvonly": {"sendrecv": "sendonly", "sendonly": "sendonly"},
    "inactive": {},
}
_REVERSE = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


def _matches(codec: Codec, spec: str) -> bool:
    name, rate = _codec_spec(spec)
    return codec.name.upper() == name and (rate is None or codec.clock_rate == rate)


def _pick(offered: list[Codec], supported: Sequence[str]) -> Codec | None:
    for c in offered:  # offerer's preference order
        if c.is_telephone_event:
            continue
        if any(_matches(c, s) for s in supported):
            return c
    return None


def _tel_event(offered: Iterable[Codec], rate: int) -> Codec | None:
    for c in offered:
        if c.is_telephone_event and c.clock_rate == rate:
            return c
    return None


def answer(
    offer: SessionDescription | str | bytes,
    local_address: str,
    local_port: int,
    supported: Sequence[str] = ("PCMU", "PCMA"),
    *,
    telephone_event: bool = True,
    ptime: int | None = 20,
    direction: str = "sendrecv",
    previous: SessionDescription | None = None,
    session_id: int | None = None,
    username: str = "callcore",
    session_name: str = "callcore",
    agent: str = "callcore",
) -> Answer:
    """Answer ``offer`` with one audio stream (RFC 3264 §6).

    Picks the first codec of the offerer's list that we support, echoes its
    payload type and telephone-event's, and rejects (port 0) every other
    ``m=`` line. ``previous`` is our earlier answer in the same dialog: its
    ``o=`` line is reused and the version incremented if the body changes.
    Raises :class:`NoAcceptableMedia` (488) when nothing fits.
    """
    if not isinstance(offer, SessionDescription):
        offer = SessionDescription.parse(offer)
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    if not offer.media:
        raise NoAcceptableMedia("Media type not available", 304, agent)
    conn_local = Connection.for_address(local_address)
    chosen: tuple[int, Codec, Codec | None] | None = None
    saw_audio = False
    for i, m in enumerate(offer.media):
        if m.media.lower() != "audio" or m.port == 0 or m.proto.upper() != "RTP/AVP":
            continue
        saw_audio = True
        c = _pick(m.codecs(), supported)
        if c is not None:
            te = _tel_event(m.codecs(), c.clock_rate) if telephone_event else None
            chosen = (i, c, te)
            break
    if chosen is None:
        if saw_audio:
            raise NoAcceptableMedia("Incompatible media format", 305, agent)
        raise NoAcceptableMedia("Media type not available", 304, agent)
    index, codec, te = chosen
    offered_m = offer.media[index]
    offered_dir = offer.effective_direction(offered_m)
    ans_dir = _ANSWER_DIRECTION[offered_dir].get(direction, "inactive")
    conn_remote = offer.connection_for(offered_m)
    if conn_remote is None:
        raise SdpError(0, "offer has no c= line for the audio stream")

    media: list[MediaDescription] = []
    for i, m in enumerate(offer.media):
        if i != index:
            media.append(MediaDescription(m.media, 0, m.proto, list(m.formats) or ["0"]))
            continue
        codecs = [codec] + ([te] if te else [])
        am = MediaDescription(
            "audio", local_port, m.proto, [str(c.payload_type) for c in codecs],
            attributes=_codec_attrs(codecs, ptime),
        )  # fmt: skip
        am.direction = ans_dir
        media.append(am)
    sid = _new_session_id() if session_id is None else session_id
    sd = SessionDescription(
        origin=Origin(username, sid, sid, "IN", conn_local.addrtype, local_address),
        name=session_name,
        connection=conn_local,
        media=media,
    )
    if previous is not None:
        sd = _bump(previous, sd)
    return Answer(
        sdp=sd,
        codec=codec,
        telephone_event_pt=te.payload_type if te else None,
        remote_address=conn_remote.address,
        remote_port=offered_m.port,
        direction=ans_dir,
        media_index=index,
        ptime=offered_m.ptime,
        on_hold=offer.is_on_hold(offered_m),
    )


def negotiated(
    answer_sdp: SessionDescription | str | bytes,
    offer: SessionDescription | None = None,
    *,
    agent: str = "callcore",
) -> Negotiated:
    """Read the answer to our offer: chosen codec, remote RTP address, DTMF PT, direction.

    With ``offer`` given, the answer is checked against it (same number of
    ``m=`` lines, a codec we offered). Raises :class:`NoAcceptableMedia` when
    every audio stream was rejected or the answer picked something we never offered.
    """
    if not isinstance(answer_sdp, SessionDescription):
        answer_sdp = SessionDescription.parse(answer_sdp)
    if offer is not None and len(offer.media) != len(answer_sdp.media):
        raise SdpError(0, "answer must have one m= line per offered m= line")
    for i, m in enumerate(answer_sdp.media):
        if m.media.lower() != "audio" or m.port == 0:
            continue
        codecs = m.codecs()
        if offer is not None:
            ours = offer.media[i].codecs()
            codecs = [
                c for c in codecs
                if any(o.name.lower() == c.name.lower() and o.clock_rate == c.clock_rate
                       for o in ours)
            ]  # fmt: skip
        audio = [c for c in codecs if not c.is_telephone_event and c.name.upper() != "CN"]
        if not audio:
            continue
        codec = audio[0]
        te = _tel_event(codecs, codec.clock_rate)
        conn = answer_sdp.connection_for(m)
        if conn is None:
            raise SdpError(0, "answer has no c= line for the audio stream")
        return Negotiated(
            codec=codec,
            telephone_event_pt=te.payload_type if te else None,
            remote_address=conn.address,
            remote_port=m.port,
            direction=_REVERSE[answer_sdp.effective_direction(m)],
            media_index=i,
            ptime=m.ptime,
            on_hold=answer_sdp.is_on_hold(m),
        )
    raise NoAcceptableMedia("Incompatible media format", 305, agent)
