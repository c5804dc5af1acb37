"""Compliance inputs every policy respects, and the guard that enforces them.

* abandon-rate cap over windows (campaign, 24 h, 30 days): :class:`AbandonLedger`;
* the 2-second connect rule and the minimum ring time: parameters the executing
  engine (simulator or live dialer) applies to every call, carried here so both
  read them from one object;
* calling-hour windows (callee local time): :class:`ComplianceRules.calling_hours`.

:class:`ComplianceGuard` wraps any policy: outside calling hours it dials nothing;
when the abandon rate over any window has reached the cap it only dials for agents
who are idle and not already covered by a call in flight (no call can then find
every agent busy), until the rate is back under the cap.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from .base import checked
from .state import PacingState

DAY = 86_400.0

__all__ = ["AbandonLedger", "ComplianceGuard", "ComplianceRules"]


@dataclass(frozen=True, slots=True)
class ComplianceRules:
    """Regulatory limits (defaults: the US/UK 3 % rule, 2 s connect, 15 s ring, 08–21 h)."""

    abandon_cap: float = 0.03
    windows: tuple[float, ...] = (float("inf"), DAY, 30 * DAY)  #: campaign, 24 h, 30 days
    connect_window: float = 2.0  #: seconds after answer to connect an agent
    min_ring: float = 15.0  #: seconds a call must ring before the dialer gives up
    calling_hours: tuple[tuple[float, float], ...] = ((8 * 3600.0, 21 * 3600.0),)
    min_live_for_cap: int = 30  #: live answers before the cap is enforced on a window

    def __post_init__(self) -> None:
        if not 0.0 < self.abandon_cap < 1.0:
            raise ValueError("abandon_cap must be in (0, 1)")
        if self.connect_window < 0 or self.min_ring < 0:
            raise ValueError("connect_window and min_ring must be >= 0")
        for a, b in self.calling_hours:
            if not (0 <= a < b <= DAY):
                raise ValueError(f"calling-hour window {(a, b)} is not inside one day")

    def may_call(self, time_of_day: float) -> bool:
        """True when ``time_of_day`` (seconds since callee-local midnight) is in a window."""
        t = time_of_day % DAY
        return any(a <= t < b for a, b in self.calling_hours)


@dataclass(slots=True)
class AbandonLedger:
    """Abandon rate over sliding windows from cumulative (live, abandoned) readings."""

    bucket: float = 60.0
    _t: list[float] = field(default_factory=list)
    _live: list[int] = field(default_factory=list)
    _ab: list[int] = field(default_factory=list)

    def reset(self) -> None:
        self._t.clear()
        self._live.clear()
        self._ab.clear()

    def record(self, now: float, live: int, abandons: int) -> None:
        if not self._t or now - self._t[-1] >= self.bucket:
            self._t.append(now)
            self._live.append(live)
            self._ab.append(abandons)

    def rate(self, now: float, live: int, abandons: int, window: float) -> tuple[float, int]:
        """(abandon rate, live answers) over the last ``window`` seconds."""
        if window == float("inf") or not self._t or now - window <= self._t[0]:
            base_l, base_a = 0, 0
        else:
            i = bisect.bisect_left(self._t, now - window)
            base_l, base_a = self._live[i], self._ab[i]
        dl = live - base_l
        return ((abandons - base_a) / dl if dl > 0 else 0.0), dl


class ComplianceGuard:
    """Wraps a policy so it respects :class:`ComplianceRules` whatever it decides."""

    def __init__(self, policy, rules: ComplianceRules | None = None) -> None:
        self.policy = policy
        self.rules = rules or ComplianceRules()
        self.ledger = AbandonLedger()
        self.name = getattr(policy, "name", type(policy).__name__)
        self.limited_decisions = 0  #: decisions clamped because a window hit the cap
        self._hours = self.rules.calling_hours

    def reset(self) -> None:
        self.policy.reset()
        self.ledger.reset()
        self.limited_decisions = 0

    def over_cap(self, state: PacingState, now: float) -> bool:
        r = self.rules
        live, ab = state.live_total, state.abandons_total
        led = self.ledger
        if not led._t or now - led._t[-1] >= led.bucket:
            led.record(now, live, ab)
        if live < r.min_live_for_cap:
            return False
        start = led._t[0]
        done_full = False
        for w in r.windows:
            if now - w <= start:  # the window covers the whole campaign so far
                if done_full:
                    continue
                done_full = True
            rate, n = led.rate(now, live, ab, w)
            if n >= r.min_live_for_cap and rate >= r.abandon_cap:
                return True
        return False

    def decide(self, state: PacingState, now: float) -> int:
        tod = state.time_of_day % DAY
        for a, b in self._hours:
            if a <= tod < b:
                break
        else:
            return 0
        n = checked(self.policy.decide(state, now), self.policy)
        if self.over_cap(state, now):
            safe = max(0, state.agents_idle - state.calls_ringing - state.calls_waiting)
            if n > safe:
                self.limited_decisions += 1
                n = safe
        return n

    def __repr__(self) -> str:
        return f"ComplianceGuard({self.policy!r})"
