"""Agents: identity, devices, skills, teams, status vs state, counters, history.

*Status* is what the agent chooses (logged out, available, not ready with a
reason code, on break). *State* is what the system sets (idle,
reserved/ringing, on call, wrap-up). An agent can take a call only when
available, idle and past any reject/busy/no-answer delay.

Both machines are tables (:data:`STATE_TABLE`, :data:`STATUS_ALLOWED`); every
change is appended to the agent's history and reported to the pool's sink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .events import AgentStateChanged, AgentStatusChanged, Event


class AgentStatus(StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    NOT_READY = "not_ready"
    ON_BREAK = "on_break"


class AgentState(StrEnum):
    IDLE = "idle"
    RESERVED = "reserved"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


#: (state, action) -> new state. Anything else is an :class:`IllegalTransition`.
STATE_TABLE: dict[tuple[AgentState, str], AgentState] = {
    (AgentState.IDLE, "reserve"): AgentState.RESERVED,
    (AgentState.RESERVED, "answer"): AgentState.ON_CALL,
    (AgentState.RESERVED, "release"): AgentState.IDLE,
    (AgentState.ON_CALL, "hangup"): AgentState.WRAP_UP,
    (AgentState.WRAP_UP, "wrap_done"): AgentState.IDLE,
}

#: status -> statuses the agent may switch to from it.
STATUS_ALLOWED: dict[AgentStatus, frozenset[AgentStatus]] = {
    AgentStatus.LOGGED_OUT: frozenset(),  # only login() leaves it
    AgentStatus.AVAILABLE: frozenset(
        {AgentStatus.NOT_READY, AgentStatus.ON_BREAK, AgentStatus.LOGGED_OUT}
    ),
    AgentStatus.NOT_READY: frozenset(
        {AgentStatus.AVAILABLE, AgentStatus.NOT_READY, AgentStatus.ON_BREAK, AgentStatus.LOGGED_OUT}
    ),
    AgentStatus.ON_BREAK: frozenset(
        {AgentStatus.AVAILABLE, AgentStatus.NOT_READY, AgentStatus.LOGGED_OUT}
    ),
}


# plain module constants: enum attribute access is slow in hot paths
_AVAILABLE = AgentStatus.AVAILABLE
_IDLE = AgentState.IDLE


class AgentError(Exception):
    """Base class of agent misuse errors."""


class UnknownAgent(AgentError, KeyError):
    def __str__(self) -> str:
        return f"unknown agent {self.args[0]!r}"


class AlreadyLoggedIn(AgentError):
    pass


class NotLoggedIn(AgentError):
    pass


class DeviceNotRegistered(AgentError):
    pass


class IllegalTransition(AgentError):
    pass


@dataclass(frozen=True, slots=True)
class Device:
    """Where an agent is rung: a registered SIP AOR (``kind="sip"``) or a mobile number."""

    address: str
    kind: str = "sip"

    def __post_init__(self) -> None:
        if self.kind not in ("sip", "mobile"):
            raise ValueError(f"device kind must be 'sip' or 'mobile', not {self.kind!r}")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: float
    what: str  # "status" or "state"
    old: str
    new: str
    detail: str | None = None


@dataclass(slots=True, eq=False)
class Agent:
    """One agent. Mutable counters; change it only through :class:`AgentPool`."""

    id: str
    name: str = ""
    extension: str = ""
    devices: tuple[Device, ...] = ()
    skills: Mapping[str, int] = field(default_factory=dict)
    teams: frozenset[str] = frozenset()
    status: AgentStatus = AgentStatus.LOGGED_OUT
    state: AgentState = AgentState.IDLE
    reason: str | None = None
    active_devices: tuple[Device, ...] = ()
    calls_today: int = 0
    talk_time: float = 0.0
    idle_since: float = 0.0
    ready_at: float = 0.0
    no_answer_count: int = 0
    call_id: str | None = None
    answered_at: float | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    #: maintained by the pool: available, idle and past any delay
    ready: bool = False

    def has_skill(self, skill: str, level: int = 1) -> bool:
        return self.skills.get(skill, 0) >= level

    def __repr__(self) -> str:
        return f"Agent({self.id!r}, {self.status}, {self.state})"


@dataclass(frozen=True, slots=True)
class AgentTimers:
    """Per-pool timing rules (seconds), FreeSWITCH mod_callcenter style.

    ``max_no_answer`` consecutive unanswered offers put the agent in
    ``NOT_READY`` with reason ``"max-no-answer"`` (0 disables).
    """

    max_no_answer: int = 3
    no_answer_delay: float = 0.0
    reject_delay: float = 0.0
    busy_delay: float = 0.0


class AgentPool:
    """Registry of agents and the only place that changes their status and state.

    ``is_registered(aor)`` tells whether a SIP device is registered now; it
    guards login. ``sink`` receives every :class:`AgentStatusChanged` and
    :class:`AgentStateChanged`.
    """

    def __init__(
        self,
        *,
        is_registered: Callable[[str], bool] = lambda aor: True,
        timers: AgentTimers | None = None,
        sink: Callable[[Event], None] | None = None,
    ) -> None:
        self._agents: dict[str, Agent] = {}
        self.is_registered = is_registered
        self.timers = timers or AgentTimers()
        self.sink = sink or (lambda e: None)

    # ----------------------------------------------------------- registry
    def add(self, agent: Agent) -> Agent:
        if agent.id in self._agents:
            raise AgentError(f"agent {agent.id!r} already exists")
        self._agents[agent.id] = agent
        return agent

    def get(self, agent_id: str) -> Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def __iter__(self):
        return iter(self._agents.values())

    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._agents

    # ------------------------------------------------------------- status
    def login(
        self,
        agent_id: str,
        now: float,
        devices: Iterable[Device] | None = None,
        *,
        available: bool = True,
    ) -> Agent:
        """Log in on ``devices`` (default: all the agent's devices).

        Raises :class:`AlreadyLoggedIn` or :class:`DeviceNotRegistered`.
        """
        a = self.get(agent_id)
        if a.status is not AgentStatus.LOGGED_OUT:
            raise AlreadyLoggedIn(f"agent {agent_id!r} is already logged in ({a.status})")
        devs = tuple(devices) if devices is not None else a.devices
        if not devs:
            raise DeviceNotRegistered(f"agent {agent_id!r} has no device to log in on")
        for d in devs:
            if d.kind == "sip" and not self.is_registered(d.address):
                raise DeviceNotRegistered(
                    f"agent {agent_id!r}: device {d.address!r} is not registered"
                )
        a.active_devices = devs
        a.no_answer_count = 0
        a.idle_since = now
        a.ready_at = now
        self._set_status(a, AgentStatus.AVAILABLE if available else AgentStatus.NOT_READY, now)
        return a

    def set_status(
        self, agent_id: str, status: AgentStatus, now: float, reason: str | None = None
    ) -> Agent:
        """Agent-driven change among available / not ready / on break / logged out."""
        a = self.get(agent_id)
        status = AgentStatus(status)
        if a.status is AgentStatus.LOGGED_OUT:
            raise NotLoggedIn(f"agent {agent_id!r} is logged out")
        if status not in STATUS_ALLOWED[a.status] and status is not a.status:
            raise IllegalTransition(f"agent {agent_id!r}: {a.status} -> {status} not allowed")
        if status is AgentStatus.LOGGED_OUT and a.state is AgentState.ON_CALL:
            raise IllegalTransition(f"agent {agent_id!r} is on a call; hang up before logging out")
        if status is AgentStatus.AVAILABLE:
            a.no_answer_count = 0
        self._set_status(a, status, now, reason)
        return a

    def _set_status(
        self, a: Agent, status: AgentStatus, now: float, reason: str | None = None
    ) -> None:
        old = a.status
        a.status = status
        a.reason = reason if status is AgentStatus.NOT_READY or reason else None
        if status is AgentStatus.LOGGED_OUT:
            a.active_devices = ()
        a.history.append(HistoryEntry(now, "status", old.value, status.value, reason))
        self._refresh(a, now)
        self.sink(AgentStatusChanged(now, a.id, old.value, status.value, reason))

    # -------------------------------------------------------------- state
    def transition(
        self,
        agent_id: str,
        action: str,
        now: float,
        *,
        call_id: str | None = None,
        queue: str | None = None,
    ) -> Agent:
        """Apply a system action from :data:`STATE_TABLE`."""
        a = self.get(agent_id)
        try:
            new = STATE_TABLE[(a.state, action)]
        except KeyError:
            raise IllegalTransition(
                f"agent {agent_id!r}: action {action!r} not allowed in state {a.state}"
            ) from None
        if action == "reserve":
            if not a.ready or now < a.ready_at:
                raise IllegalTransition(f"agent {agent_id!r} is not ready for a call")
            a.call_id = call_id
        elif action == "answer":
            a.answered_at = now
            a.calls_today += 1
            a.no_answer_count = 0
        elif action == "hangup":
            if a.answered_at is not None:
                a.talk_time += now - a.answered_at
            a.answered_at = None
        elif action in ("release", "wrap_done"):
            call_id = call_id or a.call_id
            a.call_id = None
            a.idle_since = now
        old = a.state
        a.state = new
        a.history.append(HistoryEntry(now, "state", old.value, new.value, call_id))
        self._refresh(a, now)
        self.sink(AgentStateChanged(now, a.id, old.value, new.value, call_id, queue))
        return a

    def missed(self, agent_id: str, now: float, kind: str) -> Agent:
        """Record an unanswered (``"no_answer"``), rejected or busy offer; release the agent.

        Applies the matching delay and, after ``max_no_answer`` misses in a
        row, puts the agent in not-ready with reason ``"max-no-answer"``.
        """
        t = self.timers
        delay = {"no_answer": t.no_answer_delay, "reject": t.reject_delay, "busy": t.busy_delay}[
            kind
        ]
        a = self.get(agent_id)
        a.ready_at = max(a.ready_at, now + delay)
        if kind == "no_answer":
            a.no_answer_count += 1
        self.transition(agent_id, "release", now)
        if (
            kind == "no_answer"
            and t.max_no_answer
            and a.no_answer_count >= t.max_no_answer
            and a.status is AgentStatus.AVAILABLE
        ):
            self._set_status(a, AgentStatus.NOT_READY, now, "max-no-answer")
        return a

    def reset_daily(self) -> None:
        """Zero the per-day counters (calls today, talk time) of every agent."""
        for a in self._agents.values():
            a.calls_today = 0
            a.talk_time = 0.0

    def refresh(self, agent_id: str, now: float) -> bool:
        """Recompute readiness (after a delay expired); return it."""
        a = self.get(agent_id)
        self._refresh(a, now)
        return a.ready

    @staticmethod
    def _refresh(a: Agent, now: float) -> None:
        a.ready = a.status is _AVAILABLE and a.state is _IDLE and now >= a.ready_at
