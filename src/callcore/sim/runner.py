"""Replications, sweeps and confidence intervals; serial or on Ray.

Replication ``r`` of a point always uses the generators seeded by
``SeedSequence(seed, spawn_key=(r,))``, whichever worker runs it, so a Ray sweep
returns exactly what a serial run returns. Policies at the same point share
those seeds (common random numbers), which makes paired comparisons sharp.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .engine import SimulationError, simulate
from .policies import make_policy
from .scenario import Scenario, ScenarioError

__all__ = [
    "HEADLINE",
    "Point",
    "PointResult",
    "ci",
    "paired_ci",
    "run_point",
    "sweep",
]

#: Metrics shown in result tables, in order.
HEADLINE = (
    "occupancy",
    "abandon_rate",
    "talk_min_per_agent_hour",
    "amd_abandon_rate",
    "abandons_startup",
    "dials",
    "rpc",
    "in_p_abandon",
    "in_service_level",
)


@dataclass(frozen=True)
class Point:
    """One cell of a sweep: a scenario (bundled name or file), a policy and its parameters."""

    scenario: str
    policy: str
    params: tuple[tuple[str, Any], ...] = ()
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        p = ",".join(f"{k}={v}" for k, v in self.params)
        return f"{self.policy}({p})" if p else self.policy


@dataclass
class PointResult:
    """Replications of one point, or the error that stopped it."""

    point: Point
    metrics: list[dict[str, float]] = field(default_factory=list)
    level: np.ndarray | None = None  #: mean dials per agent-minute, per minute
    error: str | None = None

    def values(self, key: str) -> np.ndarray:
        return np.array([m[key] for m in self.metrics], dtype=float)

    def ci(self, key: str, level: float = 0.95) -> tuple[float, float]:
        return ci(self.values(key), level)


def ci(x: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """(mean, half-width) of a Student-t confidence interval; half-width NaN for n < 2."""
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a)]
    if a.size == 0:
        return math.nan, math.nan
    m = float(a.mean())
    if a.size < 2:
        return m, math.nan
    h = float(stats.t.ppf(0.5 + level / 2, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size))
    return m, h


def paired_ci(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """CI of the mean of ``a - b`` over paired replications (same seeds)."""
    return ci(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), level)


def _scenario(point: Point) -> Scenario:
    sc = Scenario.load(point.scenario)
    if point.overrides:
        sc = sc.with_overrides(dict(point.overrides))
    return sc


def run_replication(point: Point, seed: int, rep: int, pure: bool | None = None):
    """(metrics, level series) of one replication; raises on a bad scenario or policy."""
    sc = _scenario(point)
    policy = None
    if sc.data["outbound"]["enabled"]:
        try:
            policy = make_policy(point.policy, sc, **dict(point.params))
        except (TypeError, ValueError) as e:
            raise SimulationError(sc.source, f"policies.{point.policy}", str(e)) from e
    r = simulate(sc, policy, seed=seed, replication=rep, pure=pure)
    return r.metrics, r.level[:, 1]


def _describe(e: BaseException) -> str:
    if isinstance(e, ScenarioError | SimulationError):
        return str(e)
    return f"{type(e).__name__}: {e} ({traceback.format_exc(limit=2).strip().splitlines()[-1]})"


def _safe_rep(point: Point, seed: int, rep: int, pure: bool | None):
    try:
        return run_replication(point, seed, rep, pure), None
    except Exception as e:  # report, never abort the sweep
        return None, _describe(e)


def run_point(point: Point, replications: int, seed: int = 0, pure: bool | None = None):
    """All replications of one point, serially."""
    return _collect(point, [_safe_rep(point, seed, r, pure) for r in range(replications)])


def _collect(point: Point, outs: list) -> PointResult:
    res = PointResult(point)
    levels = []
    for out, err in outs:
        if err is not None:
            return PointResult(point, error=err)
        m, lv = out
        res.metrics.append(m)
        levels.append(lv)
    if levels:
        res.level = np.mean(np.vstack(levels), axis=0)
    return res


def sweep(
    points: Iterable[Point],
    replications: int,
    seed: int = 0,
    workers: int = 1,
    ray_address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    pure: bool | None = None,
) -> list[PointResult]:
    """Run every point; a failing point is reported in its result, the others complete.

    ``workers > 1`` or a ``ray_address`` runs replications as Ray tasks (a local
    Ray with ``workers`` CPUs unless an address is given); results are identical
    to a serial run with the same ``seed``.
    """
    pts = list(points)
    total = len(pts) * replications
    if workers <= 1 and ray_address is None:
        out = []
        done = 0
        for p in pts:
            reps = []
            for r in range(replications):
                reps.append(_safe_rep(p, seed, r, pure))
                done += 1
                if progress:
                    progress(done, total)
            out.append(_collect(p, reps))
        return out
    return _sweep_ray(pts, replications, seed, workers, ray_address, progress, pure)


def _sweep_ray(pts, replications, seed, workers, address, progress, pure):
    import ray

    started = False
    if not ray.is_initialized():
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(num_cpus=workers, **kw)
        started = True
    try:
        task = ray.remote(num_cpus=1)(_safe_rep)
        refs = {}
        for i, p in enumerate(pts):
            for r in range(replications):
                refs[task.remote(p, seed, r, pure)] = (i, r)
        results: dict[tuple[int, int], Any] = {}
        pending = list(refs)
        done = 0
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                results[refs[ref]] = ray.get(ref)
                done += 1
                if progress:
                    progress(done, len(refs))
        return [
            _collect(p, [results[(i, r)] for r in range(replications)]) for i, p in enumerate(pts)
        ]
    finally:
        if started:
            ray.shutdown()
