"""Scenario files: versioned, validated parameter sets for the simulator.

A scenario is a YAML (or TOML) mapping. Unknown keys, impossible values
(negative times or rates, probabilities outside [0, 1], answer probabilities
summing above 1, a ring timeout below the minimum ring time) raise
:class:`ScenarioError` naming the file, the dotted key and the reason.
``extends: NAME`` starts from another scenario (bundled name or a path relative
to the file) and overrides the keys given.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .distributions import Distribution, DistributionError, parse_distribution

__all__ = ["Scenario", "ScenarioError", "bundled_scenarios", "load_scenario"]

DAY = 86_400.0


class ScenarioError(ValueError):
    """An invalid scenario: ``source`` (file), ``key`` (dotted path) and ``reason``."""

    def __init__(self, source: str, key: str, reason: str) -> None:
        super().__init__(f"{source}: {key}: {reason}")
        self.source = source
        self.key = key
        self.reason = reason


class _Bad(Exception):
    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason


# ----------------------------------------------------------------- leaf validators
def _number(key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _Bad(key, f"must be a finite number, got {v!r}")
    return float(v)


def nonneg(key: str, v: Any) -> float:
    x = _number(key, v)
    if x < 0:
        raise _Bad(key, f"must be >= 0, got {v!r}")
    return x


def positive(key: str, v: Any) -> float:
    x = _number(key, v)
    if x <= 0:
        raise _Bad(key, f"must be > 0, got {v!r}")
    return x


def prob(key: str, v: Any) -> float:
    x = _number(key, v)
    if not 0.0 <= x <= 1.0:
        raise _Bad(key, f"is a probability and must be in [0, 1], got {v!r}")
    return x


def count(key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise _Bad(key, f"must be a whole number >= 0, got {v!r}")
    return v


def boolean(key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Bad(key, f"must be true or false, got {v!r}")
    return v


def text(key: str, v: Any) -> str:
    if not isinstance(v, str):
        raise _Bad(key, f"must be a string, got {v!r}")
    return v


def choice(*options: str) -> Callable[[str, Any], str]:
    def check(key: str, v: Any) -> str:
        if v not in options:
            raise _Bad(key, f"must be one of {list(options)}, got {v!r}")
        return v

    return check


def clock(key: str, v: Any) -> float:
    """Time of day as ``"HH:MM"`` or seconds since midnight."""
    if isinstance(v, str):
        try:
            hh, mm = v.split(":")
            x = int(hh) * 3600.0 + int(mm) * 60.0
        except ValueError:
            raise _Bad(key, f"must be HH:MM, got {v!r}") from None
    else:
        x = nonneg(key, v)
    if not 0 <= x <= DAY:
        raise _Bad(key, f"must be within one day, got {v!r}")
    return x


def dist(key: str, v: Any) -> Distribution:
    try:
        return parse_distribution(v, key)
    except DistributionError as e:
        raise _Bad(e.key, e.reason) from None


def opt_dist(key: str, v: Any) -> Distribution | None:
    return None if v is None else dist(key, v)


def _answer(key: str, v: Any) -> dict[str, float]:
    out = _mapping(key, v, ANSWER)
    if sum(out.values()) > 1.0 + 1e-12:
        raise _Bad(key, f"probabilities sum to {sum(out.values()):.4f} > 1")
    return out


def _answer_by_hour(key: str, v: Any) -> dict[int, dict[str, float]]:
    if not isinstance(v, dict):
        raise _Bad(key, "must map hours 0-23 to answer probabilities")
    out = {}
    for h, spec in v.items():
        if isinstance(h, bool) or not isinstance(h, int) or not 0 <= h <= 23:
            raise _Bad(f"{key}.{h}", "hour must be a whole number 0-23")
        out[h] = _answer(f"{key}.{h}", spec)
    return out


def _rate_by_hour(key: str, v: Any) -> dict[int, float]:
    if not isinstance(v, dict):
        raise _Bad(key, "must map hours 0-23 to calls per hour")
    out = {}
    for h, r in v.items():
        if isinstance(h, bool) or not isinstance(h, int) or not 0 <= h <= 23:
            raise _Bad(f"{key}.{h}", "hour must be a whole number 0-23")
        out[h] = nonneg(f"{key}.{h}", r)
    return out


def _list_of(schema) -> Callable[[str, Any], list]:
    def check(key: str, v: Any) -> list:
        if not isinstance(v, list):
            raise _Bad(key, f"must be a list, got {v!r}")
        return [
            _mapping(f"{key}[{i}]", item, schema)
            if isinstance(schema, dict)
            else schema(f"{key}[{i}]", item)
            for i, item in enumerate(v)
        ]

    return check


def _window(key: str, v: Any) -> tuple[float, float]:
    if not isinstance(v, list | tuple) or len(v) != 2:
        raise _Bad(key, "must be [start, end]")
    a, b = clock(f"{key}[0]", v[0]), clock(f"{key}[1]", v[1])
    if b <= a:
        raise _Bad(key, "end must be after start")
    return (a, b)


def _policies(key: str, v: Any) -> dict[str, dict]:
    if not isinstance(v, dict):
        raise _Bad(key, "must map policy names to parameter mappings")
    from .policies import POLICY_NAMES

    out = {}
    for name, params in v.items():
        if name not in POLICY_NAMES:
            raise _Bad(f"{key}.{name}", f"unknown policy; known: {sorted(POLICY_NAMES)}")
        if not isinstance(params, dict):
            raise _Bad(f"{key}.{name}", "must be a mapping of parameters")
        out[name] = dict(params)
    return out


ANSWER = {"human": prob, "machine": prob, "busy": prob, "invalid": prob}
BREAK = {"at": nonneg, "length": positive, "stagger": nonneg}
SHIFT = {"agents": count, "start": nonneg, "end": positive, "breaks": _list_of(BREAK)}
SCHEMA: dict[str, Any] = {
    "name": text,
    "version": count,
    "description": text,
    "extends": text,
    "duration": positive,
    "start": clock,
    "agents": count,
    "tick": positive,
    "interval": positive,
    "warmup": nonneg,
    "shifts": _list_of(SHIFT),
    "outbound": {
        "enabled": boolean,
        "answer": _answer,
        "answer_by_hour": _answer_by_hour,
        "time_to_answer": dist,
        "ring_timeout": positive,
        "busy_time": positive,
        "invalid_time": positive,
        "right_party": prob,
        "talk": dist,
        "talk_other": dist,
        "wrap": dist,
        "patience": opt_dist,
        "machine_handle": nonneg,
        "amd": {
            "enabled": boolean,
            "human_as_machine": prob,
            "human_notsure": prob,
            "machine_as_human": prob,
            "machine_notsure": prob,
            "delay": dist,
            "on_machine": choice("hangup", "agent"),
            "on_notsure": choice("hangup", "agent"),
        },
        "retries": {
            "enabled": boolean,
            "delay": positive,
            "max_attempts": count,
            "machines": boolean,
        },
        "callbacks": {"rate": prob, "delay": nonneg, "answer": prob},
    },
    "inbound": {
        "enabled": boolean,
        "rate": nonneg,
        "rate_by_hour": _rate_by_hour,
        "talk": dist,
        "wrap": dist,
        "patience": opt_dist,
        "service_target": nonneg,
    },
    "compliance": {
        "abandon_cap": prob,
        "connect_window": nonneg,
        "min_ring": nonneg,
        "calling_hours": _list_of(_window),
    },
    "policies": _policies,
}

DEFAULTS: dict[str, Any] = {
    "name": "unnamed",
    "version": 1,
    "description": "",
    "duration": 3600,
    "start": "09:00",
    "agents": 10,
    "tick": 1,
    "interval": 900,
    "warmup": 0,
    "outbound": {
        "enabled": True,
        "answer": {"human": 0.3, "machine": 0.1, "busy": 0.05, "invalid": 0.05},
        "answer_by_hour": {},
        "time_to_answer": {"dist": "uniform", "low": 5, "high": 25},
        "ring_timeout": 30,
        "busy_time": 5,
        "invalid_time": 2,
        "right_party": 1.0,
        "talk": {"dist": "exponential", "mean": 120},
        "talk_other": {"dist": "exponential", "mean": 30},
        "wrap": {"dist": "fixed", "value": 5},
        "patience": None,
        "machine_handle": 20,
        "amd": {
            "enabled": False,
            "human_as_machine": 0.1,
            "human_notsure": 0.0,
            "machine_as_human": 0.1,
            "machine_notsure": 0.0,
            "delay": {"dist": "uniform", "low": 1, "high": 2},
            "on_machine": "hangup",
            "on_notsure": "agent",
        },
        "retries": {"enabled": False, "delay": 3600, "max_attempts": 3, "machines": True},
        "callbacks": {"rate": 0.0, "delay": 3600, "answer": 0.7},
    },
    "inbound": {
        "enabled": False,
        "rate": 0,
        "rate_by_hour": {},
        "talk": {"dist": "exponential", "mean": 180},
        "wrap": {"dist": "fixed", "value": 0},
        "patience": None,
        "service_target": 20,
    },
    "compliance": {
        "abandon_cap": 0.03,
        "connect_window": 2,
        "min_ring": 15,
        "calling_hours": [["08:00", "21:00"]],
    },
    "policies": {},
}


def _mapping(key: str, v: Any, schema: dict) -> dict:
    if not isinstance(v, dict):
        raise _Bad(key, f"must be a mapping, got {v!r}")
    out = {}
    for k, item in v.items():
        sub = f"{key}.{k}" if key else str(k)
        if k not in schema:
            raise _Bad(sub, f"unknown key (known: {', '.join(sorted(schema))})")
        rule = schema[k]
        out[k] = _mapping(sub, item, rule) if isinstance(rule, dict) else rule(sub, item)
    return out


def _merge(base: dict, over: Mapping) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if (
            isinstance(v, Mapping)
            and isinstance(out.get(k), dict)
            and "dist" not in v
            and k not in ("policies",)
        ):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read(path: Path) -> dict:
    text_ = path.read_text()
    data = tomllib.loads(text_) if path.suffix == ".toml" else yaml.safe_load(text_)
    if not isinstance(data, dict):
        raise ScenarioError(str(path), "<top>", "a scenario file must hold a mapping")
    return data


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped in ``callcore.sim.scenarios``."""
    root = resources.files("callcore.sim.scenarios")
    return sorted(
        p.name.rsplit(".", 1)[0]
        for p in root.iterdir()
        if p.name.endswith((".yaml", ".toml")) and not p.name.startswith("_")
    )


def _locate(name_or_path: str, relative_to: Path | None = None) -> Path:
    p = Path(name_or_path)
    if relative_to is not None and not p.is_absolute():
        cand = relative_to.parent / p
        if cand.exists():
            return cand
    if p.exists():
        return p
    root = resources.files("callcore.sim.scenarios")
    for ext in (".yaml", ".toml"):
        cand = root / f"{name_or_path}{ext}"
        if cand.is_file():
            return Path(str(cand))
    raise ScenarioError(
        name_or_path,
        "<file>",
        f"no such file or bundled scenario ({', '.join(bundled_scenarios())})",
    )


def _raw_with_extends(path: Path, seen: tuple[str, ...] = ()) -> dict:
    raw = _read(path)
    parent = raw.get("extends")
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ScenarioError(str(path), "extends", "must be a scenario name or path")
    ppath = _locate(parent, path)
    if str(ppath) in seen:
        raise ScenarioError(str(path), "extends", "circular extends")
    base = _raw_with_extends(ppath, (*seen, str(path)))
    base.pop("name", None)
    base.pop("description", None)
    return _merge(base, {k: v for k, v in raw.items() if k != "extends"})


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``data`` holds every parameter, defaults filled in."""

    name: str
    version: int
    data: dict = field(repr=False)
    source: str = "<dict>"

    @classmethod
    def from_dict(cls, raw: Mapping, source: str = "<dict>") -> Scenario:
        try:
            _mapping("", dict(raw), SCHEMA)  # reject unknown keys and bad values first
            merged = _merge(DEFAULTS, raw)
            data = _mapping("", merged, SCHEMA)
            _cross_checks(data)
        except _Bad as e:
            raise ScenarioError(source, e.key, e.reason) from None
        return cls(data["name"], data["version"], data, source)

    @classmethod
    def load(cls, name_or_path: str | Path) -> Scenario:
        path = _locate(str(name_or_path))
        return cls.from_dict(_raw_with_extends(path), str(path))

    def get(self, dotted: str) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            node = node[part]
        return node

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A copy with dotted keys replaced (``{"outbound.amd.enabled": True}``)."""
        raw = _undist(self.data)
        for dotted, v in overrides.items():
            node = raw
            parts = dotted.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = v
        return Scenario.from_dict(raw, f"{self.source} (overridden)")


def _undist(d: Any) -> Any:
    """Back to plain YAML-like data (distributions as mappings)."""
    if isinstance(d, Distribution):
        keys = {
            "fixed": {"value": d.a},
            "uniform": {"low": d.a, "high": d.b},
            "exponential": {"mean": d.a},
            "lognormal": {"mean": d.a, "sd": d.b},
            "empirical": {"values": list(d.values)},
        }[d.kind]
        return {"dist": d.kind, **keys}
    if isinstance(d, dict):
        return {k: _undist(v) for k, v in d.items()}
    if isinstance(d, list | tuple):
        return [_undist(v) for v in d]
    return d


def _cross_checks(d: dict) -> None:
    out = d["outbound"]
    comp = d["compliance"]
    if out["enabled"] and out["ring_timeout"] < comp["min_ring"]:
        raise _Bad(
            "outbound.ring_timeout",
            f"{out['ring_timeout']} s is below the minimum ring time {comp['min_ring']} s",
        )
    amd = out["amd"]
    if amd["human_as_machine"] + amd["human_notsure"] > 1:
        raise _Bad("outbound.amd.human_notsure", "human verdict probabilities sum above 1")
    if amd["machine_as_human"] + amd["machine_notsure"] > 1:
        raise _Bad("outbound.amd.machine_notsure", "machine verdict probabilities sum above 1")
    if out["enabled"] and d["warmup"] > 0:
        raise _Bad("warmup", "a warm-up is for inbound-only studies (policies see counters)")
    ratio = d["duration"] / d["tick"]
    if abs(ratio - round(ratio)) > 1e-9:
        raise _Bad("duration", f"must be a whole number of ticks ({d['tick']} s)")
    if d["warmup"] >= d["duration"]:
        raise _Bad("warmup", "must be shorter than the duration")
    for i, sh in enumerate(d.get("shifts", [])):
        if sh.get("end", 0) <= sh.get("start", 0):
            raise _Bad(f"shifts[{i}].end", "must be after start")
    if "shifts" in d and sum(s.get("agents", 0) for s in d["shifts"]) != d["agents"]:
        raise _Bad("shifts", f"shift agents must add up to agents ({d['agents']})")
    if not out["enabled"] and not d["inbound"]["enabled"]:
        raise _Bad("outbound.enabled", "neither outbound nor inbound is enabled")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a bundled scenario by name or a scenario file by path."""
    return Scenario.load(name_or_path)
