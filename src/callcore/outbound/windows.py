"""Calling windows and quiet hours, in the callee's local time.

Windows are ``("HH:MM", "HH:MM")`` pairs (``"24:00"`` allowed as an end).
:func:`sorted_windows` validates and orders them; :func:`outside_quiet_hours`
turns a quiet-hours span (which may cross midnight) into the windows when calls
are fine. :class:`CallingWindows` answers, for a set of zones, whether an instant
is outside the calling window or inside quiet hours, why, and until when — the
:class:`~callcore.outbound.compliance.DialGate`'s ``calling_window`` and
``quiet_hours`` rules. Sans-IO: every answer is for a given ``t`` (epoch seconds).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal
from zoneinfo import ZoneInfo

from callcore.center.hours import DAYS, BusinessHours

__all__ = [
    "CallingWindows",
    "Window",
    "WindowKind",
    "local_day",
    "local_time",
    "outside_quiet_hours",
    "seconds_to_hhmm",
    "sorted_windows",
    "to_minutes",
]

Window = tuple[str, str]
#: ``"window"``: the calling window (weekly + holidays); ``"quiet"``: outside quiet hours
WindowKind = Literal["window", "quiet"]
_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")


def to_minutes(s: str) -> int:
    """Minutes since midnight of ``"HH:MM"`` (``"24:00"`` is 1440); ValueError otherwise."""
    if not isinstance(s, str) or not _HHMM.match(s):
        raise ValueError(f"time {s!r} must be 'HH:MM' (00:00..24:00)")
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def sorted_windows(ranges: Iterable[Sequence[str]], what: str) -> tuple[Window, ...]:
    """``ranges`` as windows ordered by start; an empty or malformed one is a ValueError
    naming ``what``."""
    out = []
    for r in ranges:
        a, b = r
        if to_minutes(a) >= to_minutes(b):
            raise ValueError(f"{what}: window {a}-{b} is empty (start must be before end)")
        out.append((a, b))
    return tuple(sorted(out, key=lambda w: to_minutes(w[0])))


def seconds_to_hhmm(seconds: float, what: str) -> str:
    """Seconds since midnight as ``"HH:MM"``; must be a whole minute."""
    if seconds % 60:
        raise ValueError(f"{what}: {seconds} s is not a whole minute")
    m = int(seconds // 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def outside_quiet_hours(quiet_hours: Window | None) -> tuple[Window, ...]:
    """The complement of ``quiet_hours`` within a day (when quiet-hours calls are fine)."""
    if quiet_hours is None:
        return (("00:00", "24:00"),)
    a, b = quiet_hours
    if to_minutes(a) > to_minutes(b):  # spans midnight: 22:00-08:00
        return ((b, a),)
    return tuple(w for w in (("00:00", a), (b, "24:00")) if to_minutes(w[0]) < to_minutes(w[1]))


def local_time(t: float, zone: str) -> dt.datetime:
    """``t`` as an aware datetime in ``zone``."""
    return dt.datetime.fromtimestamp(t, ZoneInfo(zone))


def local_day(t: float, zone: str) -> tuple[float, float]:
    """Start and end (epoch seconds) of the calendar day in ``zone`` that contains ``t``."""
    zi = ZoneInfo(zone)
    day = dt.datetime.fromtimestamp(t, zi).date()
    start = dt.datetime.combine(day, dt.time(0), zi).timestamp()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zi).timestamp()
    return start, end


class CallingWindows:
    """The calling window and quiet hours of one configuration, checked per zone.

    ``weekly`` maps ``"mon"``..``"sun"`` to windows, ``holidays`` a date to the
    windows that replace that day's, ``quiet_hours`` is ``(start, end)`` or None.
    One :class:`~callcore.center.hours.BusinessHours` per zone and kind is built on
    first use and kept.
    """

    def __init__(
        self,
        weekly: Mapping[str, Sequence[Window]],
        holidays: Mapping[dt.date, Sequence[Window]],
        quiet_hours: Window | None,
    ) -> None:
        self.weekly = weekly
        self.holidays = holidays
        self.quiet_hours = quiet_hours
        self._calendars: dict[tuple[str, str], BusinessHours] = {}

    def _calendar(self, zone: str, kind: WindowKind) -> BusinessHours:
        cal = self._calendars.get((zone, kind))
        if cal is None:
            if kind == "window":
                weekly = {d: list(w) for d, w in self.weekly.items()}
                special = {d: list(w) for d, w in self.holidays.items()}
                cal = BusinessHours(tz=zone, weekly=weekly, special=special)
            else:
                allowed = outside_quiet_hours(self.quiet_hours)
                cal = BusinessHours(tz=zone, weekly={d: list(allowed) for d in DAYS})
            self._calendars[(zone, kind)] = cal
        return cal

    def closed(
        self, kind: WindowKind, zones: Sequence[str], t: float, purpose: str
    ) -> tuple[str, float] | None:
        """``None`` when ``kind`` is open at ``t`` in every zone, else ``(reason, until)``:
        ``until`` is the latest next opening of the closed zones (``inf`` when one of
        them does not open within a year)."""
        closed = [z for z in zones if not self._calendar(z, kind).is_open(t)]
        if not closed:
            return None
        until = 0.0
        for z in closed:
            nxt = self._calendar(z, kind).next_open(t)
            until = max(until, math.inf if nxt is None else nxt.timestamp())
        z = closed[0]
        loc = local_time(t, z)
        if kind == "quiet":
            a, b = self.quiet_hours or ("", "")
            why = f"quiet hours {a}-{b} for {purpose} (local {loc:%a %H:%M} {z})"
        elif loc.date() in self.holidays:
            why = f"holiday {loc.date()} in {z} (local {loc:%H:%M})"
        else:
            why = f"outside calling window (local {loc:%a %H:%M} {z})"
        if len(zones) > 1:
            why += f"; zone unknown, checked all {len(zones)} zones of the country"
        return why, until
