"""The dial gate: may this number be called now, and if not, why and when?

Sans-IO: every method takes ``now`` (epoch seconds); nothing reads a clock.

* :class:`ComplianceConfig` — every limit in one frozen object. The abandon-rate
  cap, the 2-second connect rule, the minimum ring time and the default daily
  calling hours come from the pacing layer's
  :class:`~callcore.pacing.compliance.ComplianceRules` (held as ``config.rules``),
  so the dialer and the pacing policy read the same numbers.
* :class:`~callcore.outbound.dnc.DoNotCallList` (:mod:`~callcore.outbound.dnc`),
  :class:`~callcore.outbound.consent.ConsentRegistry`
  (:mod:`~callcore.outbound.consent`) — who must not be called, who agreed to
  what; re-exported here.
* :class:`DialGate` — ``check()`` returns a :class:`Decision`; every refusal goes
  to the :class:`~callcore.outbound.audit.AuditTrail`. Callee-local calling
  windows and quiet hours are computed in :mod:`~callcore.outbound.windows`, the
  callee's zones come from :mod:`~callcore.outbound.regions`.

Rules, in the order a refusal reports them (stable identifiers in :data:`RULES`):
``opted_out``, ``dnc``, ``no_consent`` (permanent until the data change:
``retry_at`` is ``None``); ``calling_window``, ``quiet_hours``, ``abandon_72h``,
``cap_after_conversation``, ``cap_7d``, ``cap_daily`` (time-bound: ``retry_at`` is
the earliest instant at which *all* of these pass together, found by advancing
through each rule's own "blocked until" in turn). ``abandon_rate`` is enforced by
the pacing layer (:class:`~callcore.pacing.compliance.ComplianceGuard`); the gate
only audits it via :meth:`DialGate.audit_pacing_refusal`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from callcore.center.hours import DAYS
from callcore.pacing.compliance import ComplianceRules

from .audit import AuditEntry, AuditTrail
from .consent import ConsentEvent, ConsentRegistry
from .dnc import DncEntry, DncLoadReport, DoNotCallList
from .regions import PrefixTimezones, check_zone, to_e164
from .windows import (
    CallingWindows,
    Window,
    WindowKind,
    local_day,
    outside_quiet_hours,
    seconds_to_hhmm,
    sorted_windows,
    to_minutes,
)

__all__ = [
    "OUTCOME_ABANDONED",
    "OUTCOME_RIGHT_PARTY",
    "PURPOSES",
    "QUIET_HOURS_CONSENT",
    "RULES",
    "ComplianceConfig",
    "ConsentEvent",
    "ConsentRegistry",
    "Decision",
    "DialGate",
    "DncEntry",
    "DncLoadReport",
    "DoNotCallList",
]

HOUR = 3600.0
DAY = 86_400.0
PURPOSES = ("collections", "telesales", "service")
#: Consent purpose that lifts the collections quiet hours for a debtor.
QUIET_HOURS_CONSENT = "quiet_hours"
RULES = (
    "dnc",
    "no_consent",
    "opted_out",
    "calling_window",
    "quiet_hours",
    "cap_daily",
    "cap_7d",
    "cap_after_conversation",
    "abandon_72h",
    "abandon_rate",
)
OUTCOME_ABANDONED = "abandoned"  #: starts the no-redial period for the number
OUTCOME_RIGHT_PARTY = "right_party"  #: a conversation with the debtor; starts the quiet week
SCOPES = ("debt", "customer", "number")


def _purposes(value: Iterable[str] | None, name: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        raise ValueError(f"{name} must be a set of purposes, not the string {value!r}")
    return frozenset(value)


@dataclass(frozen=True, slots=True)
class ComplianceConfig:
    """Every number the gate and the dialer enforce. Defaults: see ``docs/outbound-compliance.md``.

    * ``rules`` — abandon cap, connect window (2 s), minimum ring (15 s) and the
      default daily calling hours (08:00–21:00), shared with the pacing layer.
    * ``weekly`` — calling windows per weekday (``"mon"``..``"sun"`` → ``[("08:00",
      "21:00")]``), callee local time; a day left out has no calls. ``None``: every
      day uses ``rules.calling_hours``.
    * ``holidays`` — date → windows that replace the day's (empty = no calls).
    * ``quiet_hours`` — ``(start, end)`` local, may span midnight; no calls for
      ``quiet_hours_purposes`` then unless the callee gave :data:`QUIET_HOURS_CONSENT`.
    * ``consent_required`` — purposes that need a recorded consent.
    * ``dnc_exempt_purposes`` — purposes the DNC list does not apply to (opt-outs
      always apply).
    * ``cap_purposes`` — purposes the attempt caps apply to (``None`` = all).
    * ``max_attempts_7d`` per ``attempts_scope`` in a rolling ``attempts_window``;
      ``max_attempts_daily`` per ``daily_scope`` per callee-local calendar day;
      ``after_conversation`` seconds of silence after a right-party conversation
      (per debt); ``abandon_redial_gap`` seconds before redialling a number that got
      an abandoned call. ``None`` switches a rule off.
    """

    rules: ComplianceRules = field(default_factory=ComplianceRules)
    weekly: Mapping[str, Sequence[Window]] | None = None
    holidays: Mapping[dt.date, Sequence[Window]] = field(default_factory=dict)
    quiet_hours: Window | None = ("22:00", "08:00")
    quiet_hours_purposes: frozenset[str] = frozenset({"collections"})
    consent_required: frozenset[str] = frozenset({"telesales"})
    dnc_exempt_purposes: frozenset[str] = frozenset()
    cap_purposes: frozenset[str] | None = frozenset({"collections"})
    max_attempts_7d: int | None = 7
    attempts_window: float = 7 * DAY
    attempts_scope: str = "debt"
    max_attempts_daily: int | None = 6
    daily_scope: str = "customer"
    after_conversation: float | None = 7 * DAY
    abandon_redial_gap: float | None = 72 * HOUR

    def __post_init__(self) -> None:
        put = object.__setattr__
        if self.weekly is None:
            default = tuple(
                (seconds_to_hhmm(a, "calling_hours"), seconds_to_hhmm(b, "calling_hours"))
                for a, b in self.rules.calling_hours
            )
            weekly = {d: sorted_windows(default, "rules.calling_hours") for d in DAYS}
        else:
            bad = set(self.weekly) - set(DAYS)
            if bad:
                raise ValueError(f"unknown weekday(s) {sorted(bad)}; use {DAYS}")
            weekly = {d: sorted_windows(self.weekly.get(d, ()), f"weekly[{d}]") for d in DAYS}
        put(self, "weekly", MappingProxyType(weekly))
        hol = {}
        for day, ranges in self.holidays.items():
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                raise ValueError(f"holiday key {day!r} must be a datetime.date")
            hol[day] = sorted_windows(ranges, f"holidays[{day}]")
        put(self, "holidays", MappingProxyType(hol))
        if self.quiet_hours is not None:
            a, b = self.quiet_hours
            if to_minutes(a) == to_minutes(b):
                raise ValueError("quiet_hours start and end must differ")
            put(self, "quiet_hours", (a, b))
        for name in ("quiet_hours_purposes", "consent_required", "dnc_exempt_purposes"):
            put(self, name, _purposes(getattr(self, name), name))
        put(self, "cap_purposes", _purposes(self.cap_purposes, "cap_purposes"))
        for name in ("max_attempts_7d", "max_attempts_daily"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ValueError(f"{name} must be a positive integer or None, not {v!r}")
        if not self.attempts_window > 0:
            raise ValueError("attempts_window must be > 0 seconds")
        for name in ("after_conversation", "abandon_redial_gap"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"{name} must be > 0 seconds or None, not {v!r}")
        for name in ("attempts_scope", "daily_scope"):
            if getattr(self, name) not in SCOPES:
                raise ValueError(f"{name} must be one of {SCOPES}")

    @property
    def min_ring(self) -> float:
        """Seconds a call must ring before the dialer gives up (``rules.min_ring``)."""
        return self.rules.min_ring

    @property
    def connect_window(self) -> float:
        """Seconds after answer within which an agent must be connected."""
        return self.rules.connect_window

    @property
    def abandon_cap(self) -> float:
        """Abandoned share of live answers the pacing layer keeps under."""
        return self.rules.abandon_cap

    def quiet_allowed(self) -> tuple[Window, ...]:
        """The complement of ``quiet_hours`` within a day (when quiet-hours calls are fine)."""
        return outside_quiet_hours(self.quiet_hours)


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer. ``rule`` is empty when allowed; ``retry_at`` is the earliest
    epoch time the attempt could pass, ``None`` when only a data change can help."""

    allowed: bool
    reason: str
    rule: str
    retry_at: float | None = None


_ALLOWED = Decision(True, "allowed", "", None)


# -------------------------------------------------------------------------- gate


@dataclass(frozen=True, slots=True)
class _Ask:
    number: str
    now: float
    purpose: str
    customer_id: str | None
    debt_id: str | None
    zones: tuple[str, ...]
    agent_reserved: bool
    quiet_consent: bool
    campaign: str | None
    record_id: str | None


def _id(v: Any) -> str | None:
    return None if v is None else str(v)


def _fmt(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class DialGate:
    """Decides, per prospective attempt, whether it may be dialled now.

    Feed it what happened with :meth:`record_attempt` (and :meth:`opt_out`); ask
    with :meth:`check` (audits refusals) or :meth:`evaluate` (same answer, no
    audit: for planners and best-time searches). ``default_country`` lets
    national-format numbers in.
    """

    MAX_RETRY_STEPS = 512

    def __init__(
        self,
        config: ComplianceConfig | None = None,
        *,
        audit: AuditTrail | None = None,
        dnc: DoNotCallList | None = None,
        consent: ConsentRegistry | None = None,
        regions: PrefixTimezones | None = None,
        default_country: str | None = None,
        prune_every: float = HOUR,
    ) -> None:
        self.config = config or ComplianceConfig()
        self.audit = audit if audit is not None else AuditTrail()
        self.dnc = dnc if dnc is not None else DoNotCallList(default_country=default_country)
        self.consent = (
            consent if consent is not None else ConsentRegistry(default_country=default_country)
        )
        self.regions = regions or PrefixTimezones()
        self.default_country = default_country
        self.prune_every = prune_every
        c = self.config
        self._windows = CallingWindows(c.weekly, c.holidays, c.quiet_hours)
        self._attempts: dict[tuple[str, str], list[float]] = {}
        self._conversations: dict[tuple[str, str], float] = {}
        self._abandoned: dict[str, float] = {}
        self._last_prune = -math.inf

    # ------------------------------------------------------------------ inputs

    def record_attempt(
        self,
        number: str,
        customer_id: Any,
        debt_id: Any,
        now: float,
        outcome: str = "attempt",
    ) -> None:
        """Count a dial attempt (for the caps). ``outcome`` :data:`OUTCOME_ABANDONED`
        starts the no-redial gap for the number; :data:`OUTCOME_RIGHT_PARTY` (or
        ``"conversation"``) starts the after-conversation silence for the debt."""
        n = to_e164(number, self.default_country)
        keys = self._keys(n, _id(customer_id), _id(debt_id))
        for k in keys:
            bisect.insort(self._attempts.setdefault(k, []), float(now))
        if outcome == OUTCOME_ABANDONED:
            self._abandoned[n] = max(self._abandoned.get(n, -math.inf), float(now))
        elif outcome in (OUTCOME_RIGHT_PARTY, "conversation"):
            for k in keys:
                self._conversations[k] = max(self._conversations.get(k, -math.inf), float(now))
        if now - self._last_prune >= self.prune_every:
            self.prune(now)

    def opt_out(
        self,
        number: str,
        now: float,
        via: str = "dtmf",
        *,
        campaign: str | None = None,
        customer_id: Any = None,
        debt_id: Any = None,
        record_id: Any = None,
        purpose: str | None = None,
    ) -> DncEntry:
        """The callee asked not to be called again: list the number and audit it."""
        entry = self.dnc.add(number, now=now, source=via, opt_out=True)
        self.audit.record(
            AuditEntry(
                time=now,
                number=entry.number,
                customer_id=_id(customer_id),
                debt_id=_id(debt_id),
                campaign=campaign,
                record_id=_id(record_id),
                purpose=purpose,
                decision="opt_out",
                rule="opted_out",
                reason=f"opted out via {via}",
            )
        )
        return entry

    def audit_pacing_refusal(
        self,
        *,
        now: float,
        campaign: str | None,
        reason: str = "abandon-rate cap reached",
        number: str | None = None,
        customer_id: Any = None,
        debt_id: Any = None,
        record_id: Any = None,
        purpose: str | None = None,
    ) -> None:
        """Audit a call the pacing layer held back for the abandon-rate cap."""
        n = to_e164(number, self.default_country) if number is not None else None
        self.audit.record(
            AuditEntry(
                time=now,
                number=n,
                customer_id=_id(customer_id),
                debt_id=_id(debt_id),
                campaign=campaign,
                record_id=_id(record_id),
                purpose=purpose,
                decision="refused",
                rule="abandon_rate",
                reason=reason,
            )
        )

    # ------------------------------------------------------------------ questions

    def zones_for(self, number: str, tz: str | None = None) -> tuple[str, ...]:
        """Zones whose local time governs ``number``: ``(tz,)``, the table's zone, or
        every zone of its country (unknown area: most restrictive); ``()`` if unknown."""
        if tz is not None:
            return (check_zone(tz),)
        return self.regions.zones_for(to_e164(number, self.default_country))

    def check(
        self,
        number: str,
        *,
        now: float,
        purpose: str,
        customer_id: Any = None,
        debt_id: Any = None,
        tz: str | None = None,
        agent_reserved: bool = False,
        campaign: str | None = None,
        record_id: Any = None,
    ) -> Decision:
        """Decide one attempt and audit it (refusals always, permissions if the
        trail's ``audit_allowed``). Raises :class:`ValueError` for an unreadable number."""
        ask = self._ask(
            number, now, purpose, customer_id, debt_id, tz, agent_reserved, campaign, record_id
        )
        d = self._decide(ask)
        if not d.allowed or self.audit.audit_allowed:
            self.audit.record(
                AuditEntry(
                    time=now,
                    number=ask.number,
                    customer_id=ask.customer_id,
                    debt_id=ask.debt_id,
                    campaign=campaign,
                    record_id=ask.record_id,
                    purpose=purpose,
                    decision="allowed" if d.allowed else "refused",
                    rule=d.rule,
                    reason=d.reason,
                )
            )
        return d

    def evaluate(
        self,
        number: str,
        *,
        now: float,
        purpose: str,
        customer_id: Any = None,
        debt_id: Any = None,
        tz: str | None = None,
        agent_reserved: bool = False,
    ) -> Decision:
        """The answer :meth:`check` would give at ``now``, without auditing it."""
        return self._decide(
            self._ask(number, now, purpose, customer_id, debt_id, tz, agent_reserved, None, None)
        )

    # ------------------------------------------------------------------ state

    def prune(self, now: float) -> int:
        """Forget history no rule can still use; returns how many items went."""
        c = self.config
        keep = max(c.attempts_window if c.max_attempts_7d else 0.0, 2 * DAY)
        gone = 0
        for k in list(self._attempts):
            ts = self._attempts[k]
            i = bisect.bisect_right(ts, now - keep)
            gone += i
            del ts[:i]
            if not ts:
                del self._attempts[k]
        conv = c.after_conversation or 0.0
        for k in [k for k, t in self._conversations.items() if t + conv <= now]:
            del self._conversations[k]
            gone += 1
        gap = c.abandon_redial_gap or 0.0
        for n in [n for n, t in self._abandoned.items() if t + gap <= now]:
            del self._abandoned[n]
            gone += 1
        self._last_prune = now
        return gone

    def history_size(self) -> int:
        """Attempt timestamps plus conversation and abandon markers held in memory."""
        return (
            sum(map(len, self._attempts.values())) + len(self._conversations) + len(self._abandoned)
        )

    # ------------------------------------------------------------------ internals

    def _ask(
        self, number, now, purpose, customer_id, debt_id, tz, agent_reserved, campaign, record_id
    ) -> _Ask:
        if not purpose or not isinstance(purpose, str):
            raise ValueError("purpose must be a non-empty string, e.g. 'collections'")
        n = to_e164(number, self.default_country)
        cid = _id(customer_id)
        quiet_ok = self.consent.has_consent(QUIET_HOURS_CONSENT, at=now, number=n, customer_id=cid)
        return _Ask(
            number=n,
            now=float(now),
            purpose=purpose,
            customer_id=cid,
            debt_id=_id(debt_id),
            zones=self.zones_for(n, tz),
            agent_reserved=agent_reserved,
            quiet_consent=quiet_ok,
            campaign=campaign,
            record_id=_id(record_id),
        )

    @staticmethod
    def _keys(n: str, cid: str | None, did: str | None) -> list[tuple[str, str]]:
        keys = [("number", n)]
        if cid is not None:
            keys.append(("customer", cid))
        if did is not None:
            keys.append(("debt", did))
        return keys

    @staticmethod
    def _key(scope: str, ask: _Ask) -> tuple[str, str]:
        if scope == "debt" and ask.debt_id is not None:
            return ("debt", ask.debt_id)
        if scope in ("debt", "customer") and ask.customer_id is not None:
            return ("customer", ask.customer_id)
        return ("number", ask.number)

    def _decide(self, ask: _Ask) -> Decision:
        c = self.config
        entry = self.dnc.get(ask.number)
        if entry is not None and entry.opt_out:
            why = f"callee opted out via {entry.source} at {_fmt(entry.time)}"
            return Decision(False, why, "opted_out")
        if entry is not None and ask.purpose not in c.dnc_exempt_purposes:
            return Decision(False, f"on do-not-call list ({entry.source})", "dnc")
        if ask.purpose in c.consent_required and not self.consent.has_consent(
            ask.purpose, at=ask.now, number=ask.number, customer_id=ask.customer_id
        ):
            return Decision(False, f"no consent on record for {ask.purpose}", "no_consent")
        if not ask.zones:
            why = "callee time zone unknown and country not in the region table"
            return Decision(False, why, "calling_window")
        timed = self._timed_rules(ask)
        for rule, fn in timed:
            hit = fn(ask.now)
            if hit is not None:
                return Decision(False, hit[0], rule, self._retry_at(timed, ask.now))
        return _ALLOWED

    def _retry_at(self, timed, t: float) -> float | None:
        for _ in range(self.MAX_RETRY_STEPS):
            moved = False
            for _rule, fn in timed:
                hit = fn(t)
                if hit is not None:
                    if math.isinf(hit[1]):
                        return None
                    t, moved = hit[1], True
            if not moved:
                return t
        return None

    def _timed_rules(self, ask: _Ask):
        c = self.config
        rules = [("calling_window", lambda t: self._closed(ask, "window", t))]
        if (
            c.quiet_hours is not None
            and ask.purpose in c.quiet_hours_purposes
            and not ask.quiet_consent
        ):
            rules.append(("quiet_hours", lambda t: self._closed(ask, "quiet", t)))
        if c.abandon_redial_gap is not None and not ask.agent_reserved:
            rules.append(("abandon_72h", lambda t: self._abandon(ask, t)))
        if c.cap_purposes is None or ask.purpose in c.cap_purposes:
            if c.after_conversation is not None:
                rules.append(("cap_after_conversation", lambda t: self._conversation(ask, t)))
            if c.max_attempts_7d is not None:
                rules.append(("cap_7d", lambda t: self._rolling(ask, t)))
            if c.max_attempts_daily is not None:
                rules.append(("cap_daily", lambda t: self._daily(ask, t)))
        return rules

    def _closed(self, ask: _Ask, kind: WindowKind, t: float) -> tuple[str, float] | None:
        return self._windows.closed(kind, ask.zones, t, ask.purpose)

    def _abandon(self, ask: _Ask, t: float) -> tuple[str, float] | None:
        a = self._abandoned.get(ask.number)
        gap = self.config.abandon_redial_gap or 0.0
        if a is not None and t < a + gap:
            return f"abandoned call at {_fmt(a)}; no redial for {gap / HOUR:g} h", a + gap
        return None

    def _conversation(self, ask: _Ask, t: float) -> tuple[str, float] | None:
        key = self._key("debt", ask)
        last = self._conversations.get(key)
        quiet = self.config.after_conversation or 0.0
        if last is not None and t < last + quiet:
            why = f"conversation ({key[0]} {key[1]}) at {_fmt(last)}; "
            why += f"no call for {quiet / DAY:g} days"
            return why, last + quiet
        return None

    def _rolling(self, ask: _Ask, t: float) -> tuple[str, float] | None:
        c = self.config
        key = self._key(c.attempts_scope, ask)
        ts = self._attempts.get(key, ())
        w, cap = c.attempts_window, c.max_attempts_7d or 0
        lo, hi = bisect.bisect_right(ts, t - w), bisect.bisect_right(ts, t)
        if hi - lo >= cap:
            why = f"{hi - lo} attempts ({key[0]} {key[1]}) in the last {w / DAY:g} days, max {cap}"
            return why, ts[hi - cap] + w
        return None

    def _daily(self, ask: _Ask, t: float) -> tuple[str, float] | None:
        c = self.config
        key = self._key(c.daily_scope, ask)
        ts = self._attempts.get(key, ())
        cap = c.max_attempts_daily or 0
        until, worst = None, 0
        for z in ask.zones:
            start, end = local_day(t, z)
            n = bisect.bisect_left(ts, end) - bisect.bisect_left(ts, start)
            if n >= cap:
                until, worst = max(until or end, end), max(worst, n)
        if until is None:
            return None
        return f"{worst} attempts ({key[0]} {key[1]}) on the callee's local day, max {cap}", until
