"""Business hours: weekly schedules, holiday calendars, time zones, after-hours action.

Times are checked in the schedule's own zone (``zoneinfo``), so a Shanghai
hotline opens at 08:00 Asia/Shanghai whatever the server's zone. ``now`` is a
POSIX timestamp or an aware ``datetime``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _t(s: str) -> dt.time:
    h, m = s.split(":")
    if s == "24:00":
        return dt.time.max
    return dt.time(int(h), int(m))


@dataclass(frozen=True, slots=True)
class AfterHours:
    """What to do when closed: ``message`` (play ``text``), ``forward`` (to ``target``,
    e.g. an on-duty agent's mobile) or ``voicemail`` (mailbox ``target``)."""

    action: str = "voicemail"
    target: str = ""
    text: str = "We are closed now."

    def __post_init__(self) -> None:
        if self.action not in ("message", "forward", "voicemail"):
            raise ValueError(
                f"after-hours action must be message/forward/voicemail, not {self.action!r}"
            )


@dataclass(slots=True)
class BusinessHours:
    """Weekly opening ranges plus dated exceptions.

    ``weekly`` maps ``mon``..``sun`` to ``[("08:00", "20:00"), ...]``;
    ``holidays`` are closed dates; ``special`` maps a date to its own ranges
    (a working Saturday, a short day before a holiday).
    """

    tz: str = "UTC"
    weekly: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)
    holidays: set[dt.date] = field(default_factory=set)
    special: dict[dt.date, list[tuple[str, str]]] = field(default_factory=dict)
    after_hours: AfterHours = field(default_factory=AfterHours)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._zone = ZoneInfo(self.tz)
        for day, ranges in self.weekly.items():
            if day not in DAYS:
                raise ValueError(f"unknown weekday {day!r}; use {DAYS}")
            for a, b in ranges:
                if _t(a) >= _t(b):
                    raise ValueError(f"{day}: range {a}-{b} is empty")

    @classmethod
    def weekdays(
        cls, open_: str, close: str, *, days: Iterable[str] = DAYS[:5], tz: str = "UTC", **kw
    ) -> BusinessHours:
        return cls(tz=tz, weekly={d: [(open_, close)] for d in days}, **kw)

    def local(self, now: float | dt.datetime) -> dt.datetime:
        if isinstance(now, dt.datetime):
            if now.tzinfo is None:
                raise ValueError("naive datetime: give a timestamp or an aware datetime")
            return now.astimezone(self._zone)
        return dt.datetime.fromtimestamp(now, self._zone)

    def ranges_for(self, day: dt.date) -> list[tuple[str, str]]:
        if day in self.special:
            return self.special[day]
        if day in self.holidays:
            return []
        return list(self.weekly.get(DAYS[day.weekday()], []))

    def is_open(self, now: float | dt.datetime) -> bool:
        t = self.local(now)
        tm = t.time()
        return any(_t(a) <= tm < _t(b) for a, b in self.ranges_for(t.date()))

    def next_open(self, now: float | dt.datetime, horizon_days: int = 366) -> dt.datetime | None:
        """The next opening instant (aware, schedule zone) at or after ``now``."""
        t = self.local(now)
        if self.is_open(t):
            return t
        for i in range(horizon_days + 1):
            day = t.date() + dt.timedelta(days=i)
            for a, _ in sorted(self.ranges_for(day), key=lambda r: _t(r[0])):
                start = dt.datetime.combine(day, _t(a), self._zone)
                if start >= t:
                    return start
        return None

    def decide(self, now: float | dt.datetime) -> AfterHours | None:
        """``None`` when open, else the after-hours action."""
        return None if self.is_open(now) else self.after_hours
