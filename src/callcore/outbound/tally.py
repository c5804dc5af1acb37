"""A campaign's running counts, and the :class:`~callcore.pacing.PacingState` built from them.

The live dialer and the simulator must hand a pacing policy the *same*
observable state, or the pacing lab's results say nothing about the live
dialer. :class:`CampaignTally` is the live side of that contract: the dialer
reports each attempt's steps (dialed, resolved, answered, routed, connected,
abandoned) and reads :meth:`CampaignTally.pacing_state` once per decision,
with the agents' counts from the ACD (:class:`AgentCounts`).

Sans-IO: every method takes ``now`` (seconds on the dialer's clock).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from callcore.pacing.state import PacingState

__all__ = ["AgentCounts", "AmdConfusion", "CampaignTally", "agent_counts"]


@dataclass(frozen=True, slots=True)
class AgentCounts:
    """The campaign's agents at one instant (from the ACD)."""

    idle: int = 0
    talking: int = 0
    wrapup: int = 0
    away: int = 0
    talk_elapsed: tuple[float, ...] = ()
    wrap_elapsed: tuple[float, ...] = ()


@dataclass(slots=True)
class AmdConfusion:
    """AMD verdicts against the truth, when the truth is known (tests, pilots)."""

    counts: Counter = field(default_factory=Counter)  # (truth, verdict) -> n

    def add(self, truth: str, verdict: str) -> None:
        self.counts[(truth, verdict)] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def accuracy(self) -> float:
        """Share of answered calls whose verdict matched the truth (0 when none)."""
        n = self.total
        return sum(v for (t, p), v in self.counts.items() if t == p) / n if n else 0.0

    def rate(self, truth: str, verdict: str) -> float:
        """P(verdict | truth)."""
        n = sum(v for (t, _), v in self.counts.items() if t == truth)
        return self.counts[(truth, verdict)] / n if n else 0.0


@dataclass(slots=True)
class CampaignTally:
    """Counts of one campaign since it started (see module doc).

    ``abandons`` counts humans not connected to an agent within the connect
    window, plus humans hung up on because AMD called them machines
    (``abandons_amd``) — the Ofcom definition, so the rate matches the
    simulator's.
    """

    started_at: float = 0.0
    dials: int = 0
    resolved: int = 0
    answers: int = 0
    answer_delay: float = 0.0
    routed: int = 0
    live: int = 0
    connected: int = 0
    abandons: int = 0
    abandons_amd: int = 0
    ringing: int = 0
    waiting: int = 0
    outcomes: Counter = field(default_factory=Counter)
    amd: AmdConfusion = field(default_factory=AmdConfusion)
    connect_delays: list[float] = field(default_factory=list)

    # ---------------------------------------------------------- attempt steps
    def dialed(self, now: float) -> None:
        self.dials += 1
        self.ringing += 1

    def unanswered(self, now: float, outcome: str) -> None:
        """The attempt ended without an answer (busy, no answer, rejected, failed...)."""
        self.ringing -= 1
        self.resolved += 1
        self.outcomes[outcome] += 1

    def answered(self, now: float, ring_seconds: float) -> None:
        """Answered by someone or something; classification follows."""
        self.ringing -= 1
        self.resolved += 1
        self.answers += 1
        self.answer_delay += max(0.0, ring_seconds)

    def classified(self, outcome: str, *, truth: str | None = None) -> None:
        """An answered call's verdict (human, machine, fax, unknown)."""
        self.outcomes[outcome] += 1
        if truth is not None:
            self.amd.add(truth, outcome)
        if truth == "human" and outcome in ("machine", "fax"):
            # a person hung up on as a machine: abandoned as Ofcom counts it
            self.live += 1
            self.abandons += 1
            self.abandons_amd += 1

    def routing(self, now: float) -> None:
        """An answered human now waits for an agent (the connect window runs)."""
        self.routed += 1
        self.live += 1
        self.waiting += 1

    def connected_agent(self, now: float, waited: float) -> None:
        self.waiting -= 1
        self.connected += 1
        self.connect_delays.append(waited)

    def abandoned(self, now: float, waited: float) -> None:
        """No agent within the connect window (or the person hung up first)."""
        self.waiting -= 1
        self.abandons += 1

    # ---------------------------------------------------------------- views
    @property
    def abandon_rate(self) -> float:
        """Abandoned ÷ live answers (0 before the first live answer)."""
        return self.abandons / self.live if self.live else 0.0

    def pacing_state(self, now: float, time_of_day: float, agents: AgentCounts) -> PacingState:
        """What a pacing policy sees now (the same fields the simulator fills)."""
        return PacingState(
            time=now - self.started_at,
            time_of_day=time_of_day,
            agents_idle=agents.idle,
            agents_talking=agents.talking,
            agents_wrapup=agents.wrapup,
            agents_away=agents.away,
            calls_ringing=max(0, self.ringing),
            calls_waiting=max(0, self.waiting),
            dials_total=self.dials,
            resolved_total=self.resolved,
            answers_total=self.answers,
            answer_delay_total=self.answer_delay,
            routed_total=self.routed,
            live_total=self.live,
            abandons_total=self.abandons,
            abandons_amd_total=self.abandons_amd,
            talk_elapsed=agents.talk_elapsed,
            wrap_elapsed=agents.wrap_elapsed,
        )

    def summary(self) -> dict[str, float | int]:
        return {
            "dials": self.dials,
            "answers": self.answers,
            "live": self.live,
            "connected": self.connected,
            "abandons": self.abandons,
            "abandons_amd": self.abandons_amd,
            "abandon_rate": round(self.abandon_rate, 4),
            **{f"outcome_{k}": v for k, v in sorted(self.outcomes.items())},
        }


def agent_counts(agents: Iterable, now: float) -> AgentCounts:
    """:class:`AgentCounts` from :class:`~callcore.center.agents.Agent` objects."""
    idle = talking = wrap = away = 0
    talk_el: list[float] = []
    wrap_el: list[float] = []
    for a in agents:
        status, state = a.status.value, a.state.value
        if status != "available":
            if state == "on_call":
                talking += 1
                talk_el.append(now - (a.answered_at or now))
            else:
                away += 1
            continue
        if state == "idle":
            if a.ready:
                idle += 1
            else:
                away += 1  # a reject/no-answer delay: not dialable for yet
        elif state == "reserved":  # being rung for a call: busy from now on
            talking += 1
            talk_el.append(0.0)
        elif state == "on_call":
            talking += 1
            talk_el.append(now - (a.answered_at or now))
        else:
            wrap += 1
            since = a.history[-1].at if a.history else now
            wrap_el.append(now - since)
    return AgentCounts(idle, talking, wrap, away, tuple(talk_el), tuple(wrap_el))
