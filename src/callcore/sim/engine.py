"""Runs one replication of a scenario under a pacing policy.

The event loop lives in ``callcore.sim._core`` (Cython) or its bit-exact twin
``_core_py``; this module feeds it random variates, asks the policy for a dial
count once per tick (1 s by default) and turns the counters into metrics. The
policy is ordinary Python called only at decision points; everything between
two decisions (ringing, answers, AMD, queueing, talk, wrap-up, breaks, inbound
arrivals, retries) runs inside the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from callcore import fastpath
from callcore.pacing import ComplianceGuard, ComplianceRules, PolicyError

from .scenario import Scenario

__all__ = ["RunResult", "SimulationError", "Variates", "core_module", "simulate"]

DAY = 86_400.0
BLOCK = 4096
STARTUP = 300.0  #: seconds counted as the start-up window (overshoot statistics)


class SimulationError(RuntimeError):
    """A run failed; ``source`` (scenario file), ``key`` and ``reason`` say where and why."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        super().__init__(f"{source}: {key}: {reason}")
        self.source = source
        self.key = key
        self.reason = reason


def core_module(pure: bool | None = None) -> ModuleType:
    """The simulator core: compiled unless ``pure`` (or ``CALLCORE_PURE=1``)."""
    return fastpath.load(pure, name="callcore.sim._core")


class Variates:
    """Per-attempt random variates drawn in blocks (10 rows) from one generator.

    Rows: outcome uniform, time to answer, RPC talk, other talk, wrap-up,
    patience after answer, AMD uniform, AMD delay, RPC uniform, callback uniform.
    """

    def __init__(self, sc: Scenario, rng: np.random.Generator) -> None:
        self.out = sc.data["outbound"]
        self.rng = rng

    def block(self, size: int = BLOCK) -> np.ndarray:
        o, rng = self.out, self.rng
        b = np.empty((10, size))
        b[0] = rng.random(size)
        b[1] = o["time_to_answer"].sample(rng, size)
        b[2] = o["talk"].sample(rng, size)
        b[3] = o["talk_other"].sample(rng, size)
        b[4] = o["wrap"].sample(rng, size)
        b[5] = o["patience"].sample(rng, size) if o["patience"] is not None else 1e18
        b[6] = rng.random(size)
        b[7] = o["amd"]["delay"].sample(rng, size)
        b[8] = rng.random(size)
        b[9] = rng.random(size)
        return b


def inbound_arrivals(sc: Scenario, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Inbound inter-arrival gaps (non-homogeneous Poisson by thinning) and durations."""
    inb = sc.data["inbound"]
    dur = sc.data["duration"]
    if not inb["enabled"]:
        z = np.zeros(0)
        return z, z, z, z
    t0 = sc.data["start"]
    by_hour = inb["rate_by_hour"]
    rates = np.array([by_hour.get(h, inb["rate"]) for h in range(24)]) / 3600.0
    rmax = float(rates.max())
    if rmax <= 0:
        z = np.zeros(0)
        return z, z, z, z
    n_guess = int(rmax * dur * 1.2) + 100
    gaps = rng.exponential(1.0 / rmax, n_guess)
    t = np.cumsum(gaps)
    while t[-1] < dur:
        t = np.concatenate([t, t[-1] + np.cumsum(rng.exponential(1.0 / rmax, n_guess))])
    t = t[t < dur]
    keep = rng.random(t.size) < rates[((t0 + t) // 3600).astype(int) % 24] / rmax
    t = t[keep]
    n = t.size
    t = np.diff(t, prepend=0.0)  # gaps: the core chains arrivals as now + gap
    talk = inb["talk"].sample(rng, n)
    wrap = inb["wrap"].sample(rng, n)
    pat = inb["patience"].sample(rng, n) if inb["patience"] is not None else np.full(n, 1e18)
    return t, talk, wrap, pat


def agent_schedule(sc: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, kinds, agents) of log-in (BACK=7) / log-out (AWAY=6) events, time-sorted."""
    ev: list[tuple[float, int, int]] = []
    shifts = sc.data.get("shifts") or [
        {"agents": sc.data["agents"], "start": 0.0, "end": sc.data["duration"], "breaks": []}
    ]
    a0 = 0
    for sh in shifts:
        for i in range(sh["agents"]):
            a = a0 + i
            ev.append((sh["start"], 7, a))
            for br in sh.get("breaks", []):
                at = br["at"] + i * br.get("stagger", 0.0)
                if sh["start"] <= at < sh["end"]:
                    ev.append((at, 6, a))
                    ev.append((min(at + br["length"], sh["end"]), 7, a))
            if sh["end"] < sc.data["duration"]:
                ev.append((sh["end"], 6, a))
        a0 += sh["agents"]
    ev.sort(key=lambda e: (e[0], e[2], e[1] == 7))
    t = np.array([e[0] for e in ev], dtype=np.float64)
    k = np.array([e[1] for e in ev], dtype=np.int64)
    ag = np.array([e[2] for e in ev], dtype=np.int64)
    return t, k, ag


def core_params(sc: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hour_probs 24x4, float params, int params) for the core."""
    d = sc.data
    o = d["outbound"]
    hp = np.zeros((24, 4))
    for h in range(24):
        a = o["answer_by_hour"].get(h, o["answer"])
        a = {**o["answer"], **a} if h in o["answer_by_hour"] else a
        if o["enabled"]:
            hp[h] = [a["human"], a["machine"], a["busy"], a["invalid"]]
    amd = o["amd"]
    cb = o["callbacks"]
    rt = o["retries"]
    f = np.array(
        [
            d["start"],
            o["ring_timeout"],
            o["busy_time"],
            o["invalid_time"],
            d["compliance"]["connect_window"],
            o["right_party"],
            amd["human_as_machine"],
            amd["human_notsure"],
            amd["machine_as_human"],
            amd["machine_notsure"],
            o["machine_handle"],
            rt["delay"],
            cb["rate"],
            cb["delay"],
            cb["answer"],
            d["interval"],
            d["inbound"]["service_target"],
            STARTUP,
        ],
        dtype=np.float64,
    )
    i = np.array(
        [
            int(amd["enabled"]),
            int(amd["on_machine"] == "agent"),
            int(amd["on_notsure"] == "agent"),
            int(rt["enabled"]),
            rt["max_attempts"],
            int(rt["machines"]),
        ],
        dtype=np.int64,
    )
    return hp, f, i


def rules_for(sc: Scenario) -> ComplianceRules:
    c = sc.data["compliance"]
    return ComplianceRules(
        abandon_cap=c["abandon_cap"],
        connect_window=c["connect_window"],
        min_ring=c["min_ring"],
        calling_hours=tuple(tuple(w) for w in c["calling_hours"]),
    )


def seeds_for(seed: int, replication: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent PCG64 generators (outbound, inbound) for one replication."""
    ss = np.random.SeedSequence(seed, spawn_key=(replication,))
    a, b = ss.spawn(2)
    return np.random.Generator(np.random.PCG64(a)), np.random.Generator(np.random.PCG64(b))


COUNTERS = [
    "dials",
    "dials_retry",
    "dials_callback",
    "busy",
    "invalid",
    "no_answer",
    "answers",
    "answer_delay_sum",
    "live",
    "machines",
    "routed",
    "connects",
    "machine_connects",
    "rpc",
    "abandons",
    "abandons_amd",
    "machine_drops",
    "machines_hungup",
    "in_arrivals",
    "in_served",
    "in_abandons",
    "in_wait_sum",
    "talk_time",
    "machine_time",
    "wrap_time",
    "logged_time",
    "callbacks",
    "out_wait_sum",
    "in_within_target",
    "in_abandon_wait_sum",
    "in_immediate",
    "abandons_startup",
    "compliance_messages",
]
INTERVAL_COLUMNS = [
    "dials",
    "live",
    "abandons",
    "connects",
    "rpc",
    "talk_time",
    "samples_idle",
    "samples_busy",
    "in_arrivals",
    "in_abandons",
]


@dataclass
class RunResult:
    """Outcome of one replication."""

    scenario: str
    policy: str
    seed: int
    replication: int
    counters: dict[str, float]
    metrics: dict[str, float]
    intervals: np.ndarray  #: rows per interval, columns :data:`INTERVAL_COLUMNS`
    out_wait_hist: np.ndarray  #: outbound wait-for-agent, 0.1 s bins (0..2 s)
    in_wait_hist: np.ndarray  #: inbound wait of served calls, 1 s bins (0..600 s)
    level: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  #: (minute, dials/agent)


def metrics_from(c: dict[str, float], duration: float) -> dict[str, float]:
    """The headline metrics of a run from its counters."""
    live = c["live"]
    logged = c["logged_time"]
    busy = c["talk_time"] + c["machine_time"] + c["wrap_time"]
    arr = c["in_arrivals"]
    nan = float("nan")
    return {
        "dials": c["dials"],
        "connects": c["connects"],
        "rpc": c["rpc"],
        "live": live,
        "abandons": c["abandons"],
        "abandon_rate": c["abandons"] / live if live else 0.0,
        "abandon_rate_no_amd": (c["abandons"] - c["abandons_amd"]) / live if live else 0.0,
        "amd_abandon_rate": c["abandons_amd"] / live if live else 0.0,
        "abandons_startup": c["abandons_startup"],
        "compliance_messages": c["compliance_messages"],
        "occupancy": busy / logged if logged else 0.0,
        "talk_min_per_agent_hour": (c["talk_time"] / 60.0) / (logged / 3600.0) if logged else 0.0,
        "idle_fraction": 1.0 - busy / logged if logged else 0.0,
        "machine_share": c["machine_time"] / logged if logged else 0.0,
        "mean_wait_connected": c["out_wait_sum"] / c["connects"] if c["connects"] else 0.0,
        "dials_per_agent_hour": c["dials"] / (logged / 3600.0) if logged else 0.0,
        "in_p_wait": 1.0 - c["in_immediate"] / arr if arr else nan,
        "in_p_abandon": c["in_abandons"] / arr if arr else nan,
        "in_asa": (c["in_wait_sum"] + c["in_abandon_wait_sum"]) / arr if arr else nan,
        "in_service_level": c["in_within_target"] / arr if arr else nan,
    }


def simulate(
    sc: Scenario,
    policy: Any | None,
    seed: int = 0,
    replication: int = 0,
    pure: bool | None = None,
    core: ModuleType | None = None,
) -> RunResult:
    """Run one replication of ``sc`` with ``policy`` (``None`` for inbound-only)."""
    mod = core or core_module(pure)
    d = sc.data
    rng_out, rng_in = seeds_for(seed, replication)
    hp, fp, ip = core_params(sc)
    st, sk, sa = agent_schedule(sc)
    it, italk, iwrap, ipat = inbound_arrivals(sc, rng_in)
    duration = d["duration"]
    n_iv = max(1, int(np.ceil(duration / d["interval"])))
    c = mod.Core(d["agents"], hp, fp, ip, st, sk, sa, it, italk, iwrap, ipat, n_iv)
    outbound = d["outbound"]["enabled"] and policy is not None
    pname = getattr(policy, "name", type(policy).__name__) if policy is not None else "none"
    guard = None
    if outbound:
        policy.reset()
        guard = ComplianceGuard(policy, rules_for(sc))
    var = Variates(sc, rng_out)
    wants_elapsed = bool(getattr(policy, "uses_elapsed", True))
    tick = d["tick"]
    t0 = d["start"]
    warm = d["warmup"]
    n_ticks = int(np.floor(duration / tick + 1e-9))
    minutes = int(np.ceil(duration / 60.0))
    level_l = [0.0] * minutes
    active_l = [0.0] * minutes
    run_until, snapshot, dial = c.run_until, c.snapshot, c.dial
    decide = guard.decide if guard is not None else None
    for k in range(n_ticks + 1):
        t = k * tick
        if t > duration:
            break
        run_until(t)
        if warm and t >= warm:
            c.reset_counters(t)
            warm = 0
        if decide is not None and t < duration:
            state = snapshot(t, (t0 + t) % DAY, wants_elapsed)
            try:
                n = decide(state, t)
            except PolicyError as e:
                raise SimulationError(sc.source, f"policies.{pname}", str(e)) from e
            except Exception as e:  # a policy bug: report where and why
                raise SimulationError(
                    sc.source, f"policies.{pname}", f"raised {type(e).__name__}: {e} at t={t:g}s"
                ) from e
            if n:
                if c.remaining() < n:
                    c.feed(var.block(max(BLOCK, n)))
                dial(n, t)
            m = int(t // 60.0)
            level_l[m] += n
            active_l[m] += state.agents_idle + state.agents_talking + state.agents_wrapup
    level = np.array(level_l)
    active = np.array(active_l)
    counters, iv, oh, ih = c.finish(duration)
    cd = dict(zip(COUNTERS, (float(x) for x in counters), strict=True))
    per_min = np.where(active > 0, level / np.maximum(active, 1) * (60.0 / tick), 0.0)
    lv = np.column_stack([np.arange(minutes), per_min])
    return RunResult(
        sc.name, pname, seed, replication, cd, metrics_from(cd, duration), iv, oh, ih, lv
    )
