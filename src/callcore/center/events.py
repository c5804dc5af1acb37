"""Events and commands of the contact-center core.

Everything here is a frozen, slotted dataclass. *Events* report what changed
(agent status/state, a call joining, being answered, abandoning...); they feed
the statistics and the event stream. *Commands* are what the sans-IO ACD asks
the live layer to do (ring an agent, bridge, play an announcement, overflow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time in seconds (monotonic or epoch)."""

    def now(self) -> float: ...


class FakeClock:
    """A settable clock for tests and simulations."""

    __slots__ = ("t",)

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def advance(self, dt: float) -> float:
        self.t += dt
        return self.t


# --------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class AgentStatusChanged:
    """The agent changed their own status (login, available, not ready, break, logout)."""

    at: float
    agent_id: str
    old: str
    new: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """The system changed the agent's state (idle, reserved, on call, wrap-up)."""

    at: float
    agent_id: str
    old: str
    new: str
    call_id: str | None = None
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class CallQueued:
    at: float
    call_id: str
    queue: str
    position: int
    priority: int = 0


@dataclass(frozen=True, slots=True)
class CallRefused:
    """A call could not join a queue (full, empty queue and join-empty off)."""

    at: float
    call_id: str
    queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class CallOfferedEvent:
    at: float
    call_id: str
    queue: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class CallAnswered:
    at: float
    call_id: str
    queue: str
    agent_id: str
    wait: float


@dataclass(frozen=True, slots=True)
class CallAbandoned:
    at: float
    call_id: str
    queue: str
    wait: float


@dataclass(frozen=True, slots=True)
class CallOverflowed:
    at: float
    call_id: str
    queue: str
    target: str
    reason: str
    wait: float


@dataclass(frozen=True, slots=True)
class CallCompleted:
    """A bridged call ended; ``talk`` is the bridged time, ``wrap`` the queue's wrap-up."""

    at: float
    call_id: str
    queue: str
    agent_id: str
    talk: float
    wrap: float


# ------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Ring ``agent_id`` on ``devices`` for ``call_id``; answer within ``timeout`` s.

    ``whisper`` is the text to announce to the agent before bridging.
    """

    call_id: str
    agent_id: str
    devices: tuple[str, ...]
    queue: str
    timeout: float
    whisper: str = ""


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing ``agent_id`` for ``call_id`` (answered elsewhere, caller gone, timeout)."""

    call_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Bridge:
    call_id: str
    agent_id: str
    queue: str


@dataclass(frozen=True, slots=True)
class PlayAnnouncement:
    """Tell a waiting caller their position and expected wait (``kind``: position/periodic)."""

    call_id: str
    queue: str
    kind: str
    position: int
    expected_wait: float | None


@dataclass(frozen=True, slots=True)
class HoldMusic:
    """Start music on hold (class ``music``) for a caller who just joined ``queue``."""

    call_id: str
    queue: str
    music: str


@dataclass(frozen=True, slots=True)
class Overflow:
    """Take ``call_id`` out of the queue towards ``target`` (``kind`` voicemail/queue/number/hangup)."""

    call_id: str
    queue: str
    kind: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class OfferCallbackChoice:
    """Offer the waiting caller a callback that keeps their place in line."""

    call_id: str
    queue: str
    position: int


@dataclass(frozen=True, slots=True)
class PlaceCallback:
    """Dial ``number`` back for the callback ``call_id``; ``agent_id`` is reserved for it."""

    call_id: str
    agent_id: str
    number: str
    queue: str
    devices: tuple[str, ...] = field(default=())


Event = (
    AgentStatusChanged
    | AgentStateChanged
    | CallQueued
    | CallRefused
    | CallOfferedEvent
    | CallAnswered
    | CallAbandoned
    | CallOverflowed
    | CallCompleted
)
Command = (
    OfferCall
    | CancelOffer
    | Bridge
    | PlayAnnouncement
    | HoldMusic
    | Overflow
    | OfferCallbackChoice
    | PlaceCallback
)
