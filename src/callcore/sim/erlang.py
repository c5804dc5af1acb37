"""Erlang B, C and A (M/M/n+M) queueing formulas.

All functions take the offered load in Erlangs (``load = arrival_rate * mean_handle``)
or the raw rates, are exact (no table look-ups, no simulation) and cost O(n) or,
for Erlang A, O(n + tail) floating-point operations. They are numerically stable
for thousands of agents: Erlang B uses the standard recurrence
``B(k) = A·B(k-1) / (k + A·B(k-1))`` and Erlang A sums the birth-death chain in
ratios relative to the state "all agents busy, nobody waiting".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ErlangA",
    "ErlangC",
    "agents_for_abandon",
    "agents_for_service_level",
    "erlang_a",
    "erlang_b",
    "erlang_c",
]


def _check(load: float, agents: int) -> None:
    if not (load >= 0.0) or math.isinf(load):
        raise ValueError(f"offered load must be a finite number >= 0, got {load!r}")
    if agents < 0 or int(agents) != agents:
        raise ValueError(f"agents must be a whole number >= 0, got {agents!r}")


def erlang_b(load: float, agents: int) -> float:
    """Blocking probability of M/M/n/n (Erlang B) for ``load`` Erlangs on ``agents`` lines."""
    _check(load, agents)
    b = 1.0
    for k in range(1, int(agents) + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(load: float, agents: int) -> float:
    """Probability that an arrival waits in M/M/n (Erlang C); 1.0 when ``load >= agents``."""
    _check(load, agents)
    n = int(agents)
    if load >= n:
        return 1.0
    b = erlang_b(load, n)
    return n * b / (n - load * (1.0 - b))


@dataclass(frozen=True, slots=True)
class ErlangC:
    """Steady-state figures of an M/M/n queue (Erlang C)."""

    agents: int
    load: float
    p_wait: float
    asa: float  #: average speed of answer (mean wait over all calls), seconds
    service_level: float  #: fraction answered within ``target`` seconds
    occupancy: float
    target: float

    @classmethod
    def compute(
        cls, arrival_rate: float, mean_handle: float, agents: int, target: float = 20.0
    ) -> ErlangC:
        """Figures for ``arrival_rate`` calls/s of mean handle ``mean_handle`` s on ``agents``.

        ``target`` is the service-level threshold in seconds. An unstable system
        (load >= agents) reports ``p_wait=1``, infinite ASA and service level 0.
        """
        if arrival_rate < 0 or mean_handle <= 0:
            raise ValueError("arrival_rate must be >= 0 and mean_handle > 0")
        load = arrival_rate * mean_handle
        n = int(agents)
        pw = erlang_c(load, n)
        if load >= n:
            return cls(n, load, 1.0, math.inf, 0.0, 1.0 if n else 0.0, target)
        asa = pw * mean_handle / (n - load)
        sl = 1.0 - pw * math.exp(-(n - load) * target / mean_handle)
        return cls(n, load, pw, asa, sl, load / n if n else 0.0, target)


def agents_for_service_level(
    arrival_rate: float, mean_handle: float, target: float, level: float
) -> int:
    """Smallest agent count whose Erlang C service level within ``target`` s is >= ``level``."""
    if not 0.0 <= level < 1.0:
        raise ValueError("level must be in [0, 1)")
    load = arrival_rate * mean_handle
    n = max(1, math.floor(load) + 1)
    while ErlangC.compute(arrival_rate, mean_handle, n, target).service_level < level:
        n += 1
    return n


@dataclass(frozen=True, slots=True)
class ErlangA:
    """Steady-state figures of an M/M/n+M queue (Erlang A: exponential patience)."""

    agents: int
    p_wait: float  #: probability an arrival finds every agent busy
    p_abandon: float  #: probability an arrival abandons
    mean_wait: float  #: E[Wq] over all arrivals (served and abandoned), seconds
    mean_queue: float  #: E[number waiting]
    occupancy: float  #: fraction of agent time busy
    service_level: float  #: P(served within target) over all arrivals; NaN if not asked
    target: float | None


def erlang_a(
    arrival_rate: float,
    mean_handle: float,
    mean_patience: float,
    agents: int,
    target: float | None = None,
    tol: float = 1e-15,
) -> ErlangA:
    """Exact M/M/n+M figures by summing the birth-death chain until the tail is below ``tol``.

    Arrivals at ``arrival_rate``/s, exponential service of mean ``mean_handle`` s,
    exponential patience of mean ``mean_patience`` s, ``agents`` servers. The
    service level within ``target`` seconds is computed (numerically, slower)
    only when ``target`` is given.
    """
    if arrival_rate <= 0 or mean_handle <= 0 or mean_patience <= 0:
        raise ValueError("rates and means must be > 0")
    n = int(agents)
    _check(arrival_rate * mean_handle, n)
    lam, mu, theta = arrival_rate, 1.0 / mean_handle, 1.0 / mean_patience
    # Below n: weights relative to state n, built downwards (w_{k-1} = w_k * k mu / lam).
    below = [1.0]
    w = 1.0
    for k in range(n, 0, -1):
        w = w * k * mu / lam
        below.append(w)
    s_below = sum(below[1:])  # states 0..n-1
    busy_below = sum(below[j] * (n - j) for j in range(1, len(below)))  # k = n - j busy
    # At and above n: w_{n+j} = w_{n+j-1} * lam / (n mu + j theta).
    tail = 1.0
    queue = 0.0
    w = 1.0
    j = 0
    while True:
        j += 1
        w = w * lam / (n * mu + j * theta)
        tail += w
        queue += j * w
        if w < tol * tail and n * mu + j * theta > lam:
            break
    total = s_below + tail
    p_wait = tail / total
    mean_queue = queue / total
    p_ab = theta * mean_queue / lam
    occ = (busy_below + n * tail) / total / n if n else 0.0
    sl = math.nan
    if target is not None:
        sl = _erlang_a_service_level(lam, mu, theta, n, target, below, tail, total)
    return ErlangA(n, p_wait, p_ab, mean_queue / lam, mean_queue, occ, sl, target)


def _erlang_a_service_level(lam, mu, theta, n, target, below, tail, total) -> float:
    """P(an arrival is served within ``target``): immediate service plus waiting-then-served.

    An arrival finding ``j`` waiting ahead (all agents busy) is served when ``j+1``
    departures from the queue head occur that are service completions; its own
    patience competes. We integrate numerically over the pure-death process with
    rates ``n mu + i theta`` (i = people ahead plus itself), a standard result.
    """
    p_now = sum(below[1:]) / total
    if n == 0:
        return 0.0
    # Probability arrival (patience exponential) is served within target, given j ahead.
    # State: position i (people ahead). While waiting at position i, events:
    # completion ahead rate n*mu + i*theta (someone ahead leaves: served or abandons)
    # and own abandonment theta. Reaching position 0 and a completion -> served.
    # Use uniformisation over a fixed grid (Euler with small step is accurate enough for SL).
    steps = 4000
    dt = target / steps
    served_within = 0.0
    w = 1.0
    j = 0
    weights = []
    while True:
        weights.append(w / total)
        j += 1
        w = w * lam / (n * mu + j * theta)
        if w / total < 1e-13 or j > 5000:
            break
    m = len(weights)
    # p[i]: probability the tagged caller is at position i (i ahead) and still waiting.
    p = list(weights)
    for _ in range(steps):
        new = [0.0] * m
        for i in range(m):
            pi = p[i]
            if pi == 0.0:
                continue
            move = (n * mu + i * theta) * dt
            ab = theta * dt
            if i == 0:
                served_within += pi * n * mu * dt
            else:
                new[i - 1] += pi * move
            new[i] += pi * (1.0 - move - ab)
        p = new
    return p_now + served_within


def agents_for_abandon(
    arrival_rate: float, mean_handle: float, mean_patience: float, max_abandon: float
) -> int:
    """Smallest agent count whose Erlang A abandon probability is <= ``max_abandon``."""
    if not 0.0 < max_abandon < 1.0:
        raise ValueError("max_abandon must be in (0, 1)")
    n = 1
    while erlang_a(arrival_rate, mean_handle, mean_patience, n).p_abandon > max_abandon:
        n += 1
    return n
