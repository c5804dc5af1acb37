"""One dial attempt as the dialer saw it (reports, tests, ``on_attempt`` hooks), and
the dialer's error."""

from __future__ import annotations

from dataclasses import dataclass

from .progress import Verdict

__all__ = ["Attempt", "DialerError"]


class DialerError(RuntimeError):
    """The dialer cannot run as configured (names what is missing)."""


@dataclass(slots=True)
class Attempt:
    """One dial attempt, as the dialer saw it (for reports and tests)."""

    record_id: str
    number: str
    dialed_at: float
    outcome: str = "ringing"  #: busy, no_answer, human, machine, fax, ... (classification)
    status: int | None = None
    answered_at: float | None = None
    verdict: Verdict | None = None
    agent_id: str | None = None
    connected_after: float | None = None  #: seconds from routing to the agent's answer
    abandoned: bool = False
    opted_out: bool = False
    result: str = ""  #: what happened after classification (answered, abandoned, flow result)
    call_id: str = ""
    ended_at: float | None = None
