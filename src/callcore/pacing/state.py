"""The observable state a pacing policy decides from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PacingState:
    """A snapshot of a campaign, as a dialer (live or simulated) can observe it.

    Counters named ``*_total`` are cumulative since the campaign started; policies
    derive recent rates from their differences (see :class:`~callcore.pacing.estimate.Recent`).
    ``talk_elapsed`` / ``wrap_elapsed`` hold, for each agent currently talking /
    in wrap-up, how long that phase has lasted so far (seconds, any order).
    """

    time: float  #: seconds since the campaign started (virtual or real clock)
    time_of_day: float  #: seconds since local midnight at the callee (calling-hour rules)
    agents_idle: int
    agents_talking: int
    agents_wrapup: int
    agents_away: int  #: logged out, on break or off shift
    calls_ringing: int  #: dialed, outcome not known yet
    calls_waiting: int  #: answered and waiting for an agent (the 2-second rule clock runs)
    dials_total: int  #: attempts launched
    resolved_total: int  #: attempts whose outcome is known (answered, busy, no answer...)
    answers_total: int  #: answered by a human or a machine
    answer_delay_total: float  #: sum of dial-to-answer seconds over ``answers_total``
    routed_total: int  #: answered calls sent towards an agent (passed AMD)
    live_total: int  #: answered by a human (the compliance denominator)
    abandons_total: int  #: humans not connected within the rule (incl. AMD false positives)
    abandons_amd_total: int  #: of which humans hung up on by AMD
    talk_elapsed: Sequence[float] = ()
    wrap_elapsed: Sequence[float] = ()

    @property
    def agents_active(self) -> int:
        """Agents logged in and not on break (idle, talking or in wrap-up)."""
        return self.agents_idle + self.agents_talking + self.agents_wrapup

    @property
    def calls_in_progress(self) -> int:
        """Calls ringing, waiting for an agent, or talking (Vicidial's 'auto calls')."""
        return self.calls_ringing + self.calls_waiting + self.agents_talking
