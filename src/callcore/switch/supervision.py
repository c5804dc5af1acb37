"""Supervision of live bridged calls: listen, whisper, barge, force-release.

A supervisor is an ordinary answered :class:`~callcore.switch.call.Call` (a
supervisor's phone that dialed in, or a leg callcore dialed out). Supervising
an agent's leg turns the agent/customer bridge into a small three-member
:class:`~callcore.switch.conference.Conference` whose mixer does the routing:

========  ======================  ===================  =====================
mode      supervisor hears        agent hears          customer hears
========  ======================  ===================  =====================
listen    agent + customer        customer             agent
whisper   agent + customer        customer + sup.      agent (never the sup.)
barge     agent + customer        customer + sup.      agent + supervisor
========  ======================  ===================  =====================

Modes switch on the fly (:meth:`Supervision.set_mode`). When the supervisor
leaves (hangs up or :meth:`Supervision.stop`), the agent and customer are
cross-connected again as before; when either of them hangs up the supervision
ends (the running :func:`~callcore.switch.bridge.bridge`, if any, still
applies its own hang-up rule to the pair).
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from callcore.switch.bridge import connect
from callcore.switch.call import CallError
from callcore.switch.conference import Conference

if TYPE_CHECKING:
    from callcore.switch.call import Call
    from callcore.switch.endpoint import Endpoint

__all__ = ["MODES", "Mode", "Supervision", "bridged_pairs", "force_release", "supervise"]

Mode = Literal["listen", "whisper", "barge"]
MODES: tuple[str, ...] = ("listen", "whisper", "barge")


class Supervision:
    """A supervisor attached to one bridged pair (create it with :func:`supervise`)."""

    def __init__(
        self,
        supervisor: Call,
        agent: Call,
        customer: Call,
        mode: Mode = "listen",
        *,
        fastpath: ModuleType | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.supervisor = supervisor
        self.agent = agent
        self.customer = customer
        # every frame is relayed (no talk threshold): the pair must sound as bridged
        self.conference = Conference("supervision", talk_threshold=None, fastpath=fastpath)
        self._mode: Mode = mode
        self._task: asyncio.Task | None = None
        self._done = asyncio.get_running_loop().create_future()
        #: why it ended: "supervisor_left", "call_ended" or "stopped"
        self.end_reason: str | None = None

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def active(self) -> bool:
        return not self._done.done()

    def _start(self) -> None:
        conf = self.conference
        conf.join(self.customer)
        conf.join(self.agent)
        conf.join(self.supervisor, "listener")
        self._apply(self._mode)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def _apply(self, mode: Mode) -> None:
        conf, sup = self.conference, self.supervisor
        conf.set_role(sup, "listener" if mode == "listen" else "speaker")
        conf.whisper(sup, self.agent if mode == "whisper" else None)
        self._mode = mode
        sup._emit("supervision", mode)

    def set_mode(self, mode: Mode) -> None:
        """Switch between ``listen``, ``whisper`` and ``barge`` without re-joining."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if not self.active:
            raise CallError("the supervision has ended")
        self._apply(mode)

    def listen(self) -> None:
        self.set_mode("listen")

    def whisper(self) -> None:
        self.set_mode("whisper")

    def barge(self) -> None:
        self.set_mode("barge")

    async def _run(self) -> None:
        waits = {
            asyncio.ensure_future(self.supervisor.wait_hangup()): "supervisor_left",
            asyncio.ensure_future(self.agent.wait_hangup()): "call_ended",
            asyncio.ensure_future(self.customer.wait_hangup()): "call_ended",
        }
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            self._finish(waits[next(iter(done))])
        except asyncio.CancelledError:
            pass
        finally:
            for f in waits:
                f.cancel()

    def _finish(self, reason: str) -> None:
        if self._done.done():
            return
        self.end_reason = reason
        self.conference.close()
        if not self.agent.ended and not self.customer.ended:
            connect(self.agent, self.customer)
        self._done.set_result(reason)

    async def stop(self, *, hangup_supervisor: bool = False) -> None:
        """Detach the supervisor and reconnect agent and customer directly."""
        self._finish("stopped")
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        if hangup_supervisor and not self.supervisor.ended:
            await self.supervisor.hangup()

    async def wait_ended(self) -> str:
        """Until the supervision ends; returns :attr:`end_reason`."""
        return await asyncio.shield(self._done)


async def supervise(
    supervisor: Call,
    agent: Call,
    mode: Mode = "listen",
    *,
    customer: Call | None = None,
    fastpath: ModuleType | None = None,
) -> Supervision:
    """Attach ``supervisor`` to the live call of ``agent`` (bridged to ``customer``,
    by default ``agent.partner``) in ``mode``; returns at once with the
    :class:`Supervision` (await :meth:`Supervision.wait_ended` to follow it)."""
    customer = customer if customer is not None else agent.partner
    if customer is None or customer.ended or agent.ended:
        raise CallError("supervise() needs an agent leg bridged to a live customer leg")
    if supervisor.state != "answered":
        raise CallError("the supervisor's leg must be answered")
    sup = Supervision(supervisor, agent, customer, mode, fastpath=fastpath)
    sup._start()
    return sup


async def force_release(call: Call, cause: str = "force_released") -> None:
    """Hang up ``call`` and the leg it is bridged to, both with ``cause``."""
    legs = [call]
    if call.partner is not None:
        legs.append(call.partner)
    await asyncio.gather(*(leg.hangup(cause) for leg in legs if not leg.ended))


def bridged_pairs(endpoint: Endpoint) -> list[tuple[Call, Call]]:
    """The live bridged pairs of an endpoint (each pair once), e.g. for a wallboard
    that offers 'listen' on every call."""
    seen: set[int] = set()
    out: list[tuple[Call, Call]] = []
    for call in list(endpoint.calls.values()):
        p = call.partner
        if call.ended or p is None or p.ended or p.partner is not call or id(call) in seen:
            continue
        seen.update((id(call), id(p)))
        out.append((call, p))
    return out
