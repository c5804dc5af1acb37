"""Attempt bookkeeping for a campaign's contacts, sans-IO (time comes in as ``now``).

* :class:`Disposition`: what an attempt ended with (network outcome or agent wrap-up);
  ``final`` codes retire a record. Other strings are accepted as campaign-specific
  codes: not final (unless the policy lists them in ``extra_final``), retried by the
  policy's ``default`` rule unless it has a rule for them.
* :class:`RetryPolicy`: per-outcome :class:`RetryRule` s (delay, back-off factor, cap)
  plus an overall attempt cap; ``next_attempt(state, outcome, now)`` gives the next
  eligible time or None (retire).
* :class:`ContactPool`: the dialable set. ``next_ready`` hands out the best record
  that is eligible now; ``report`` books the result and schedules the retry. Records
  can be reserved for an agent or a team (``assign``) and are recycled to the common
  pool when nobody from there takes them within the hold; callbacks can be owned by
  an agent, who alone gets them from ``at`` until ``at + grace``.

Everything is heap-based: ``next_ready`` and ``report`` cost O(log n) amortized, so a
pool holds millions of records. Ties are broken by source line, then by the order
records were added, so runs are reproducible.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from .lists import ContactRecord

__all__ = [
    "DEFAULT_RULES",
    "ContactPool",
    "Disposition",
    "PoolStats",
    "RecordState",
    "RetryPolicy",
    "RetryRule",
    "as_code",
]

HOUR = 3600.0
Status = Literal["waiting", "ready", "dialing", "retired"]
Priority = Callable[[ContactRecord, "RecordState"], float]
Code = str  #: a Disposition, or a campaign-specific result code


class Disposition(StrEnum):
    """Result codes: network outcomes (busy, no_answer, machine, …) and agent wrap-ups."""

    PROMISE_TO_PAY = "promise_to_pay"
    PAID = "paid"
    SALE = "sale"
    NOT_INTERESTED = "not_interested"
    REFUSED = "refused"
    WRONG_NUMBER = "wrong_number"
    CALLBACK = "callback"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    MACHINE = "machine"
    FAX = "fax"
    INVALID_NUMBER = "invalid_number"
    DO_NOT_CALL = "do_not_call"
    DECEASED = "deceased"
    DISPUTE = "dispute"
    LEFT_MESSAGE = "left_message"
    ABANDONED = "abandoned"
    NETWORK_FAILURE = "network_failure"
    COMPLETED = "completed"

    @property
    def final(self) -> bool:
        """True when the record must not be dialed again."""
        return self in _FINAL


D = Disposition
_FINAL = frozenset(
    {
        D.PAID, D.SALE, D.NOT_INTERESTED, D.REFUSED, D.WRONG_NUMBER, D.FAX,
        D.INVALID_NUMBER, D.DO_NOT_CALL, D.DECEASED, D.DISPUTE, D.COMPLETED,
    }
)  # fmt: skip


def as_code(value: str) -> Code:
    """``value`` as a :class:`Disposition` when it is one, else the plain string."""
    try:
        return Disposition(value)
    except ValueError:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"result code must be a non-empty string, not {value!r}") from None
        return value.strip()


@dataclass(frozen=True, slots=True)
class RetryRule:
    """Retry ``delay_s × backoff_factor**(k-1)`` after the k-th result with this code;
    retire after ``max_attempts`` of them (None: only the policy's overall cap)."""

    delay_s: float
    backoff_factor: float = 1.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.delay_s < 0 or self.backoff_factor <= 0:
            raise ValueError("delay_s must be >= 0 and backoff_factor > 0")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1 (or None)")


DEFAULT_RULES: Mapping[Disposition, RetryRule] = MappingProxyType(
    {
        D.BUSY: RetryRule(5 * 60, 2.0, 5),
        D.NO_ANSWER: RetryRule(HOUR, 1.5, 6),
        D.MACHINE: RetryRule(2 * HOUR, 1.0, 4),
        D.NETWORK_FAILURE: RetryRule(2 * 60, 1.0, 3),
        D.ABANDONED: RetryRule(72 * HOUR, 1.0, 3),  # Ofcom: no repeat within 72 h
        D.LEFT_MESSAGE: RetryRule(24 * HOUR, 1.0, 3),
        D.CALLBACK: RetryRule(HOUR),  # when no explicit callback time was booked
        D.PROMISE_TO_PAY: RetryRule(72 * HOUR),  # follow up if the money did not come
    }
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a record again. Codes without a rule use ``default``; codes in
    ``extra_final`` retire a record like the final :class:`Disposition` s do.

    Override one rule with ``RetryPolicy(rules={**DEFAULT_RULES, "busy": RetryRule(60)})``.
    """

    rules: Mapping[str, RetryRule] = field(default_factory=lambda: DEFAULT_RULES)
    max_attempts: int = 10
    default: RetryRule = RetryRule(HOUR)
    extra_final: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")

    def is_final(self, code: str) -> bool:
        """True when ``code`` retires a record."""
        return code in _FINAL or code in self.extra_final

    def next_attempt(self, state: RecordState, outcome: str, now: float) -> float | None:
        """Next eligible time after ``outcome``, or None to retire the record.

        ``state`` already includes this attempt (``attempts`` and ``history``), as
        :meth:`ContactPool.report` books it before asking.
        """
        code = as_code(outcome)
        if self.is_final(code) or state.attempts >= self.max_attempts:
            return None
        rule = self.rules.get(code, self.default)
        k = max(1, sum(1 for _, c in state.history if c == code))
        if rule.max_attempts is not None and k >= rule.max_attempts:
            return None
        return now + rule.delay_s * rule.backoff_factor ** (k - 1)


@dataclass(slots=True, eq=False)
class RecordState:
    """The pool's bookkeeping for one record (read it; let the pool change it).

    ``history`` holds ``(time, code)`` per attempt, ``code`` being the disposition when
    one was reported, else the outcome. ``next_eligible`` is None once retired.
    """

    record: ContactRecord
    status: Status = "waiting"
    attempts: int = 0
    last_outcome: Code | None = None
    last_attempt: float | None = None
    next_eligible: float | None = 0.0
    disposition: Code | None = None
    history: list[tuple[float, Code]] = field(default_factory=list)
    owner_agent: str | None = None  #: who owns the scheduled callback
    callback_at: float | None = None
    callback_until: float | None = None  #: end of the owner's exclusive window
    reserved_agent: str | None = None
    reserved_team: str | None = None
    hold_until: float | None = None  #: reservation lapses if not taken by then
    _hold_s: float = field(default=0.0, repr=False)
    _order: int = field(default=0, repr=False)
    _gen: int = field(default=0, repr=False)


@dataclass(frozen=True, slots=True)
class PoolStats:
    """Counts as of the last call that gave the pool a time."""

    total: int
    ready: int
    waiting: int
    dialing: int
    retired: int
    attempts: int
    dispositions: Mapping[str, int]


# heap entries: (tier, key, line, order, gen, state); order is unique, so tuples never
# compare past it. tier 0 = callbacks (key = callback time), 1 = others (key = -priority)
_Entry = tuple[int, float, int, int, int, RecordState]


class ContactPool:
    """The dialable records of a campaign; see the module docstring.

    ``priority(record, state)`` ranks ready records, higher first (default: all equal,
    so file order). ``hold_s`` is the default reservation hold for :meth:`assign`;
    ``callback_grace_s`` how long an owned callback waits for its owner. Methods
    without a ``now`` argument use the latest time the pool has been given.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        priority: Priority | None = None,
        hold_s: float = HOUR,
        callback_grace_s: float = 15 * 60.0,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.priority = priority
        self.hold_s = hold_s
        self.callback_grace_s = callback_grace_s
        self._states: dict[str, RecordState] = {}
        self._timers: list[tuple[float, int, int, RecordState]] = []
        self._common: list[_Entry] = []
        self._agents: dict[str, list[_Entry]] = {}
        self._teams: dict[str, list[_Entry]] = {}
        self._counts = dict.fromkeys(("waiting", "ready", "dialing", "retired"), 0)
        self._dispositions: Counter[str] = Counter()
        self._attempts = 0
        self._now = 0.0  # the latest time given to the pool

    # --- loading and reserving ---------------------------------------------------------

    def add(self, records: Iterable[ContactRecord], *, not_before: float = 0.0) -> int:
        """Add records (eligible from ``not_before``); a repeated record id raises
        ValueError before anything is added. Returns how many were added."""
        batch = list(records)
        ids: set[str] = set()
        for rec in batch:
            if rec.record_id in self._states or rec.record_id in ids:
                raise ValueError(f"record id {rec.record_id!r} is already in the pool")
            ids.add(rec.record_id)
        for rec in batch:
            st = RecordState(rec, next_eligible=not_before, _order=len(self._states))
            self._states[rec.record_id] = st
            self._counts["waiting"] += 1
            self._route(st)
        return len(batch)

    def assign(
        self,
        record_ids: Iterable[str],
        agent_id: str | None = None,
        team: str | None = None,
        hold_s: float | None = None,
        *,
        now: float | None = None,
    ) -> int:
        """Reserve records for one agent or one team. A reserved record that stays
        ready for ``hold_s`` without being taken goes back to the common pool; after
        each attempt the hold starts again from the retry time. Retired records are
        skipped; returns how many were reserved."""
        if (agent_id is None) == (team is None):
            raise ValueError("assign to exactly one of agent_id or team")
        self._advance(now)
        hold = self.hold_s if hold_s is None else hold_s
        n = 0
        for rid in record_ids:
            st = self.state(rid)
            if st.status == "retired":
                continue
            st.reserved_agent, st.reserved_team, st._hold_s = agent_id, team, hold
            st.hold_until = max(self._now, st.next_eligible or 0.0) + hold
            if st.status != "dialing":
                self._route(st)
            n += 1
        return n

    def schedule_callback(
        self,
        record_id: str,
        at: float,
        agent_id: str | None = None,
        *,
        grace_s: float | None = None,
    ) -> None:
        """Call ``record_id`` back at ``at``. With ``agent_id`` only that agent gets it
        until ``at + grace_s``; then it goes to the record's team (if reserved for one)
        or the common pool, still ahead of ordinary records. Book the attempt's result
        with :meth:`report` first; a callback can revive a record retired by attempt
        caps, not one with a final disposition."""
        st = self.state(record_id)
        if st.status == "dialing":
            raise ValueError(f"{record_id!r} is being dialed: report the attempt first")
        if st.disposition is not None and self.policy.is_final(st.disposition):
            raise ValueError(f"{record_id!r} is closed ({st.disposition}); no callback")
        grace = self.callback_grace_s if grace_s is None else grace_s
        st.callback_at, st.callback_until, st.owner_agent = at, at + grace, agent_id
        st.next_eligible = at
        self._route(st)  # also revives a record retired by the caps

    # --- dialing --------------------------------------------------------------------------

    def next_ready(
        self, now: float, *, agent_id: str | None = None, team: str | None = None
    ) -> ContactRecord | None:
        """Take the best record eligible at ``now`` for this agent/team (None if none).

        Order: due callbacks first (the agent's own, then the team's, then common ones,
        each by callback time), then records reserved for the agent, for the team, then
        the common pool, each by priority, line and insertion order. The record stays
        taken ("dialing") until :meth:`report` or :meth:`put_back`.
        """
        self._advance(now)
        heaps = (
            self._agents.get(agent_id) if agent_id is not None else None,
            self._teams.get(team) if team is not None else None,
            self._common,
        )
        best: tuple[tuple[int, int, float, int, int], list[_Entry]] | None = None
        for rank, heap in enumerate(heaps):
            top = self._peek(heap) if heap else None
            if top is not None:
                key = (top[0], rank, top[1], top[2], top[3])
                if best is None or key < best[0]:
                    best = key, heap
        if best is None:
            return None
        st = heapq.heappop(best[1])[5]
        self._set_status(st, "dialing")
        st._gen += 1  # drop its pending timer
        return st.record

    def report(
        self,
        record_id: str,
        outcome: str,
        now: float,
        disposition: str | None = None,
    ) -> float | None:
        """Book an attempt; returns the next eligible time, or None when the record is
        retired. ``outcome`` is what the network or the dialer saw (busy, machine,
        completed, …); ``disposition`` the agent's wrap-up code. When a disposition is
        given it decides (``completed`` + ``callback`` is retried), else the outcome."""
        st = self.state(record_id)
        out = as_code(outcome)
        code = as_code(disposition) if disposition is not None else out
        self._advance(now)
        st.attempts += 1
        self._attempts += 1
        st.last_outcome, st.last_attempt = out, now
        st.history.append((now, code))
        self._set_disposition(st, code)
        st.callback_at = st.callback_until = st.owner_agent = None
        if st.status == "retired":
            return None
        nxt = self.policy.next_attempt(st, code, now)
        if nxt is None:
            self._retire(st)
            return None
        st.next_eligible = nxt
        self._renew_hold(st)
        self._route(st)
        return nxt

    def put_back(self, record_id: str, now: float, *, not_before: float | None = None) -> None:
        """Return a taken record without an attempt (e.g. the callee's local time is
        outside calling hours: pass ``not_before``). It keeps its place in line."""
        st = self.state(record_id)
        if st.status != "dialing":
            raise ValueError(f"{record_id!r} is not being dialed (status {st.status})")
        self._advance(now)
        if not_before is not None:
            st.next_eligible = not_before
            self._renew_hold(st)
        self._route(st)

    def defer(self, record_id: str, until: float) -> None:
        """Make a record (taken or not) eligible again only from ``until``, without
        counting an attempt (e.g. a compliance gate said "not before 08:00 local")."""
        st = self.state(record_id)
        if st.status == "retired":
            raise ValueError(f"{record_id!r} is retired")
        st.next_eligible = until
        self._renew_hold(st)
        self._route(st)

    def retire(self, record_id: str, disposition: str = Disposition.DO_NOT_CALL) -> None:
        """Stop dialing a record without an attempt (e.g. it hit a do-not-call list)."""
        st = self.state(record_id)
        self._set_disposition(st, as_code(disposition))
        if st.status != "retired":
            self._retire(st)

    # --- looking --------------------------------------------------------------------------

    def state(self, record_id: str) -> RecordState:
        """The bookkeeping of one record (KeyError when unknown)."""
        try:
            return self._states[record_id]
        except KeyError:
            raise KeyError(f"no record {record_id!r} in the pool") from None

    def remaining(self) -> int:
        """Records not retired (ready, waiting for their time, or being dialed)."""
        return len(self._states) - self._counts["retired"]

    def stats(self, now: float | None = None) -> PoolStats:
        """Counts; with ``now``, first apply what has come due by then."""
        self._advance(now)
        c = self._counts
        return PoolStats(
            total=len(self._states),
            ready=c["ready"],
            waiting=c["waiting"],
            dialing=c["dialing"],
            retired=c["retired"],
            attempts=self._attempts,
            dispositions=MappingProxyType({k: v for k, v in self._dispositions.items() if v}),
        )

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._states

    # --- internals ------------------------------------------------------------------------

    def _advance(self, now: float | None) -> None:
        if now is not None and now > self._now:
            self._now = now
        timers = self._timers
        while timers and timers[0][0] <= self._now:
            _, _, gen, st = heapq.heappop(timers)
            if gen == st._gen:
                self._route(st)

    def _peek(self, heap: list[_Entry]) -> _Entry | None:
        while heap:
            top = heap[0]
            if top[4] == top[5]._gen:
                return top
            heapq.heappop(heap)  # stale: the record moved since this entry was pushed
        return None

    def _set_status(self, st: RecordState, status: Status) -> None:
        self._counts[st.status] -= 1
        self._counts[status] += 1
        st.status = status

    def _set_disposition(self, st: RecordState, code: str) -> None:
        if st.disposition is not None:
            self._dispositions[st.disposition] -= 1
        st.disposition = code
        self._dispositions[code] += 1

    def _retire(self, st: RecordState) -> None:
        self._set_status(st, "retired")
        st.next_eligible = None
        st.callback_at = st.callback_until = st.owner_agent = None
        st.reserved_agent = st.reserved_team = st.hold_until = None
        st._gen += 1

    def _renew_hold(self, st: RecordState) -> None:
        if st.reserved_agent is not None or st.reserved_team is not None:
            st.hold_until = max(self._now, st.next_eligible or 0.0) + st._hold_s

    def _route(self, st: RecordState) -> None:
        """Put a waiting/ready record where it belongs at the pool's current time."""
        st._gen += 1
        now, gen = self._now, st._gen
        assert st.next_eligible is not None
        if st.next_eligible > now:
            self._set_status(st, "waiting")
            heapq.heappush(self._timers, (st.next_eligible, st._order, gen, st))
            return
        self._set_status(st, "ready")
        callback = st.callback_at is not None
        if st.hold_until is not None and st.hold_until <= now:
            st.reserved_agent = st.reserved_team = st.hold_until = None  # recycled
        heap, wake = self._common, None
        if callback and st.owner_agent is not None and now < st.callback_until:  # type: ignore[operator]
            heap, wake = self._agents.setdefault(st.owner_agent, []), st.callback_until
        elif st.reserved_team is not None:
            heap, wake = self._teams.setdefault(st.reserved_team, []), st.hold_until
        elif st.reserved_agent is not None and not callback:
            heap, wake = self._agents.setdefault(st.reserved_agent, []), st.hold_until
        if callback:
            tier, key = 0, st.callback_at
        else:
            tier, key = 1, -self.priority(st.record, st) if self.priority else 0.0
        heapq.heappush(heap, (tier, key, st.record.line, st._order, gen, st))  # type: ignore[arg-type]
        if wake is not None:
            heapq.heappush(self._timers, (wake, st._order, gen, st))
