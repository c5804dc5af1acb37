"""Small online estimators policies use to turn cumulative counters into recent rates."""

from __future__ import annotations

from collections import deque


class Recent:
    """Ratio of two cumulative counters over a sliding window, with a prior.

    ``update(num, den, now)`` takes the cumulative numerator/denominator; ``value``
    is ``(Δnum + prior·weight) / (Δden + weight)`` over the last ``window`` seconds.
    The prior keeps the estimate sane before any outcome is known.
    """

    __slots__ = ("_hist", "prior", "value", "weight", "window")

    def __init__(self, prior: float, weight: float = 20.0, window: float = 900.0) -> None:
        self.prior = prior
        self.weight = weight
        self.window = window
        self._hist: deque[tuple[float, float, float]] = deque()
        self.value = prior

    def reset(self) -> None:
        self._hist.clear()
        self.value = self.prior

    def update(self, num: float, den: float, now: float) -> float:
        hist = self._hist
        hist.append((now, num, den))
        while hist[0][0] < now - self.window:
            hist.popleft()
        _, n0, d0 = hist[0]
        self.value = (num - n0 + self.prior * self.weight) / (den - d0 + self.weight)
        return self.value
