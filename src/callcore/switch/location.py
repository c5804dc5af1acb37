"""Registrar bindings (RFC 3261 §10.3) and SIP accounts, sans-IO with an injected clock.

:class:`LocationService` keeps, per address-of-record, the contacts a UA
registered, applies REGISTER rules (Call-ID/CSeq ordering, ``*`` removal,
expiry clamping, per-AOR limits) and reports registered / refreshed /
unregistered / expired events.  It takes plain strings and numbers, so the
SIP layer converts its parsed REGISTER into :class:`ContactSpec` values.

:class:`AccountBook` holds the :class:`Account` list (extension, SIP user,
password) loaded from TOML/YAML or ``EXT:USER:PASSWORD`` strings.
"""

from __future__ import annotations

import math
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = [
    "Account",
    "AccountBook",
    "AccountError",
    "Binding",
    "BindingEvent",
    "ContactSpec",
    "LocationService",
    "RegisterResult",
    "RegisteredContact",
    "RegistrarError",
    "default_contact_key",
]

EventKind = Literal["registered", "refreshed", "unregistered", "expired"]


class RegistrarError(Exception):
    """A REGISTER that must be refused with ``status`` (400, 423, 500, 503).

    For 423 ``min_expires`` is the value for the ``Min-Expires`` header.
    """

    def __init__(self, status: int, reason: str, *, min_expires: int | None = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.min_expires = min_expires


@dataclass(frozen=True, slots=True)
class ContactSpec:
    """One Contact of a REGISTER: URI plus its ``expires``/``q``/outbound parameters."""

    uri: str
    expires: int | None = None
    q: float | None = None
    instance_id: str | None = None  # +sip.instance
    reg_id: int | None = None


class Binding:
    """One registered contact (stored; ``__slots__`` keeps it ~200 bytes + strings)."""

    __slots__ = (
        "call_id",
        "contact",
        "cseq",
        "expires_at",
        "instance_id",
        "key",
        "q",
        "reg_id",
        "registered_at",
        "source_host",
        "source_port",
        "transport",
        "user_agent",
    )

    def __init__(
        self,
        key: str,
        contact: str,
        expires_at: float,
        q: float,
        call_id: str,
        cseq: int,
        source_host: str | None,
        source_port: int | None,
        transport: str | None,
        instance_id: str | None,
        reg_id: int | None,
        user_agent: str | None,
        registered_at: float,
    ) -> None:
        self.key = key
        self.contact = contact
        self.expires_at = expires_at
        self.q = q
        self.call_id = call_id
        self.cseq = cseq
        self.source_host = source_host
        self.source_port = source_port
        self.transport = transport
        self.instance_id = instance_id
        self.reg_id = reg_id
        self.user_agent = user_agent
        self.registered_at = registered_at

    def view(self, now: float) -> RegisteredContact:
        return RegisteredContact(
            uri=self.contact,
            expires=max(0, math.ceil(self.expires_at - now)),
            q=self.q,
            call_id=self.call_id,
            cseq=self.cseq,
            source_host=self.source_host,
            source_port=self.source_port,
            transport=self.transport,
            instance_id=self.instance_id,
            reg_id=self.reg_id,
            user_agent=self.user_agent,
        )


@dataclass(frozen=True, slots=True)
class RegisteredContact:
    """A snapshot of a binding, with ``expires`` = seconds remaining (for the 200 OK)."""

    uri: str
    expires: int
    q: float
    call_id: str
    cseq: int
    source_host: str | None
    source_port: int | None
    transport: str | None
    instance_id: str | None
    reg_id: int | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class BindingEvent:
    """Something happened to a binding of ``aor`` at time ``at``."""

    kind: EventKind
    aor: str
    contact: RegisteredContact
    at: float


@dataclass(frozen=True, slots=True)
class RegisterResult:
    """Outcome of a REGISTER: all current contacts (ordered) and what changed."""

    contacts: tuple[RegisteredContact, ...]
    events: tuple[BindingEvent, ...]


_HOST_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?:(?P<user>[^@]*)@)?(?P<rest>.*)$")


def default_contact_key(uri: str) -> str:
    """A comparison key for a Contact URI: no ``<>``, scheme and host lower-cased.

    A simplified RFC 3261 §19.1.4 equality (parameters compared as written);
    pass a stricter ``contact_key`` to :class:`LocationService` if needed.
    """
    u = uri.strip()
    if u.startswith("<") and u.endswith(">"):
        u = u[1:-1].strip()
    m = _HOST_RE.match(u)
    if m is None:
        return u
    rest = m["rest"]
    cut = min((i for i in (rest.find(";"), rest.find("?")) if i >= 0), default=len(rest))
    user = f"{m['user']}@" if m["user"] is not None else ""
    return f"{m['scheme'].lower()}:{user}{rest[:cut].lower()}{rest[cut:]}"


def _ordered(bindings: Iterable[Binding]) -> list[Binding]:
    return sorted(bindings, key=lambda b: (-b.q, -b.registered_at))


class LocationService:
    """Bindings per address-of-record, RFC 3261 §10.3 rules, clock injected.

    ``on_event`` (and callbacks added with :meth:`subscribe`) receive every
    :class:`BindingEvent`. Expired bindings are never returned; they are
    removed (with an ``expired`` event) by :meth:`purge_expired` or lazily
    when their AOR is next touched.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        min_expires: int = 60,
        max_expires: int = 3600,
        default_expires: int = 3600,
        max_contacts: int = 10,
        on_event: Callable[[BindingEvent], None] | None = None,
        contact_key: Callable[[str], str] = default_contact_key,
    ) -> None:
        if not 0 < min_expires <= default_expires <= max_expires:
            raise ValueError("need 0 < min_expires <= default_expires <= max_expires")
        self._clock = clock
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.default_expires = default_expires
        self.max_contacts = max_contacts
        self._key = contact_key
        self._aors: dict[str, dict[str, Binding]] = {}
        self._subs: list[Callable[[BindingEvent], None]] = [on_event] if on_event else []

    # -- events -------------------------------------------------------------
    def subscribe(self, callback: Callable[[BindingEvent], None]) -> Callable[[], None]:
        """Add an event callback; returns a function that removes it."""
        self._subs.append(callback)
        return lambda: self._subs.remove(callback) if callback in self._subs else None

    def _emit(self, events: list[BindingEvent]) -> None:
        for e in events:
            for cb in list(self._subs):
                cb(e)

    # -- queries ------------------------------------------------------------
    def contacts(self, aor: str) -> list[RegisteredContact]:
        """Live contacts of ``aor``, highest q first, then most recently registered."""
        now = self._clock()
        table = self._aors.get(aor, {})
        return [b.view(now) for b in _ordered(table.values()) if b.expires_at > now]

    def aors(self) -> list[str]:
        """Addresses-of-record with at least one stored binding."""
        return list(self._aors)

    def __len__(self) -> int:
        """Number of stored bindings (including expired ones not yet purged)."""
        return sum(len(t) for t in self._aors.values())

    def next_expiry(self) -> float | None:
        """Earliest ``expires_at`` of any binding: when to call :meth:`purge_expired`."""
        return min((b.expires_at for t in self._aors.values() for b in t.values()), default=None)

    # -- maintenance --------------------------------------------------------
    def _purge_aor(self, aor: str, now: float) -> list[BindingEvent]:
        table = self._aors.get(aor)
        if not table:
            return []
        events = []
        for key in [k for k, b in table.items() if b.expires_at <= now]:
            b = table.pop(key)
            events.append(BindingEvent("expired", aor, b.view(now), now))
        if not table:
            del self._aors[aor]
        return events

    def purge_expired(self) -> list[BindingEvent]:
        """Drop every expired binding; returns (and emits) the ``expired`` events."""
        now = self._clock()
        events: list[BindingEvent] = []
        for aor in list(self._aors):
            events += self._purge_aor(aor, now)
        self._emit(events)
        return events

    # -- REGISTER -----------------------------------------------------------
    def register(
        self,
        aor: str,
        contacts: Sequence[ContactSpec] | Literal["*"],
        call_id: str,
        cseq: int,
        *,
        expires: int | None = None,
        source_host: str | None = None,
        source_port: int | None = None,
        transport: str | None = None,
        user_agent: str | None = None,
    ) -> RegisterResult:
        """Apply one REGISTER (RFC 3261 §10.3 steps 6–8) atomically.

        ``contacts`` empty = query; ``"*"`` = remove all (needs ``expires=0``).
        ``expires`` is the Expires header. Raises :class:`RegistrarError`
        and changes nothing when the request must be refused.
        """
        now = self._clock()
        events = self._purge_aor(aor, now)
        table = self._aors.get(aor, {})
        try:
            if isinstance(contacts, str):
                if contacts != "*":
                    raise TypeError("contacts must be a sequence of ContactSpec or '*'")
                events += self._remove_all(aor, table, call_id, cseq, expires, now)
            elif contacts:
                events += self._update(
                    aor, table, contacts, call_id, cseq, expires, now,
                    (source_host, source_port, transport, user_agent),
                )  # fmt: skip
        finally:
            self._emit(events)
        return RegisterResult(tuple(self.contacts(aor)), tuple(events))

    def _check_order(self, b: Binding, call_id: str, cseq: int) -> None:
        if b.call_id == call_id and cseq <= b.cseq:
            raise RegistrarError(500, "Out of order REGISTER (CSeq not higher)")

    def _remove_all(
        self,
        aor: str,
        table: dict[str, Binding],
        call_id: str,
        cseq: int,
        expires: int | None,
        now: float,
    ) -> list[BindingEvent]:
        if expires != 0:
            raise RegistrarError(400, "Contact: * requires Expires: 0")
        for b in table.values():
            self._check_order(b, call_id, cseq)
        events = [BindingEvent("unregistered", aor, b.view(now), now) for b in table.values()]
        self._aors.pop(aor, None)
        return events

    def _update(
        self,
        aor: str,
        table: dict[str, Binding],
        contacts: Sequence[ContactSpec],
        call_id: str,
        cseq: int,
        expires: int | None,
        now: float,
        meta: tuple[str | None, int | None, str | None, str | None],
    ) -> list[BindingEvent]:
        plan: list[tuple[str, ContactSpec, int]] = []
        for spec in contacts:
            e = spec.expires if spec.expires is not None else expires
            e = self.default_expires if e is None else e
            if e < 0:
                raise RegistrarError(400, "Negative expires")
            if 0 < e < self.min_expires:
                raise RegistrarError(423, "Interval Too Brief", min_expires=self.min_expires)
            if spec.q is not None and not 0.0 <= spec.q <= 1.0:
                raise RegistrarError(400, "q must be between 0 and 1")
            if spec.instance_id is not None and spec.reg_id is not None:
                key = f"\x00{spec.instance_id}\x00{spec.reg_id}"
            else:
                key = self._key(spec.uri)
            existing = table.get(key)
            if existing is not None:
                self._check_order(existing, call_id, cseq)
            plan.append((key, spec, min(e, self.max_expires)))
        final = {k for k in table}
        for key, _spec, e in plan:
            (final.add if e > 0 else final.discard)(key)
        if len(final) > self.max_contacts and len(final) > len(table):
            raise RegistrarError(503, f"Too many contacts (max {self.max_contacts})")

        events: list[BindingEvent] = []
        table = self._aors.setdefault(aor, table)
        host, port, transport, ua = meta
        # shared across thousands of bindings: keep one copy of each
        transport = sys.intern(transport) if transport else transport
        ua = sys.intern(ua) if ua else ua
        for key, spec, e in plan:
            old = table.get(key)
            if e == 0:
                if old is not None:
                    del table[key]
                    events.append(BindingEvent("unregistered", aor, old.view(now), now))
                continue
            q = spec.q if spec.q is not None else (old.q if old is not None else 1.0)
            b = Binding(
                key, spec.uri, now + e, q, call_id, cseq, host, port, transport,
                spec.instance_id, spec.reg_id, ua,
                old.registered_at if old is not None else now,
            )  # fmt: skip
            table[key] = b
            kind: EventKind = "refreshed" if old is not None else "registered"
            events.append(BindingEvent(kind, aor, b.view(now), now))
        if not table:
            self._aors.pop(aor, None)
        return events

    def unregister(self, aor: str, contact: str, call_id: str, cseq: int) -> RegisterResult:
        """Remove one contact (a REGISTER with that contact and ``expires=0``)."""
        return self.register(aor, [ContactSpec(contact, expires=0)], call_id, cseq)


# ---------------------------------------------------------------------------
# accounts


class AccountError(ValueError):
    """A bad account file or ``--account`` string; ``line`` is 1-based (0 = unknown)."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Account:
    """A SIP account: the extension callers dial and the digest username/password."""

    extension: str
    username: str
    password: str
    display_name: str | None = None


_FIELDS = {"extension", "username", "password", "display_name"}


def _account_from(data: Any, source: str, line: int) -> Account:
    if not isinstance(data, dict):
        raise AccountError(source, line, "an account must be a table/mapping")
    unknown = set(data) - _FIELDS
    if unknown:
        raise AccountError(source, line, f"unknown field(s): {', '.join(sorted(unknown))}")
    values: dict[str, str | None] = {}
    for name in ("extension", "username", "password", "display_name"):
        v = data.get(name)
        if v is None:
            if name != "display_name":
                raise AccountError(source, line, f"missing {name!r}")
            values[name] = None
            continue
        if isinstance(v, bool) or not isinstance(v, str | int):
            raise AccountError(source, line, f"{name!r} must be a string")
        v = str(v)
        if not v and name != "display_name":
            raise AccountError(source, line, f"empty {name!r}")
        values[name] = v
    return Account(
        values["extension"] or "",
        values["username"] or "",
        values["password"] or "",
        values["display_name"],
    )


class AccountBook:
    """Accounts indexed by username and extension (both unique).

    :meth:`password` is a ready credentials lookup for
    :class:`callcore.sip.auth.DigestChallenger`.
    """

    __slots__ = ("_by_ext", "_by_user")

    def __init__(self, accounts: Iterable[Account] = ()) -> None:
        self._by_user: dict[str, Account] = {}
        self._by_ext: dict[str, Account] = {}
        for a in accounts:
            self.add(a)

    def add(self, account: Account) -> None:
        if account.username in self._by_user:
            raise ValueError(f"duplicate username {account.username!r}")
        if account.extension in self._by_ext:
            raise ValueError(f"duplicate extension {account.extension!r}")
        self._by_user[account.username] = account
        self._by_ext[account.extension] = account

    def get(self, username: str) -> Account | None:
        return self._by_user.get(username)

    def by_extension(self, extension: str) -> Account | None:
        return self._by_ext.get(extension)

    def password(self, username: str) -> str | None:
        a = self._by_user.get(username)
        return a.password if a else None

    def __iter__(self) -> Iterator[Account]:
        return iter(self._by_user.values())

    def __len__(self) -> int:
        return len(self._by_user)

    def __contains__(self, username: object) -> bool:
        return username in self._by_user

    # -- loaders ------------------------------------------------------------
    @classmethod
    def _build(cls, items: Iterable[tuple[Account, int]], source: str) -> AccountBook:
        book = cls()
        for acc, line in items:
            try:
                book.add(acc)
            except ValueError as e:
                raise AccountError(source, line, str(e)) from None
        return book

    @classmethod
    def from_strings(cls, specs: Iterable[str], source: str = "--account") -> AccountBook:
        """From ``EXT:USER:PASSWORD`` strings (the password may contain ``:``)."""
        items = []
        for i, spec in enumerate(specs, 1):
            parts = spec.split(":", 2)
            if len(parts) != 3 or not all(parts):
                raise AccountError(source, i, f"expected EXT:USER:PASSWORD, got {spec!r}")
            items.append((Account(*parts), i))
        return cls._build(items, source)

    @classmethod
    def from_toml(cls, text: str, source: str = "<toml>") -> AccountBook:
        """From ``[[accounts]]`` tables."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            m = re.search(r"line (\d+)", str(e))
            raise AccountError(source, int(m[1]) if m else 0, str(e)) from None
        lines = [
            n for n, ln in enumerate(text.splitlines(), 1)
            if re.match(r"\s*\[\[\s*accounts\s*\]\]", ln)
        ]  # fmt: skip
        accounts = data.get("accounts", [])
        if not isinstance(accounts, list):
            raise AccountError(source, 0, "'accounts' must be an array of tables")
        items = []
        for i, entry in enumerate(accounts):
            line = lines[i] if i < len(lines) else 0
            items.append((_account_from(entry, source, line), line))
        return cls._build(items, source)

    @classmethod
    def from_yaml(cls, text: str, source: str = "<yaml>") -> AccountBook:
        """From ``accounts:`` (a list of mappings) or a top-level list."""
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise AccountError(source, mark.line + 1 if mark else 0, str(e)) from None
        if data is None:
            return cls()
        if isinstance(data, dict):
            data = data.get("accounts", [])
            node = next(
                (v for k, v in node.value if getattr(k, "value", None) == "accounts"), None
            )  # fmt: skip
        if not isinstance(data, list):
            raise AccountError(source, 1, "'accounts' must be a list")
        marks = [n.start_mark.line + 1 for n in node.value] if node is not None else []
        items = []
        for i, entry in enumerate(data):
            line = marks[i] if i < len(marks) else 0
            items.append((_account_from(entry, source, line), line))
        return cls._build(items, source)

    @classmethod
    def load(cls, path: str | Path) -> AccountBook:
        """From a ``.toml`` or ``.yaml``/``.yml`` file."""
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".toml":
            return cls.from_toml(text, str(p))
        if p.suffix.lower() in (".yaml", ".yml"):
            return cls.from_yaml(text, str(p))
        raise AccountError(str(p), 0, "unknown file type (use .toml, .yaml or .yml)")
