"""Build pacing policies with priors taken from a scenario (what a live campaign would
learn from its history: answer yield, answer delay, handle-time distribution)."""

from __future__ import annotations

from typing import Any

import numpy as np

from callcore.pacing import (
    AbandonBudget,
    ErlangPredictive,
    HandleTimeModel,
    Preview,
    Progressive,
    VicidialAdaptive,
)

from .scenario import Scenario

__all__ = ["POLICY_NAMES", "make_policy", "scenario_priors"]

POLICY_NAMES = ("preview", "progressive", "vicidial", "erlang", "budget")

#: Seed of the private generator used to tabulate the handle-time model (no global state).
PRIOR_SEED = 20_260_601


def scenario_priors(sc: Scenario) -> dict[str, Any]:
    """Answer yield per resolved attempt, answer delay and handle-time samples."""
    out = sc.data["outbound"]
    a = out["answer"]
    routed = a["human"] * (1.0 - _amd_drop(out, "human")) + a["machine"] * (
        1.0 - _amd_drop(out, "machine")
    )
    rng = np.random.Generator(np.random.PCG64(PRIOR_SEED))
    m = 4000
    rpc = rng.random(m) < out["right_party"]
    talk = np.where(rpc, out["talk"].sample(rng, m), out["talk_other"].sample(rng, m))
    wrap = out["wrap"].sample(rng, m)
    amd = out["amd"]
    delays = out["time_to_answer"].sample(rng, m)
    if amd["enabled"]:
        delays = delays + amd["delay"].sample(rng, m)
    return {
        "route_delays": delays[delays < out["ring_timeout"]],
        "route_prior": max(1e-3, routed),
        "answer_delay": out["time_to_answer"].mean,
        "route_delay": amd["delay"].mean if amd["enabled"] else 0.0,
        "resolve_time": out["ring_timeout"] + (_dmax(amd["delay"]) if amd["enabled"] else 0.0),
        "talk": talk,
        "wrap": wrap,
        "mean_handle": float(talk.mean() + wrap.mean()),
        "cap": sc.data["compliance"]["abandon_cap"],
        "inbound_rate": _inbound_rate(sc),
    }


def _inbound_rate(sc: Scenario) -> float:
    """Mean inbound arrivals per second over the campaign's hours (0 without inbound)."""
    inb = sc.data["inbound"]
    if not inb["enabled"]:
        return 0.0
    start, dur = sc.data["start"], sc.data["duration"]
    hours = [int((start + t) // 3600) % 24 for t in np.arange(0.0, dur, 600.0)]
    return float(np.mean([inb["rate_by_hour"].get(h, inb["rate"]) for h in hours])) / 3600.0


def _dmax(d) -> float:
    if d.kind == "fixed":
        return d.a
    if d.kind == "uniform":
        return d.b
    if d.kind == "empirical":
        return max(d.values)
    return 3.0 * d.mean


def _amd_drop(out: dict, who: str) -> float:
    amd = out["amd"]
    if not amd["enabled"]:
        return 0.0
    if who == "human":
        p_m, p_n = amd["human_as_machine"], amd["human_notsure"]
    else:
        p_m, p_n = 1.0 - amd["machine_as_human"] - amd["machine_notsure"], amd["machine_notsure"]
    drop = 0.0
    if amd["on_machine"] == "hangup":
        drop += p_m
    if amd["on_notsure"] == "hangup":
        drop += p_n
    return drop


def make_policy(name: str, sc: Scenario, **params: Any):
    """A fresh policy ``name`` for scenario ``sc``; ``params`` override the scenario's
    ``policies.<name>`` section, which overrides the defaults."""
    if name not in POLICY_NAMES:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(POLICY_NAMES)}")
    kw = {**sc.data.get("policies", {}).get(name, {}), **params}
    if name == "preview":
        return Preview(**kw)
    if name == "progressive":
        return Progressive(**kw)
    if name == "vicidial":
        kw.setdefault("drop_target", sc.data["compliance"]["abandon_cap"])
        kw.setdefault("day_length", sc.data["duration"])
        return VicidialAdaptive(**kw)
    pr = scenario_priors(sc)
    common = {
        "route_prior": pr["route_prior"],
        "route_delays": pr["route_delays"],
        "resolve_time": pr["resolve_time"],
        "inbound_rate": pr["inbound_rate"],
    }
    if name == "erlang":
        return ErlangPredictive(mean_handle=pr["mean_handle"], **{**common, **kw})
    handle = HandleTimeModel(pr["talk"], pr["wrap"])
    return AbandonBudget(handle, **{"cap": pr["cap"], **common, **kw})
