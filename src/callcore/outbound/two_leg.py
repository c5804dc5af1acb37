"""Two-leg calls: ring the agent first, then the customer, then bridge.

This is how click-to-call from a web page, preview dialing and roaming agents
work: the agent's phone (a registered extension, or a mobile number through the
center's ``external_uri``) rings first and shows the customer's number; once
the agent answers they hear ringback while the customer is dialed with the
*company* number as caller id; when the customer answers the two legs are
bridged with media anchored in callcore (so it can be recorded). If the
customer does not answer, the agent hears why and the agent leg is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callcore.media.tones import TONE_PLANS, ToneGenerator, ToneSequence, render
from callcore.switch.bridge import bridge
from callcore.switch.call import CallError

from .progress import Outcome, outcome_from_sip

if TYPE_CHECKING:
    from callcore.switch.call import Call
    from callcore.switch.endpoint import Endpoint

__all__ = ["TwoLegResult", "two_leg_call"]

_SORRY = {
    "busy": "The customer's line is busy.",
    "no_answer": "The customer did not answer.",
    "invalid_number": "The customer's number is not in service.",
}


@dataclass(slots=True)
class TwoLegResult:
    """How a two-leg call went. ``outcome`` is ``bridged`` or why not:
    ``agent_<outcome>`` when the agent leg failed, else the customer's
    :class:`~callcore.outbound.progress.Outcome` value (``busy``, ``no_answer``…)."""

    outcome: str
    agent: Call | None = None
    customer: Call | None = None
    customer_status: int | None = None
    bridged_at: float | None = None
    ended_at: float | None = None

    @property
    def bridged(self) -> bool:
        return self.outcome == "bridged"


async def two_leg_call(
    endpoint: Endpoint,
    agent_uri: str,
    customer_uri: str,
    *,
    company_number: str,
    customer_number: str = "",
    agent_timeout: float = 20.0,
    customer_timeout: float = 30.0,
    tones: str = "cn",
    wait: bool = True,
    say=None,
) -> TwoLegResult:
    """Ring ``agent_uri``, then ``customer_uri`` showing ``company_number``, then bridge.

    ``customer_number`` is what the agent's phone displays. With ``wait`` the
    call returns when the bridge ends; otherwise as soon as it is bridged (the
    bridge goes on in the background). ``say`` renders a text to PCM for the
    message the agent hears when the customer is not reached (default: a
    short busy tone).
    """
    res = await endpoint.dial(
        agent_uri, caller=customer_number or company_number, timeout=agent_timeout
    )
    if not res.answered or res.call is None:
        return TwoLegResult(f"agent_{res.outcome}")
    agent = res.call
    if agent.session is not None:
        gen = ToneGenerator(TONE_PLANS[tones].ringback)
        agent.session.source = lambda: gen.read(160)
    dial = asyncio.ensure_future(
        endpoint.dial(
            customer_uri,
            caller=company_number,
            timeout=customer_timeout,
            asserted_identity=f"tel:{company_number}",
        )
    )
    gone = asyncio.ensure_future(agent.wait_hangup())
    await asyncio.wait([dial, gone], return_when=asyncio.FIRST_COMPLETED)
    if not dial.done():  # the agent gave up while the customer rang: CANCEL
        dial.cancel()
        with contextlib.suppress(asyncio.CancelledError, CallError):
            late = await dial
            if late.call is not None:
                await late.call.hangup()
        return TwoLegResult("agent_hangup", agent)
    gone.cancel()
    cres = dial.result()
    if not cres.answered or cres.call is None:
        outcome = (
            Outcome.NO_ANSWER
            if cres.outcome in ("no_answer", "cancelled")
            else outcome_from_sip(cres.status, cres.reason)
        )
        with contextlib.suppress(CallError):
            if say is not None:
                await agent.play(await say(_SORRY.get(str(outcome), "The call failed.")),
                                 interruptible=False)  # fmt: skip
            else:
                busy = ToneSequence(TONE_PLANS[tones].busy.segments, repeat=3)
                await agent.play(render(busy), interruptible=False)
            await agent.hangup()
        return TwoLegResult(str(outcome), agent, None, cres.status)
    customer = cres.call
    result = TwoLegResult("bridged", agent, customer, cres.status, time.time())
    if agent.ended:
        await customer.hangup()
        result.outcome = "agent_hangup"
        return result
    task = asyncio.ensure_future(bridge(customer, agent))
    if wait:
        await task
        result.ended_at = time.time()
    return result
