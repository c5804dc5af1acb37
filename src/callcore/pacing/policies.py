"""The pacing policies: preview, progressive, Vicidial-style adaptive, Erlang predictive,
and callcore's abandon-budget policy. Each is a plain object with
``decide(state, now) -> int`` and ``reset()`` (see :class:`~callcore.pacing.base.PacingPolicy`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from callcore import fastpath

from .handle import HandleTimeModel
from .state import PacingState

_kern = fastpath.load(name="callcore.pacing._forecast")
overflow_dials = _kern.overflow_dials

__all__ = [
    "AbandonBudget",
    "ErlangPredictive",
    "Preview",
    "Progressive",
    "VicidialAdaptive",
    "overflow_dials",
]


class Preview:
    """Agent-initiated dialing: each idle agent reviews the record for ``preview_time``
    seconds, then dials one number. Never more calls than uncovered idle agents."""

    name = "preview"

    def __init__(self, preview_time: float = 10.0) -> None:
        if preview_time < 0:
            raise ValueError("preview_time must be >= 0")
        self.preview_time = preview_time
        self._due: deque[float] = deque()

    def reset(self) -> None:
        self._due.clear()

    def decide(self, state: PacingState, now: float) -> int:
        due = self._due
        uncovered = state.agents_idle - state.calls_ringing - state.calls_waiting - len(due)
        for _ in range(max(0, uncovered)):
            due.append(now + self.preview_time)
        n = 0
        while due and due[0] <= now:
            due.popleft()
            n += 1
        # agents who left (break) while previewing: never dial beyond idle agents
        return max(0, min(n, state.agents_idle - state.calls_ringing - state.calls_waiting))

    def __repr__(self) -> str:
        return f"Preview(preview_time={self.preview_time})"


class Progressive:
    """Progressive/power dialing: ``ratio`` lines per idle agent, minus calls in flight."""

    name = "progressive"

    def __init__(self, ratio: float = 1.0) -> None:
        if ratio <= 0:
            raise ValueError("ratio must be > 0")
        self.ratio = ratio

    def reset(self) -> None:
        pass

    def decide(self, state: PacingState, now: float) -> int:
        return max(
            0,
            math.floor(self.ratio * state.agents_idle) - state.calls_ringing - state.calls_waiting,
        )

    def __repr__(self) -> str:
        return f"Progressive(ratio={self.ratio})"


class VicidialAdaptive:
    """Vicidial-style adaptive predictive dialing (the open-source baseline).

    Every second it samples ``ready agents - waiting calls``; every ``recalc``
    seconds it averages the last samples and moves the dial level by that
    difference relative to the agent count, scaled by ``intensity`` (-40..40),
    clamped to ``[1, max_level]``. When the day's drop rate exceeds
    ``drop_target`` it reacts by ``drop_method``:

    * ``"hard_limit"`` (Vicidial's ADAPT_HARD_LIMIT): level 1.0 until the day's rate
      is back under the target;
    * ``"average"`` (Vicidial's ADAPT_AVERAGE; ``"halve"`` is the same method under
      its older callcore name): the level just computed is halved at each
      recalculation while over the target (never below 1.0): a gradual cut instead of
      a reset, so the day's rate is steered back around the target rather than held
      under it;
    * ``"tapered"``: the tolerated rate starts at twice the target and tapers to the
      target at the end of ``day_length``; above it, level 1.0.

    Lines = ``round(level * (agents + diff_target)) - calls in progress``.
    It starts with every agent idle and so overshoots at the first recalculations;
    the simulator counts those drops like any other.
    """

    name = "vicidial"
    DROP_METHODS = ("hard_limit", "average", "halve", "tapered")
    _HALVING = ("average", "halve")

    def __init__(
        self,
        max_level: float = 4.0,
        start_level: float = 1.0,
        intensity: float = 0.0,
        diff_target: float = 0.0,
        drop_target: float = 0.03,
        drop_method: str = "hard_limit",
        recalc: float = 15.0,
        day_length: float = 8 * 3600.0,
        available_only: bool = False,
    ) -> None:
        if drop_method not in self.DROP_METHODS:
            raise ValueError(f"drop_method must be one of {self.DROP_METHODS}")
        if max_level < 1 or start_level < 1 or not -40 <= intensity <= 40:
            raise ValueError("need max_level >= 1, start_level >= 1, -40 <= intensity <= 40")
        self.max_level = max_level
        self.start_level = start_level
        self.intensity = intensity
        self.diff_target = diff_target
        self.drop_target = drop_target
        self.drop_method = drop_method
        self.recalc = recalc
        self.day_length = day_length
        self.available_only = available_only
        self.reset()

    def reset(self) -> None:
        self.level = self.start_level
        self._samples: deque[int] = deque(maxlen=max(1, round(self.recalc)))
        self._last = None
        self.history: list[tuple[float, float]] = []  #: (time, dial level) at each recalculation

    def _recalculate(self, state: PacingState, now: float) -> None:
        agents = max(1, state.agents_active)
        diff = sum(self._samples) / len(self._samples)
        scale = max(0.05, 1.0 + self.intensity / 20.0)
        level = self.level * (1.0 + (diff - self.diff_target) / agents * scale)
        live = state.live_total
        if live > 0:
            drop = state.abandons_total / live
            allowed = self.drop_target
            if self.drop_method == "tapered":
                left = max(0.0, 1.0 - now / self.day_length)
                allowed = self.drop_target * (1.0 + left)
            if drop > allowed:
                level = level / 2.0 if self.drop_method in self._HALVING else 1.0
        self.level = min(self.max_level, max(1.0, level))
        self.history.append((now, self.level))

    def decide(self, state: PacingState, now: float) -> int:
        self._samples.append(state.agents_idle - state.calls_waiting)
        if self._last is None:
            self._last = now
        elif now - self._last >= self.recalc - 1e-9:
            self._last = now
            self._recalculate(state, now)
        agents = state.agents_idle if self.available_only else state.agents_active
        want = round(self.level * (agents + self.diff_target))
        return max(0, want - state.calls_in_progress)

    def __repr__(self) -> str:
        return (
            f"VicidialAdaptive(max_level={self.max_level}, intensity={self.intensity}, "
            f"drop_method={self.drop_method!r})"
        )


class _Forecasting:
    """Shared parts of the forecasting policies: answer yield, answer delay, calls in flight.

    The yield ``q`` (answers reaching the agent queue per dial) is measured on dials
    old enough to be resolved (older than ``resolve_time``), so fast failures (busy,
    invalid) that resolve first do not bias it down. A call dialed ``x`` seconds ago
    still owes ``q * S(x)`` answers, where ``S`` is the survival function of the
    dial-to-queue delay (``route_delays`` samples: ring-to-answer plus AMD time).
    """

    def __init__(
        self,
        route_prior: float,
        route_delays: Sequence[float],
        resolve_time: float = 32.0,
        window: float = 900.0,
        prior_weight: float = 50.0,
    ) -> None:
        self.route_prior = route_prior
        d = np.sort(np.asarray(route_delays, dtype=float))
        if d.size == 0:
            raise ValueError("route_delays needs at least one sample")
        self.horizon = float(d.mean())
        ages = np.arange(int(d[-1]) + 2, dtype=float)
        self._surv = 1.0 - np.searchsorted(d, ages, side="right") / d.size
        self._top = len(self._surv) - 1
        self.resolve_time = max(resolve_time, float(d[-1]))
        self.window = window
        self.prior_weight = prior_weight
        _Forecasting.reset(self)

    def reset(self) -> None:
        self._tracker = _kern.Tracker(
            self.route_prior, self.prior_weight, self.resolve_time, self.window, self._surv
        )
        self.q = self.route_prior

    def _inputs(self, state: PacingState, now: float) -> tuple[float, float, float, float]:
        """(q, horizon, in-flight expected answers, their variance)."""
        q, fm, fv = self._tracker.update(now, state.dials_total, state.routed_total)
        self.q = q
        return q, self.horizon, fm, fv


class ErlangPredictive(_Forecasting):
    """Predictive dialing under Erlang's memoryless assumption.

    Agents busy now are each free within the answer horizon ``h`` with probability
    ``1 - exp(-h / mean_handle)`` (exponential handle times: elapsed time carries no
    information). Dials the most lines whose expected overflow stays within
    ``target`` of expected answers (see :func:`overflow_dials`).
    """

    name = "erlang"

    def __init__(
        self,
        mean_handle: float,
        target: float = 0.02,
        route_prior: float = 0.3,
        route_delays: Sequence[float] = (20.0,),
        resolve_time: float = 32.0,
        max_ratio: float = 10.0,
        inbound_rate: float = 0.0,
    ) -> None:
        super().__init__(route_prior, route_delays, resolve_time)
        self.inbound_rate = inbound_rate
        self.mean_handle = mean_handle
        self.target = target
        self.max_ratio = max_ratio

    def decide(self, state: PacingState, now: float) -> int:
        q, h, flight, flight_var = self._inputs(state, now)
        busy = state.agents_talking + state.agents_wrapup
        p = 1.0 - math.exp(-h / self.mean_handle)
        inb = self.inbound_rate * h  # inbound calls (Poisson) taking agents meanwhile
        fm = state.agents_idle - state.calls_waiting + busy * p - inb
        fv = busy * p * (1.0 - p) + inb
        max_n = int(self.max_ratio * max(1, state.agents_active))
        return overflow_dials(flight, flight_var, q, fm, fv, self.target, max_n)

    def __repr__(self) -> str:
        return f"ErlangPredictive(mean_handle={self.mean_handle}, target={self.target})"


class AbandonBudget(_Forecasting):
    """callcore's policy: dial ahead for agents about to finish, spend the abandon budget.

    Each second it forecasts the agents free when a call dialed now would be
    answered: idle agents, plus each busy agent's probability of finishing within
    the answer horizon (plus ``slack``: an answered call may wait for the connect
    window, 2 s) given the *elapsed* time of its call or wrap-up
    (:class:`HandleTimeModel`), minus calls already waiting. It dials the most lines
    whose expected overflow stays within a per-decision tolerance ``tau``, and steers
    ``tau`` so the campaign's abandon rate tracks ``aim * cap``: the tolerance grows
    while the campaign is under budget and shrinks when it is over.
    """

    name = "budget"

    def __init__(
        self,
        handle: HandleTimeModel,
        cap: float = 0.03,
        aim: float = 0.7,
        route_prior: float = 0.3,
        route_delays: Sequence[float] = (20.0,),
        resolve_time: float = 32.0,
        gain: float = 3.0,
        prior_live: float = 300.0,
        max_ratio: float = 10.0,
        inbound_rate: float = 0.0,
        slack: float = 0.0,
    ) -> None:
        super().__init__(route_prior, route_delays, resolve_time)
        self.slack = slack
        if not 0 < cap < 1 or not 0 < aim <= 1:
            raise ValueError("need 0 < cap < 1 and 0 < aim <= 1")
        self.handle = handle
        self.cap = cap
        self.aim = aim
        self.gain = gain
        self.prior_live = prior_live
        self.max_ratio = max_ratio
        self.inbound_rate = inbound_rate
        self.tau = cap * aim
        handle.expected_free((), (), self.horizon)  # tabulate now, not mid-campaign

    def reset(self) -> None:
        super().reset()
        self.tau = self.cap * self.aim

    def decide(self, state: PacingState, now: float) -> int:
        q, h, flight, flight_var = self._inputs(state, now)
        target = self.cap * self.aim
        # budget left, as a fraction of the budget earned so far (0 at the start)
        allowed = target * (state.live_total + self.prior_live)
        err = (target * state.live_total - state.abandons_total) / allowed
        tau = target * math.exp(self.gain * max(-3.0, min(1.0, err)))
        self.tau = tau
        fm, fv = self.handle.expected_free(state.talk_elapsed, state.wrap_elapsed, h + self.slack)
        inb = self.inbound_rate * h  # inbound calls (Poisson) taking agents meanwhile
        fm += state.agents_idle - state.calls_waiting - inb
        fv += inb
        max_n = int(self.max_ratio * max(1, state.agents_active))
        return overflow_dials(flight, flight_var, q, fm, fv, tau, max_n)

    def __repr__(self) -> str:
        return f"AbandonBudget(cap={self.cap}, aim={self.aim})"
