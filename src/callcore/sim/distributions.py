"""Duration distributions for scenarios: fixed, uniform, exponential, lognormal, empirical.

Each is built from a small mapping (as written in a scenario file) and samples
with an injected :class:`numpy.random.Generator`; no global random state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Distribution", "DistributionError", "parse_distribution"]


class DistributionError(ValueError):
    """A distribution mapping is invalid; ``key`` names the offending field."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Distribution:
    """A non-negative duration distribution (seconds)."""

    kind: str
    a: float = 0.0  #: fixed value / low / mean (exponential, lognormal)
    b: float = 0.0  #: high (uniform) / sd (lognormal)
    values: tuple[float, ...] = ()  #: empirical samples

    @property
    def mean(self) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return (self.a + self.b) / 2.0
        if self.kind in ("exponential", "lognormal"):
            return self.a
        return float(np.mean(self.values))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws."""
        k = self.kind
        if k == "fixed":
            return np.full(size, self.a)
        if k == "uniform":
            return rng.uniform(self.a, self.b, size)
        if k == "exponential":
            return rng.exponential(self.a, size)
        if k == "lognormal":
            s2 = math.log1p((self.b / self.a) ** 2)
            return rng.lognormal(math.log(self.a) - s2 / 2.0, math.sqrt(s2), size)
        return rng.choice(np.asarray(self.values), size)


_FIELDS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "lognormal": ("mean", "sd"),
    "empirical": ("values",),
}


def _num(key: str, v: Any, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise DistributionError(key, f"must be a finite number, got {v!r}")
    if v < 0 or (positive and v == 0):
        raise DistributionError(key, f"must be {'> 0' if positive else '>= 0'}, got {v!r}")
    return float(v)


def parse_distribution(spec: Any, key: str = "distribution") -> Distribution:
    """Build a :class:`Distribution` from ``{"dist": kind, ...}`` or a bare number (fixed)."""
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return Distribution("fixed", _num(key, spec))
    if not isinstance(spec, dict):
        raise DistributionError(key, f"expected a number or a mapping, got {spec!r}")
    kind = spec.get("dist")
    if kind not in _FIELDS:
        raise DistributionError(f"{key}.dist", f"must be one of {sorted(_FIELDS)}, got {kind!r}")
    allowed = {"dist", *_FIELDS[kind]}
    for k in spec:
        if k not in allowed:
            raise DistributionError(f"{key}.{k}", f"unknown key for a {kind} distribution")
    for k in _FIELDS[kind]:
        if k not in spec:
            raise DistributionError(f"{key}.{k}", "missing")
    if kind == "fixed":
        return Distribution(kind, _num(f"{key}.value", spec["value"]))
    if kind == "uniform":
        lo = _num(f"{key}.low", spec["low"])
        hi = _num(f"{key}.high", spec["high"])
        if hi < lo:
            raise DistributionError(f"{key}.high", f"must be >= low ({lo}), got {hi}")
        return Distribution(kind, lo, hi)
    if kind == "exponential":
        return Distribution(kind, _num(f"{key}.mean", spec["mean"], positive=True))
    if kind == "lognormal":
        return Distribution(
            kind,
            _num(f"{key}.mean", spec["mean"], positive=True),
            _num(f"{key}.sd", spec["sd"], positive=True),
        )
    vals = spec["values"]
    if not isinstance(vals, list) or not vals:
        raise DistributionError(f"{key}.values", "must be a non-empty list of numbers")
    return Distribution(
        kind, values=tuple(_num(f"{key}.values[{i}]", v) for i, v in enumerate(vals))
    )
