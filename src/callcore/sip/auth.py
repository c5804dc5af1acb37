"""SIP digest authentication (RFC 2617, RFC 7616, RFC 8760), sans-IO.

* :func:`parse_challenges` / :func:`parse_credentials` read header values.
* :class:`DigestChallenger` is the registrar/proxy side: builds challenges with
  stateless HMAC nonces and verifies ``Authorization`` values.
* :func:`authorization` and :class:`DigestClient` are the UAC side.

Header *values* go in and out as ``str``; which header they belong in
(``WWW-Authenticate`` vs ``Proxy-Authenticate``) is for the caller to decide
(:attr:`DigestChallenger.challenge_header` helps).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "ALGORITHMS",
    "AuthResult",
    "Challenge",
    "DigestChallenger",
    "DigestClient",
    "DigestParseError",
    "StoredCredential",
    "authorization",
    "compute_ha1",
    "compute_response",
    "format_params",
    "parse_challenges",
    "parse_credentials",
]


def _h_md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _h_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _h_sha512_256(data: bytes) -> str:
    return hashlib.new("sha512_256", data).hexdigest()


_HASHES: dict[str, Callable[[bytes], str]] = {"MD5": _h_md5, "SHA-256": _h_sha256}
try:  # OpenSSL builds without SHA-512/256 exist
    _h_sha512_256(b"")
    _HASHES["SHA-512-256"] = _h_sha512_256
except ValueError:  # pragma: no cover
    pass

#: Algorithms understood (each also with the ``-sess`` variant).
ALGORITHMS: tuple[str, ...] = tuple(_HASHES)
_STRENGTH = {"SHA-512-256": 3, "SHA-256": 2, "MD5": 1}


class DigestParseError(ValueError):
    """A malformed ``Digest ...`` header value; ``position`` is a 0-based offset."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} at offset {position}")
        self.reason = reason
        self.position = position


# ---------------------------------------------------------------------------
# header value grammar:  scheme 1*SP param *( "," param ), param = token "=" (token|quoted)

_TOKEN_EXTRA = set("!#$%&'*+-.^_`|~/:@[]")  # liberal: accept what real UAs send unquoted


def _is_token_char(ch: str) -> bool:
    return ch.isalnum() or ch in _TOKEN_EXTRA


def _skip_ws(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t\r\n":
        i += 1
    return i


def _read_token(s: str, i: int) -> tuple[str, int]:
    j = i
    while j < len(s) and _is_token_char(s[j]):
        j += 1
    return s[i:j], j


def _read_quoted(s: str, i: int) -> tuple[str, int]:
    # s[i] == '"'
    out: list[str] = []
    j = i + 1
    while j < len(s):
        ch = s[j]
        if ch == "\\":
            if j + 1 >= len(s):
                break
            out.append(s[j + 1])
            j += 2
        elif ch == '"':
            return "".join(out), j + 1
        else:
            out.append(ch)
            j += 1
    raise DigestParseError("unterminated quoted string", i)


@dataclass(frozen=True, slots=True)
class Challenge:
    """One parsed challenge or credentials: a scheme and lower-cased parameter names."""

    scheme: str
    params: Mapping[str, str]

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.params.get(name.lower(), default)

    @property
    def algorithm(self) -> str:
        """Upper-cased algorithm, ``MD5`` when absent (RFC 7616 §3.3)."""
        return (self.params.get("algorithm") or "MD5").upper()

    @property
    def qops(self) -> tuple[str, ...]:
        raw = self.params.get("qop")
        return tuple(q.strip().lower() for q in raw.split(",") if q.strip()) if raw else ()


def _parse(value: str) -> list[Challenge]:
    s, i, out = value, 0, []
    i = _skip_ws(s, i)
    if i >= len(s):
        raise DigestParseError("empty header value", 0)
    scheme: str | None = None
    params: dict[str, str] = {}
    while i < len(s):
        i = _skip_ws(s, i)
        if i < len(s) and s[i] == ",":
            i += 1  # empty list elements are allowed (RFC 7230 #rule)
            continue
        if i >= len(s):
            break
        start = i
        name, i = _read_token(s, i)
        if not name:
            raise DigestParseError(f"unexpected character {s[i]!r}", i)
        j = _skip_ws(s, i)
        if j < len(s) and s[j] == "=":
            if scheme is None:
                raise DigestParseError("parameter before the auth scheme", start)
            i = _skip_ws(s, j + 1)
            if i < len(s) and s[i] == '"':
                val, i = _read_quoted(s, i)
            else:
                val, i = _read_token(s, i)
                if not val:
                    raise DigestParseError(f"missing value for {name!r}", i)
            key = name.lower()
            if key in params:
                raise DigestParseError(f"duplicate parameter {name!r}", start)
            params[key] = val
            i = _skip_ws(s, i)
            if i < len(s) and s[i] != ",":
                raise DigestParseError("expected ',' between parameters", i)
        else:  # a new auth scheme starts here
            if scheme is not None:
                out.append(Challenge(scheme, params))
            scheme, params, i = name, {}, j
    if scheme is None:
        raise DigestParseError("missing auth scheme", 0)
    out.append(Challenge(scheme, params))
    return out


def parse_challenges(value: str) -> list[Challenge]:
    """Parse a ``WWW-Authenticate``/``Proxy-Authenticate`` value (one or several challenges)."""
    return _parse(value)


def parse_credentials(value: str) -> Challenge:
    """Parse one ``Authorization``/``Proxy-Authorization`` value."""
    items = _parse(value)
    if len(items) != 1:
        raise DigestParseError("more than one credentials set", 0)
    return items[0]


_QUOTED = {"realm", "nonce", "opaque", "domain", "uri", "response", "cnonce", "username"}


def _quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_params(scheme: str, params: Sequence[tuple[str, str]], *, quote_qop: bool) -> str:
    """``scheme k=v, k="v"``; quoting follows RFC 7616 (qop quoted in challenges only)."""
    parts = []
    for k, v in params:
        quoted = k in _QUOTED or (k == "qop" and quote_qop)
        parts.append(f"{k}={_quote(v) if quoted else v}")
    return f"{scheme} " + ", ".join(parts)


# ---------------------------------------------------------------------------
# the digest arithmetic


def _hash_for(algorithm: str) -> tuple[Callable[[bytes], str], bool]:
    alg = algorithm.upper()
    sess = alg.endswith("-SESS")
    base = alg[:-5] if sess else alg
    if base not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return _HASHES[base], sess


def compute_ha1(algorithm: str, username: str, realm: str, password: str) -> str:
    """``H(username:realm:password)`` — what a registrar may store instead of passwords."""
    h, _ = _hash_for(algorithm)
    return h(f"{username}:{realm}:{password}".encode())


def compute_response(
    algorithm: str,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    *,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """The ``response`` value. ``ha1`` is the non-session HA1 (``-sess`` applied here)."""
    h, sess = _hash_for(algorithm)
    if sess:
        ha1 = h(f"{ha1}:{nonce}:{cnonce}".encode())
    if qop == "auth-int":
        ha2 = h(f"{method}:{uri}:{h(body)}".encode())
    else:
        ha2 = h(f"{method}:{uri}".encode())
    if qop:
        return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode())
    return h(f"{ha1}:{nonce}:{ha2}".encode())


# ---------------------------------------------------------------------------
# client side


def authorization(
    challenge: str | Challenge,
    method: str,
    uri: str,
    username: str,
    password: str | None = None,
    *,
    ha1: str | None = None,
    body: bytes = b"",
    cnonce: str | None = None,
    nc: int = 1,
) -> str:
    """The ``Authorization`` value answering one Digest ``challenge``.

    Uses qop ``auth`` (or ``auth-int`` if it is the only one offered) with
    ``cnonce``/``nc``; without a qop in the challenge, the RFC 2069 form.
    """
    ch = challenge if isinstance(challenge, Challenge) else parse_challenges(challenge)[0]
    if ch.scheme.lower() != "digest":
        raise ValueError(f"not a Digest challenge: {ch.scheme}")
    realm, nonce = ch.get("realm"), ch.get("nonce")
    if realm is None or nonce is None:
        raise ValueError("challenge lacks realm or nonce")
    alg_param = ch.get("algorithm")
    algorithm = ch.algorithm
    if ha1 is None:
        if password is None:
            raise ValueError("need a password or an HA1")
        ha1 = compute_ha1(algorithm.removesuffix("-SESS"), username, realm, password)
    qops = ch.qops
    qop = "auth" if "auth" in qops else ("auth-int" if "auth-int" in qops else None)
    if qops and qop is None:
        raise ValueError(f"no supported qop in {qops}")
    params: list[tuple[str, str]] = [
        ("username", username),
        ("realm", realm),
        ("nonce", nonce),
        ("uri", uri),
    ]
    if qop or algorithm.endswith("-SESS"):
        cnonce = cnonce or base64.b64encode(os.urandom(18)).decode()
    nc_s = f"{nc:08x}"
    resp = compute_response(
        algorithm, ha1, nonce, method, uri, qop=qop, nc=nc_s, cnonce=cnonce or "", body=body
    )
    params.append(("response", resp))
    if alg_param is not None:
        params.append(("algorithm", alg_param))
    if cnonce and (qop or algorithm.endswith("-SESS")):
        params.append(("cnonce", cnonce))
    if ch.get("opaque") is not None:
        params.append(("opaque", ch.get("opaque") or ""))
    if qop:
        params += [("qop", qop), ("nc", nc_s)]
    return format_params("Digest", params, quote_qop=False)


class DigestClient:
    """UAC helper: picks the strongest offered challenge and counts ``nc`` per nonce."""

    __slots__ = ("_cnonce", "_nc", "password", "username")

    def __init__(
        self,
        username: str,
        password: str,
        *,
        cnonce_factory: Callable[[], str] | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self._cnonce = cnonce_factory or (lambda: base64.b64encode(os.urandom(18)).decode())
        self._nc: dict[str, int] = {}

    @staticmethod
    def choose(challenges: Sequence[str | Challenge]) -> Challenge:
        """The strongest Digest challenge whose algorithm we support (RFC 8760 §2.4)."""
        best: Challenge | None = None
        for c in challenges:
            for ch in parse_challenges(c) if isinstance(c, str) else [c]:
                if ch.scheme.lower() != "digest":
                    continue
                base = ch.algorithm.removesuffix("-SESS")
                if base not in _HASHES:
                    continue
                if (
                    best is None
                    or _STRENGTH[base] > _STRENGTH[best.algorithm.removesuffix("-SESS")]
                ):
                    best = ch
        if best is None:
            raise ValueError("no supported Digest challenge")
        return best

    def authorize(
        self, challenges: Sequence[str | Challenge], method: str, uri: str, body: bytes = b""
    ) -> str:
        """The ``Authorization`` value for a request after a 401/407."""
        ch = self.choose(challenges)
        nonce = ch.get("nonce") or ""
        nc = self._nc.get(nonce, 0) + 1
        if len(self._nc) > 64:
            self._nc.clear()
        self._nc[nonce] = nc
        return authorization(
            ch, method, uri, self.username, self.password, body=body, cnonce=self._cnonce(), nc=nc
        )


# ---------------------------------------------------------------------------
# server side


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """What a credentials lookup may return instead of a plain password.

    ``ha1`` maps an algorithm (``"MD5"``, ``"SHA-256"``) to ``H(user:realm:pw)``.
    """

    password: str | None = None
    ha1: Mapping[str, str] = field(default_factory=dict)


CredentialLookup = (
    Mapping[str, "str | StoredCredential"] | Callable[[str], "str | StoredCredential | None"]
)


@dataclass(frozen=True, slots=True)
class AuthResult:
    """Outcome of :meth:`DigestChallenger.verify`.

    ``reason`` is one of: ``malformed``, ``bad realm``, ``algorithm not offered``,
    ``bad nonce``, ``qop missing``, ``unknown user``, ``uri mismatch``,
    ``bad response``, ``nonce expired``, ``stale``, ``nc replay`` (None when ok).
    When ``stale`` is true, re-challenge with ``challenge(stale=True)``.
    """

    ok: bool
    reason: str | None = None
    username: str | None = None
    algorithm: str | None = None
    stale: bool = False


class DigestChallenger:
    """Registrar/proxy side of digest authentication.

    Nonces are ``base64(time | seq | salt | HMAC(secret, time | seq | salt | realm))``:
    no per-nonce state is needed to check them, so they survive a restart
    (with the same ``secret_key``) and expire after ``nonce_ttl`` seconds.
    The highest nonce-count seen per nonce is kept in a bounded LRU to reject
    replays; nonces evicted from it are treated as stale.

    ``require_qop=False`` also accepts RFC 2069 credentials without ``qop``
    (stock pyVoIP 1.6.8 sends those); they carry no nonce-count, so they
    cannot be checked for replay within the nonce lifetime.
    """

    def __init__(
        self,
        realm: str,
        secret_key: bytes,
        clock: Callable[[], float],
        nonce_ttl: float = 300,
        algorithms: Sequence[str] = ("SHA-256", "MD5"),
        qop: str | None = "auth",
        *,
        proxy: bool = False,
        require_qop: bool = True,
        max_tracked_nonces: int = 10_000,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        for a in algorithms:
            _hash_for(a)
        self.realm = realm
        self._key = bytes(secret_key)
        self._clock = clock
        self.nonce_ttl = nonce_ttl
        self.algorithms = tuple(a.upper() for a in algorithms)
        self.qop = qop
        self.proxy = proxy
        self.require_qop = require_qop
        self._max = max_tracked_nonces
        self._rand = random_bytes
        self._nc: OrderedDict[str, int] = OrderedDict()
        self._seq = 0
        self._evicted_until = (-1, 0)  # untracked nonces minted at/before this are stale
        self.opaque = base64.b64encode(
            hmac.new(self._key, b"opaque:" + realm.encode(), "sha256").digest()[:18]
        ).decode()

    @property
    def challenge_header(self) -> str:
        return "Proxy-Authenticate" if self.proxy else "WWW-Authenticate"

    @property
    def credentials_header(self) -> str:
        return "Proxy-Authorization" if self.proxy else "Authorization"

    @property
    def status(self) -> int:
        """The response code carrying the challenge: 407 for a proxy, else 401."""
        return 407 if self.proxy else 401

    # -- nonces -----------------------------------------------------------
    def _mac(self, head: bytes) -> bytes:
        return hmac.new(self._key, head + self.realm.encode(), "sha256").digest()[:16]

    def new_nonce(self) -> str:
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        head = struct.pack(">QI", int(self._clock()), self._seq) + self._rand(4)
        return base64.b64encode(head + self._mac(head)).decode()

    def _nonce_key(self, nonce: str) -> tuple[int, int] | None:
        """(mint time, sequence) of one of our nonces, None if not ours."""
        try:
            raw = base64.b64decode(nonce, validate=True)
        except (ValueError, TypeError):
            return None
        if len(raw) != 32:
            return None
        head, mac = raw[:16], raw[16:]
        if not hmac.compare_digest(mac, self._mac(head)):
            return None
        t, seq = struct.unpack(">QI", head[:12])
        return t, seq

    def _nonce_time(self, nonce: str) -> int | None:
        key = self._nonce_key(nonce)
        return None if key is None else key[0]

    # -- challenges -------------------------------------------------------
    def challenge(self, stale: bool = False) -> list[str]:
        """Challenge header values, one per algorithm, in preference order."""
        nonce = self.new_nonce()
        out = []
        for alg in self.algorithms:
            params = [("realm", self.realm), ("nonce", nonce)]
            if self.qop:
                params.append(("qop", self.qop))
            params += [("algorithm", alg), ("opaque", self.opaque)]
            if stale:
                params.append(("stale", "true"))
            out.append(format_params("Digest", params, quote_qop=True))
        return out

    # -- verification -----------------------------------------------------
    def _lookup(self, creds: CredentialLookup, username: str) -> str | StoredCredential | None:
        if isinstance(creds, Mapping):
            return creds.get(username)
        return creds(username)

    def verify(
        self,
        header_value: str,
        method: str,
        credentials: CredentialLookup,
        request_uri: str | None = None,
        body: bytes = b"",
    ) -> AuthResult:
        """Check an ``Authorization`` value for a request (method, Request-URI, body)."""
        try:
            c = parse_credentials(header_value)
        except DigestParseError:
            return AuthResult(False, "malformed")
        if c.scheme.lower() != "digest":
            return AuthResult(False, "malformed")
        username, nonce, uri, response = (
            c.get("username"), c.get("nonce"), c.get("uri"), c.get("response")
        )  # fmt: skip
        if username is None or nonce is None or uri is None or response is None:
            return AuthResult(False, "malformed", username)
        if c.get("realm") != self.realm:
            return AuthResult(False, "bad realm", username)
        algorithm = c.algorithm
        if algorithm.removesuffix("-SESS") not in self.algorithms or (
            algorithm.endswith("-SESS") and algorithm not in self.algorithms
        ):
            return AuthResult(False, "algorithm not offered", username, algorithm)
        if self.opaque and c.get("opaque") not in (None, self.opaque):
            return AuthResult(False, "bad nonce", username, algorithm)
        key = self._nonce_key(nonce)
        if key is None:
            return AuthResult(False, "bad nonce", username, algorithm)
        minted = key[0]
        qop = c.get("qop")
        nc_s, cnonce = c.get("nc") or "", c.get("cnonce") or ""
        if self.qop and (qop is not None or self.require_qop):
            offered = tuple(q.strip() for q in self.qop.split(","))
            if qop is None or qop.lower() not in offered:
                return AuthResult(False, "qop missing", username, algorithm)
            if not nc_s or not cnonce:
                return AuthResult(False, "malformed", username, algorithm)
        nc_val = 0
        if qop:
            try:
                nc_val = int(nc_s, 16)
            except ValueError:
                return AuthResult(False, "malformed", username, algorithm)
        if request_uri is not None and uri != request_uri:
            return AuthResult(False, "uri mismatch", username, algorithm)
        stored = self._lookup(credentials, username)
        if stored is None:
            return AuthResult(False, "unknown user", username, algorithm)
        base = algorithm.removesuffix("-SESS")
        if isinstance(stored, str):
            ha1 = compute_ha1(base, username, self.realm, stored)
        elif base in stored.ha1:
            ha1 = stored.ha1[base]
        elif stored.password is not None:
            ha1 = compute_ha1(base, username, self.realm, stored.password)
        else:
            return AuthResult(False, "algorithm not offered", username, algorithm)
        expected = compute_response(
            algorithm, ha1, nonce, method, uri,
            qop=qop.lower() if qop else None, nc=nc_s, cnonce=cnonce, body=body,
        )  # fmt: skip
        good = hmac.compare_digest(expected, response.lower())
        now = self._clock()
        expired = now - minted > self.nonce_ttl or minted > now + 5
        if not good:
            reason = "nonce expired" if expired else "bad response"
            return AuthResult(False, reason, username, algorithm)
        if expired or (key <= self._evicted_until and nonce not in self._nc):
            return AuthResult(False, "stale", username, algorithm, stale=True)
        if qop:
            if nc_val <= self._nc.get(nonce, 0):
                return AuthResult(False, "nc replay", username, algorithm)
            self._remember(nonce, nc_val)
        return AuthResult(True, None, username, algorithm)

    def _remember(self, nonce: str, nc: int) -> None:
        self._nc[nonce] = nc
        self._nc.move_to_end(nonce)
        if len(self._nc) <= self._max:
            return
        now = self._clock()
        for n in [n for n in self._nc if now - (self._nonce_time(n) or 0) > self.nonce_ttl]:
            del self._nc[n]  # expired nonces are rejected as stale anyway
        while len(self._nc) > self._max:
            old, _ = self._nc.popitem(last=False)
            k = self._nonce_key(old)
            if k is not None:
                self._evicted_until = max(self._evicted_until, k)

    @property
    def tracked_nonces(self) -> int:
        """How many nonces currently have a remembered nonce-count."""
        return len(self._nc)
