"""Booking an attempt's end: the contact pool, the compliance gate, agent
dispositions and the best-time-to-call model (part of the
:class:`~callcore.outbound.dialer.Dialer`).

A connected call is booked when the agent's wrap-up code arrives
(:meth:`Booking.dispose`) or ``disposition_wait`` seconds after it ended; every
other attempt at once. The pool decides the record's future (retry time or
retirement); the gate counts the attempt towards its caps, starts the 72-hour
rule after an abandoned call and the quiet week after a conversation with the
debtor; the best-time model learns from the outcome and moves the retry to the
best hour of the week the gate allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .attempt import Attempt

__all__ = ["Booking"]

log = logging.getLogger("callcore.outbound.dialer")

#: agent codes after which no 7-day quiet week starts: the debtor was not the one
#: spoken to, or asked to be called back (consent to the next call)
_NOT_THE_DEBTOR = frozenset({"wrong_number", "deceased", "left_message", "no_answer", "callback"})


def _refusal_outcome(rule: str) -> str:
    return "do_not_call" if rule in ("dnc", "opted_out", "no_consent") else "refused_by_gate"


class Booking:
    """Mixed into :class:`~callcore.outbound.dialer.Dialer` (uses its state)."""

    def dispose(
        self,
        record_id: str,
        disposition: str,
        *,
        callback_at: float | None = None,
        agent_id: str | None = None,
    ) -> None:
        """The agent's wrap-up code for a connected call (``promise_to_pay``,
        ``wrong_number``, ``sale``, ``callback`` …), given during the call or the
        wrap-up. It decides the record's future in the pool (final codes close
        it, others set its retry) and, with ``callback_at``, books a callback
        owned by ``agent_id`` (served to that agent first: :meth:`preview`)."""
        pending = self._awaiting.pop(record_id, None)
        self._dispositions[record_id] = (disposition, callback_at, agent_id)
        if pending is not None and not pending.done():
            pending.set_result(None)

    def _finish(self, rec: Any, att: Attempt) -> None:
        outcome = att.outcome
        if att.opted_out:
            outcome = "do_not_call"
        elif att.abandoned:
            outcome = "abandoned"
        elif att.agent_id is not None:
            outcome = "completed"
            if self.disposition_wait > 0 and rec.record_id not in self._dispositions:
                # the agent is wrapping up: book the attempt when the code comes
                fut = asyncio.get_running_loop().create_future()
                self._awaiting[rec.record_id] = fut
                task = asyncio.get_running_loop().create_task(self._book_later(rec, att, fut))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
        elif att.result == "message_left":
            outcome = "left_message"
        self._book(rec, att, outcome)

    async def _book_later(self, rec: Any, att: Attempt, fut: asyncio.Future) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fut, self.disposition_wait)
        self._awaiting.pop(rec.record_id, None)
        self._book(rec, att, "completed")

    def _book(self, rec: Any, att: Attempt, outcome: str) -> None:
        """Tell the gate, the pool (and the best-time model) how the attempt ended."""
        wall = self.wall()
        disposition, callback_at, owner = self._dispositions.pop(rec.record_id, (None,) * 3)
        if self.gate is not None:  # the attempt counts towards the caps either way
            if outcome == "completed":
                talked = "attempt" if disposition in _NOT_THE_DEBTOR else "right_party"
            else:
                talked = outcome
            self.gate.record_attempt(rec.number, getattr(rec, "customer_id", None),
                                     getattr(rec, "debt_id", None), wall, talked)  # fmt: skip
        try:
            nxt = self.contacts.report(rec.record_id, outcome, wall, disposition)
            if callback_at is not None:
                self.contacts.schedule_callback(rec.record_id, callback_at, owner)
            elif nxt is not None and self.best_time is not None:
                self._best_time(rec, att, nxt)
        except Exception:
            log.exception("contact pool refused the outcome of %s", rec.record_id)
        if self.best_time is not None and outcome not in ("network_failure", "invalid_number"):
            key, segment, tz = self._best_keys(rec)
            contacted = att.agent_id is not None or att.outcome == "human"
            self.best_time.observe_at(key, segment, wall, tz, contacted)
        if self.on_attempt is not None:
            self.on_attempt(att)

    def _best_keys(self, rec: Any) -> tuple[Any, Any, str]:
        key = getattr(rec, "customer_id", None) or rec.number
        segment = self.segment_of(rec) if self.segment_of is not None else None
        tz = getattr(rec, "timezone", None)
        if tz is None and self.gate is not None:
            zones = self.gate.zones_for(rec.number)
            tz = zones[0] if zones else None
        return key, segment, tz or self.default_tz

    def _best_time(self, rec: Any, att: Attempt, earliest: float) -> None:
        """Move a retry to the best hour of the week for this customer (and segment)
        within the week after ``earliest``, where the gate would allow the call."""
        key, segment, tz = self._best_keys(rec)
        allowed = None
        if self.gate is not None:

            def allowed(t: float) -> bool:
                return self.gate.evaluate(
                    rec.number, now=t, purpose=self.campaign.purpose,
                    customer_id=getattr(rec, "customer_id", None),
                    debt_id=getattr(rec, "debt_id", None), tz=getattr(rec, "timezone", None),
                ).allowed  # fmt: skip

        best = self.best_time.next_best_time(key, segment, earliest, tz, allowed=allowed)
        if best is not None and best > earliest:
            self.contacts.defer(rec.record_id, best)
