"""Queue strategies: which ready member(s) to ring for a call.

A strategy is a small object with a ``mode`` and one method::

    choose(candidates: Sequence[Member]) -> list[Member]

``candidates`` are the ready, eligible members of the queue in member order
(position, i.e. extension/priority order). ``mode`` tells the ACD how to ring
the result: ``"one"`` (ring the first; on no answer the ACD asks again),
``"all"`` (ring every returned member at once) or ``"progressive"`` (ring the
first, add the next every ``interval`` seconds while earlier ones keep ringing).

Strategies that need randomness take an injected :class:`random.Random`;
round-robin keeps its memory in the instance (one instance per queue).
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from .agents import Agent

RingMode = Literal["one", "all", "progressive"]


@dataclass(slots=True, eq=False)
class Member:
    """An agent's membership in one queue."""

    agent: Agent
    position: int = 0
    level: int = 0  # tier: 0 rings at once, higher levels after the queue's tier wait
    weight: float = 1.0  # for weighted random


class Strategy(Protocol):
    mode: RingMode

    def choose(self, candidates: Sequence[Member]) -> list[Member]: ...


class RingAll:
    """Ring every ready member; the first to answer takes the call."""

    mode: RingMode = "all"
    name = "ring_all"

    def choose(self, candidates: Sequence[Member]) -> list[Member]:
        return list(candidates)


class _MinBy:
    mode: RingMode = "one"
    name = ""

    def _key(self, m: Member) -> tuple:  # pragma: no cover - overridden
        raise NotImplementedError

    def choose(self, candidates: Sequence[Member]) -> list[Member]:
        if not candidates:
            return []
        return [min(candidates, key=self._key)]


class LongestIdle(_MinBy):
    """The member idle for the longest time (earliest ``idle_since``); ties by position."""

    name = "longest_idle"

    def _key(self, m: Member) -> tuple:
        return (m.agent.idle_since, m.position)

    def choose(self, candidates: Sequence[Member]) -> list[Member]:
        best = None
        bk = None
        for m in candidates:
            k = (m.agent.idle_since, m.position)
            if bk is None or k < bk:
                best, bk = m, k
        return [best] if best is not None else []


class LeastCallsToday(_MinBy):
    """Fewest calls answered today; ties broken in member order (as banks ask)."""

    name = "least_calls"

    def _key(self, m: Member) -> tuple:
        return (m.agent.calls_today, m.position)


class LeastTalkTime(_MinBy):
    """Least accumulated talk time; ties in member order."""

    name = "least_talk_time"

    def _key(self, m: Member) -> tuple:
        return (m.agent.talk_time, m.position)


class Linear(_MinBy):
    """Always the first ready member in position (extension/priority) order."""

    name = "linear"

    def _key(self, m: Member) -> tuple:
        return (m.position,)


class RoundRobin:
    """Round-robin with memory: the next member after the last one chosen."""

    mode: RingMode = "one"
    name = "round_robin"

    def __init__(self) -> None:
        self.last: int | None = None

    def choose(self, candidates: Sequence[Member]) -> list[Member]:
        if not candidates:
            return []
        pick = None
        if self.last is not None:
            after = [m for m in candidates if m.position > self.last]
            if after:
                pick = min(after, key=lambda m: m.position)
        if pick is None:
            pick = min(candidates, key=lambda m: m.position)
        self.last = pick.position
        return [pick]


class RandomPick:
    """Uniformly random ready member, from an injected generator."""

    mode: RingMode = "one"
    name = "random"

    def __init__(self, rng: _random.Random) -> None:
        self.rng = rng

    def choose(self, candidates: Sequence[Member]) -> list[Member]:
        if not candidates:
            return []
        return [candidates[self.rng.randrange(len(candidates))]]


class WeightedRandom:
    """Random ready member with probability proportional to ``Member.weight``."""

    mode: RingMode = "one"
    name = "weighted_random"

    def __init__(self, rng: _random.Random) -> None:
        self.rng = rng

    def choose(self, candidates: Sequence[Member]) -> list[Member]:
        pool = [m for m in candidates if m.weight > 0]
        if not pool:
            return []
        return self.rng.choices(pool, weights=[m.weight for m in pool], k=1)


class RingProgressively:
    """Ring members one more every ``interval`` seconds, in position order, keeping earlier ones ringing."""

    mode: RingMode = "progressive"
    name = "ring_progressively"

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval

    def choose(self, candidates: Sequence[Member]) -> list[Member]:
        return sorted(candidates, key=lambda m: m.position)


_FACTORIES: dict[str, Callable[[_random.Random], Strategy]] = {
    "ring_all": lambda rng: RingAll(),
    "longest_idle": lambda rng: LongestIdle(),
    "least_calls": lambda rng: LeastCallsToday(),
    "least_talk_time": lambda rng: LeastTalkTime(),
    "linear": lambda rng: Linear(),
    "round_robin": lambda rng: RoundRobin(),
    "random": lambda rng: RandomPick(rng),
    "weighted_random": lambda rng: WeightedRandom(rng),
    "ring_progressively": lambda rng: RingProgressively(),
}

STRATEGY_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def make_strategy(name: str, rng: _random.Random | None = None) -> Strategy:
    """Build a strategy by name (see :data:`STRATEGY_NAMES`).

    ``rng`` is required for ``random`` and ``weighted_random`` only.
    """
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(
            f"unknown strategy {name!r}; choose from {', '.join(STRATEGY_NAMES)}"
        ) from None
    if name in ("random", "weighted_random") and rng is None:
        raise ValueError(f"strategy {name!r} needs an injected random.Random")
    return factory(rng)  # type: ignore[arg-type]
