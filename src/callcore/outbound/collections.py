"""Collections strategy: which accounts to call, how, and in what order, by delinquency stage.

A :class:`Stage` covers a range of days past due (negative = before the due
date) and says how to work it: an agentless voice ``"reminder"`` (optionally
with an SMS) or an ``"agent"`` call, with a script and a priority weight.

:meth:`CollectionsStrategy.priority` is, with ``d = max(days_past_due, 0)`` and
``a = max(amount, 0)``::

    priority = weight(d) × (1 + d / 30) × (1 + ln(1 + a / amount_scale))

where ``weight(d)`` is the weight of the last stage starting at or before the
account's days past due (0 before the first stage). Stage weights must not
decrease with ``min_days``, so the priority never decreases as an account ages
or its balance grows. The compliance checks (windows, caps, consent) are the
dial gate's job, not this module's.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "CollectionsStrategy",
    "Plan",
    "PlannedCall",
    "RecordingSmsHook",
    "SmsHook",
    "Stage",
    "default_stages",
    "send_reminder_sms",
]

MODES = ("reminder", "agent")


@dataclass(frozen=True, slots=True)
class Stage:
    """Accounts ``min_days <= days_past_due <= max_days`` (``max_days=None``: no end)."""

    name: str
    min_days: int
    max_days: int | None
    mode: str = "agent"
    script: str = ""
    sms: bool = False  #: also send an SMS reminder through the :class:`SmsHook`
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"stage {self.name!r}: mode must be one of {MODES}")
        if self.max_days is not None and self.max_days < self.min_days:
            raise ValueError(f"stage {self.name!r}: max_days < min_days")
        if not self.weight >= 0:
            raise ValueError(f"stage {self.name!r}: weight must be >= 0")

    def covers(self, days_past_due: int) -> bool:
        """Whether the stage applies at ``days_past_due``."""
        return self.min_days <= days_past_due and (
            self.max_days is None or days_past_due <= self.max_days
        )


def default_stages() -> tuple[Stage, ...]:
    """The default ladder: pre-due reminder (−3…−1 days, voice + SMS), due day (0),
    early (1–30), mid (31–60), late (61+), weights 0.5, 1, 1, 2, 3."""
    return (
        Stage("pre_due", -3, -1, "reminder", "pre_due_reminder", sms=True, weight=0.5),
        Stage("due_day", 0, 0, "agent", "due_day", weight=1.0),
        Stage("early", 1, 30, "agent", "early_delinquency", weight=1.0),
        Stage("mid", 31, 60, "agent", "mid_delinquency", weight=2.0),
        Stage("late", 61, None, "agent", "late_delinquency", weight=3.0),
    )


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One account placed in a plan."""

    customer_id: Any
    number: str
    days_past_due: int
    amount: float
    stage: Stage
    priority: float
    account: Any = field(repr=False, compare=False, default=None)

    @property
    def script(self) -> str:
        return self.stage.script


@dataclass(frozen=True, slots=True)
class Plan:
    """Today's work: agentless reminders and agent calls, each highest priority first."""

    reminders: tuple[PlannedCall, ...]
    agent: tuple[PlannedCall, ...]
    skipped: tuple[Any, ...] = ()  #: accounts no stage covers

    @property
    def sms(self) -> tuple[PlannedCall, ...]:
        """Planned calls whose stage asks for an SMS as well."""
        return tuple(c for c in (*self.reminders, *self.agent) if c.stage.sms)


def _field(account: Any, name: str, default: Any = None) -> Any:
    if isinstance(account, Mapping):
        return account.get(name, default)
    return getattr(account, name, default)


class CollectionsStrategy:
    """Stages, priority and daily plans. Stages must not overlap."""

    def __init__(
        self, stages: Sequence[Stage] | None = None, *, amount_scale: float = 100.0
    ) -> None:
        stages = tuple(
            sorted(default_stages() if stages is None else stages, key=lambda s: s.min_days)
        )
        for a, b in pairwise(stages):
            if a.max_days is None or a.max_days >= b.min_days:
                raise ValueError(f"stages {a.name!r} and {b.name!r} overlap")
            if b.weight < a.weight:
                raise ValueError(
                    f"stage {b.name!r} weighs less than earlier {a.name!r}: priority must "
                    "not fall as an account ages"
                )
        if not amount_scale > 0:
            raise ValueError("amount_scale must be > 0")
        self.stages = stages
        self.amount_scale = float(amount_scale)

    def stage_for(self, days_past_due: int) -> Stage | None:
        """The stage covering ``days_past_due``, or ``None``."""
        return next((s for s in self.stages if s.covers(days_past_due)), None)

    def _weight(self, days_past_due: float) -> float:
        w = 0.0
        for s in self.stages:
            if s.min_days <= days_past_due:
                w = s.weight
        return w

    def priority(self, days_past_due: float, amount: float) -> float:
        """``weight × (1 + d/30) × (1 + ln(1 + a/amount_scale))`` (see module doc)."""
        d = max(float(days_past_due), 0.0)
        a = max(float(amount), 0.0)
        return self._weight(days_past_due) * (1 + d / 30) * (1 + math.log1p(a / self.amount_scale))

    def days_past_due(self, account: Any, today: dt.date) -> int | None:
        """``account.days_past_due``, else computed from ``account.due_date`` and ``today``."""
        d = _field(account, "days_past_due")
        if d is not None:
            return int(d)
        due = _field(account, "due_date")
        return None if due is None else (today - due).days

    def plan(self, accounts: Iterable[Any], today: dt.date) -> Plan:
        """Split accounts (mappings or objects with ``days_past_due`` or ``due_date``,
        ``amount``, ``customer_id``, ``number``) into reminder and agent lists sorted by
        priority (highest first; ties keep input order)."""
        reminders, agent, skipped = [], [], []
        for acc in accounts:
            d = self.days_past_due(acc, today)
            stage = None if d is None else self.stage_for(d)
            if stage is None:
                skipped.append(acc)
                continue
            amount = float(_field(acc, "amount", 0.0) or 0.0)
            call = PlannedCall(
                customer_id=_field(acc, "customer_id"),
                number=_field(acc, "number"),
                days_past_due=d,
                amount=amount,
                stage=stage,
                priority=self.priority(d, amount),
                account=acc,
            )
            (reminders if stage.mode == "reminder" else agent).append(call)
        reminders.sort(key=lambda c: -c.priority)
        agent.sort(key=lambda c: -c.priority)
        return Plan(tuple(reminders), tuple(agent), tuple(skipped))


@runtime_checkable
class SmsHook(Protocol):
    """Where reminder texts go (an SMS gateway adapter)."""

    async def send(self, number: str, text: str) -> None: ...


class RecordingSmsHook:
    """An :class:`SmsHook` that only remembers what it was asked to send (tests, dry runs)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, number: str, text: str) -> None:
        self.sent.append((number, text))


async def send_reminder_sms(plan: Plan, hook: SmsHook, text: Any) -> int:
    """Send ``text`` (a string, or a callable ``PlannedCall -> str``) to every planned
    call whose stage has ``sms=True``; returns how many were sent."""
    count = 0
    for call in plan.sms:
        await hook.send(call.number, text(call) if callable(text) else str(text))
        count += 1
    return count
