"""Best time to call: contact probability by hour of week, learned from outcomes.

Hours of week (``how``) are counted in the **callee's** local time: 0 = Monday
00:00–01:00, 24 = Tuesday 00:00, …, 167 = Sunday 23:00 (:func:`hour_of_week`).

The model is a three-level Beta-Binomial with empirical-Bayes shrinkage. For
each hour, with ``n`` attempts and ``s`` contacts observed at that level:

* global:   ``g[h] = (s + k_global · p̄) / (n + k_global)``, ``p̄`` the overall
  contact rate ``(S + 1) / (N + 2)``;
* segment:  ``q[h] = (s + k_segment · g[h]) / (n + k_segment)``;
* customer: ``p[h] = (s + k_customer · q[h]) / (n + k_customer)``.

Each is the posterior mean with ``prior strength × parent rate`` pseudo-contacts,
so a customer seen twice stays close to the segment curve and a segment seen
little stays close to the global one. Everything is deterministic: ties go to the
earliest hour. Segments are dense numpy arrays; customers are sparse dicts.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Hashable
from zoneinfo import ZoneInfo

import numpy as np

__all__ = ["HOURS_PER_WEEK", "ContactTimeModel", "hour_of_week"]

HOURS_PER_WEEK = 168


def hour_of_week(t: float, tz: str) -> int:
    """Local hour of week of epoch time ``t`` in zone ``tz`` (Monday 00:00 = 0)."""
    local = dt.datetime.fromtimestamp(t, ZoneInfo(tz))
    return local.weekday() * 24 + local.hour


def _check_how(how: int) -> int:
    if not 0 <= how < HOURS_PER_WEEK:
        raise ValueError(f"hour of week must be in 0..167, not {how}")
    return int(how)


class ContactTimeModel:
    """Learns P(contact | hour of week) per customer, segment and overall.

    ``customer_strength``, ``segment_strength`` and ``global_strength`` are the
    prior strengths (pseudo-attempts) at each level.
    """

    def __init__(
        self,
        *,
        customer_strength: float = 10.0,
        segment_strength: float = 20.0,
        global_strength: float = 5.0,
    ) -> None:
        for name, v in (
            ("customer_strength", customer_strength),
            ("segment_strength", segment_strength),
            ("global_strength", global_strength),
        ):
            if not v > 0:
                raise ValueError(f"{name} must be > 0")
        self.customer_strength = float(customer_strength)
        self.segment_strength = float(segment_strength)
        self.global_strength = float(global_strength)
        self._global = np.zeros((2, HOURS_PER_WEEK))  # row 0 attempts, row 1 contacts
        self._segments: dict[Hashable, np.ndarray] = {}
        self._customers: dict[Hashable, dict[int, list[int]]] = {}

    # ------------------------------------------------------------------ learning

    def observe(
        self, key: Hashable | None, segment: Hashable | None, how: int, contacted: bool
    ) -> None:
        """Record one attempt at local hour of week ``how`` for customer ``key``
        (``None``: no customer level) in ``segment`` (``None``: no segment level)."""
        h, c = _check_how(how), 1 if contacted else 0
        self._global[0, h] += 1
        self._global[1, h] += c
        if segment is not None:
            seg = self._segments.setdefault(segment, np.zeros((2, HOURS_PER_WEEK)))
            seg[0, h] += 1
            seg[1, h] += c
        if key is not None:
            cell = self._customers.setdefault(key, {}).setdefault(h, [0, 0])
            cell[0] += 1
            cell[1] += c

    def observe_at(
        self, key: Hashable | None, segment: Hashable | None, t: float, tz: str, contacted: bool
    ) -> None:
        """:meth:`observe` with an epoch time and the callee's zone."""
        self.observe(key, segment, hour_of_week(t, tz), contacted)

    def forget(self, key: Hashable) -> None:
        """Drop one customer's own observations (segment and global keep them)."""
        self._customers.pop(key, None)

    def observations(self, key: Hashable | None = None, segment: Hashable | None = None) -> int:
        """Attempts observed for a customer, else a segment, else overall."""
        if key is not None:
            return sum(n for n, _ in self._customers.get(key, {}).values())
        if segment is not None:
            seg = self._segments.get(segment)
            return 0 if seg is None else int(seg[0].sum())
        return int(self._global[0].sum())

    # ------------------------------------------------------------------ estimates

    def curve(self, key: Hashable | None, segment: Hashable | None) -> np.ndarray:
        """Posterior-mean contact probability for all 168 hours (a new array)."""
        n, s = self._global
        pbar = (s.sum() + 1.0) / (n.sum() + 2.0)
        k = self.global_strength
        p = (s + k * pbar) / (n + k)
        seg = self._segments.get(segment) if segment is not None else None
        if seg is not None:
            k = self.segment_strength
            p = (seg[1] + k * p) / (seg[0] + k)
        cells = self._customers.get(key) if key is not None else None
        if cells:
            k = self.customer_strength
            for h, (nc, sc) in cells.items():
                p[h] = (sc + k * p[h]) / (nc + k)
        return p

    def probability(self, key: Hashable | None, segment: Hashable | None, how: int) -> float:
        """Contact probability for ``key`` in ``segment`` at hour of week ``how``."""
        return float(self.curve(key, segment)[_check_how(how)])

    def best_slots(
        self,
        key: Hashable | None,
        segment: Hashable | None,
        *,
        allowed: Callable[[int], bool] | None = None,
        n: int = 3,
    ) -> list[tuple[int, float]]:
        """The ``n`` most promising allowed hours of week, best first (ties: earliest)."""
        p = self.curve(key, segment)
        hows = [h for h in range(HOURS_PER_WEEK) if allowed is None or allowed(h)]
        hows.sort(key=lambda h: (-p[h], h))
        return [(h, float(p[h])) for h in hows[: max(0, n)]]

    def next_best_time(
        self,
        key: Hashable | None,
        segment: Hashable | None,
        now: float,
        tz: str,
        *,
        horizon_h: int = 168,
        allowed: Callable[[float], bool] | None = None,
    ) -> float | None:
        """Start of the best allowed callee-local hour in the next ``horizon_h`` hours.

        Candidates are the local hour starts from the current hour on (the current
        hour counts from ``now``); ``allowed(epoch)`` filters them (e.g. a dial
        gate's window). Ties go to the earliest. ``None`` if nothing is allowed.
        """
        zone = ZoneInfo(tz)
        p = self.curve(key, segment)
        local = dt.datetime.fromtimestamp(now, zone)
        start = local.replace(minute=0, second=0, microsecond=0).timestamp()
        best_t, best_p = None, -math.inf
        t = start
        for _ in range(max(0, horizon_h)):
            cand = max(t, now)
            if allowed is None or allowed(cand):
                pr = p[hour_of_week(cand, tz)]
                if pr > best_p:
                    best_t, best_p = cand, pr
            nxt = dt.datetime.fromtimestamp(t + 3600.0, zone)
            t = nxt.replace(minute=0, second=0, microsecond=0).timestamp()
        return best_t
