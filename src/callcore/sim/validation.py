"""Simulator-vs-Erlang validation configurations (inbound M/M/n and M/M/n+M)."""

from __future__ import annotations

from dataclasses import dataclass

from .erlang import ErlangC, erlang_a
from .scenario import Scenario

__all__ = ["ERLANG_CONFIGS", "ErlangConfig", "erlang_scenario"]


@dataclass(frozen=True)
class ErlangConfig:
    """An inbound queue with Poisson arrivals and exponential service (and patience)."""

    agents: int
    calls_per_hour: float = 200.0
    aht: float = 180.0
    patience: float | None = None  #: mean of exponential patience; None = M/M/n

    @property
    def label(self) -> str:
        kind = "M/M/n" if self.patience is None else f"M/M/n+M (patience {self.patience:g} s)"
        return f"{kind}, A={self.calls_per_hour * self.aht / 3600:g} E, n={self.agents}"

    def analytic(self) -> dict[str, float]:
        lam = self.calls_per_hour / 3600.0
        if self.patience is None:
            c = ErlangC.compute(lam, self.aht, self.agents, 20.0)
            return {"in_p_wait": c.p_wait, "in_asa": c.asa, "in_p_abandon": 0.0}
        a = erlang_a(lam, self.aht, self.patience, self.agents)
        return {"in_p_wait": a.p_wait, "in_asa": a.mean_wait, "in_p_abandon": a.p_abandon}


#: The configurations of the REFERENCE test vectors (A = 10 Erlangs).
ERLANG_CONFIGS = (
    ErlangConfig(11),
    ErlangConfig(12),
    ErlangConfig(13),
    ErlangConfig(14),
    ErlangConfig(15),
    ErlangConfig(10, patience=60.0),
    ErlangConfig(12, patience=60.0),
    ErlangConfig(14, patience=60.0),
    ErlangConfig(10, patience=180.0),
)


def erlang_scenario(cfg: ErlangConfig, hours: float = 50.0, warmup: float = 3600.0) -> Scenario:
    """An inbound-only scenario reproducing ``cfg`` (statistics after ``warmup`` s)."""
    inbound = {
        "enabled": True,
        "rate": cfg.calls_per_hour,
        "talk": {"dist": "exponential", "mean": cfg.aht},
        "wrap": {"dist": "fixed", "value": 0},
        "service_target": 20,
    }
    if cfg.patience is not None:
        inbound["patience"] = {"dist": "exponential", "mean": cfg.patience}
    return Scenario.from_dict(
        {
            "name": f"erlang-n{cfg.agents}" + (f"-p{cfg.patience:g}" if cfg.patience else ""),
            "description": cfg.label,
            "duration": warmup + hours * 3600.0,
            "warmup": warmup,
            "start": "00:00",
            "agents": cfg.agents,
            "interval": 3600,
            "tick": 60,
            "outbound": {"enabled": False},
            "inbound": inbound,
        },
        source=f"<erlang {cfg.label}>",
    )
