"""Agent-driven dialing modes of the :class:`~callcore.outbound.dialer.Dialer`.

Preview (the agent reads the record, then dials or skips), manual /
click-to-dial, and the two-leg call both use: the agent's phone rings first,
then the customer's (see :mod:`~callcore.outbound.two_leg`). The agent is set
not-ready in the ACD for the call so no inbound call is offered meanwhile.
"""

from __future__ import annotations

import contextlib
from types import SimpleNamespace
from typing import Any

from callcore.center.agents import AgentStatus

from .attempt import Attempt, DialerError
from .two_leg import two_leg_call

__all__ = ["AgentModes"]


class AgentModes:
    """Mixed into :class:`~callcore.outbound.dialer.Dialer` (uses its state)."""

    def preview(self, agent_id: str) -> Any:
        """Preview mode: the next record for ``agent_id`` (their owned callbacks
        and pool first), already cleared by the gate — the agent reads it, then
        :meth:`dial_preview` or :meth:`skip`. ``None`` when nothing is ready."""
        wall = self.wall()
        nr = self.contacts.next_ready
        try:
            rec = nr(wall, agent_id=agent_id)  # type: ignore[call-arg]
        except TypeError:
            rec = nr(wall)
        if rec is None:
            return None
        if self.gate is not None:
            d = self._check(rec, wall)
            if not d.allowed:
                self.refusals += 1
                self._refused(rec, d, wall)
                return self.preview(agent_id)
        return rec

    def skip(self, record: Any, *, until: float | None = None) -> None:
        """The agent passed on a previewed record: back to the pool (later)."""
        self.contacts.defer(record.record_id, until if until is not None else self.wall() + 3600)

    async def dial_preview(self, agent_id: str, record: Any) -> Attempt:
        """Ring the agent, then the previewed customer (company caller id), then bridge."""
        return await self._two_leg(agent_id, record)

    async def click_to_dial(self, agent_id: str, number: str, *, record_id: str = "") -> Attempt:
        """Manual / click-to-dial: the gate still applies (DNC, window, caps)."""
        rec = SimpleNamespace(record_id=record_id or f"manual:{number}", number=number,
                              customer_id=None, debt_id=None, timezone=None, fields={})  # fmt: skip
        if self.gate is not None:
            d = self._check(rec, self.wall())
            if not d.allowed:
                self.refusals += 1
                att = Attempt(rec.record_id, number, self.now(), outcome="refused")
                att.result = f"refused:{d.rule}"
                self.attempts.append(att)
                return att
        return await self._two_leg(agent_id, rec, report=bool(record_id))

    async def _two_leg(self, agent_id: str, rec: Any, *, report: bool = True) -> Attempt:
        acd, now = self.center.acd, self.now()
        agent = acd.pool.get(agent_id)
        devices = [self.center._device_uri(d.address) for d in agent.devices]
        if not devices:
            raise DialerError(f"agent {agent_id!r} has no device to ring")
        # not offered inbound calls while on this outbound call
        acd.set_status(agent_id, AgentStatus.NOT_READY, now, "outbound")
        att = Attempt(rec.record_id, rec.number, now)
        self.attempts.append(att)
        self.tally.dialed(now)
        try:
            res = await two_leg_call(
                self.endpoint,
                devices[0],
                self.uri_for(rec),
                company_number=self.campaign.caller_id,
                customer_number=rec.number,
                customer_timeout=self.campaign.ring_timeout,
                say=self.center.prompts.render,
            )
        finally:
            with contextlib.suppress(Exception):
                acd.set_status(agent_id, AgentStatus.AVAILABLE, self.now())
            self.center._pump()
        att.status = res.customer_status
        if res.bridged:
            att.outcome, att.agent_id, att.result = "human", agent_id, "answered"
            att.answered_at = self.now()
            self.tally.answered(att.answered_at, 0.0)
            self.tally.classified("human")
        elif res.outcome.startswith("agent_"):
            att.outcome = att.result = res.outcome
            self.tally.unanswered(self.now(), res.outcome)
            report = False  # the customer was never dialed
        else:
            att.outcome = res.outcome
            self.tally.unanswered(self.now(), res.outcome)
        att.ended_at = self.now()
        if report:
            self._finish(rec, att)
        return att
