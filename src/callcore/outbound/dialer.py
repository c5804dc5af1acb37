"""The live dialer: runs a :class:`~callcore.outbound.campaign.Campaign` on real SIP calls.

Once per ``campaign.decide_every`` seconds the dialer

1. reads the campaign's agents from the ACD (:func:`~callcore.outbound.tally.agent_counts`)
   and its own counts (:class:`~callcore.outbound.tally.CampaignTally`) into a
   :class:`~callcore.pacing.PacingState` — the same state the simulator builds;
2. asks the pacing policy (wrapped in :class:`~callcore.pacing.ComplianceGuard`,
   which enforces the abandon-rate cap and calling hours) how many calls to
   launch — the *same policy object* the pacing lab measured;
3. takes that many records from the contact pool, each checked by the
   compliance gate (do-not-call, consent, callee-local calling window, attempt
   caps, 72-hour rule); every refusal is audited by the gate and the record is
   put back until the gate says it may be tried again;
4. dials each one with the company caller id and at least the minimum ring time.

An answered attempt is classified (:mod:`~callcore.outbound.progress`: human,
machine, fax) while the callee says hello. Only humans reach agents: they join
the campaign's ACD queue, whose ``max_wait`` is the connect window (2 s), so
the agent's phone rings only after the customer answered, an agent is never
offered two calls, and a human no agent took in time hears the compliance
message and counts as abandoned. Machines are hung up on or get a message after
the beep. Agentless campaigns hand answered calls to a flow (see
:mod:`~callcore.outbound.broadcast`). The callee can opt out with a digit at
any time before an agent takes the call.

Everything the dialer learns goes back to the contact pool (retries by outcome)
and the gate (attempt caps, abandoned-call rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from callcore.center.events import CallAbandoned, CallAnswered, CallOverflowed
from callcore.center.live import LiveCallPort
from callcore.center.queue import OverflowTarget, QueueConfig
from callcore.net.port_pool import PortPoolExhausted
from callcore.pacing import ComplianceGuard, PacingPolicy, Progressive
from callcore.switch.call import CallError

from .agent_modes import AgentModes
from .attempt import Attempt, DialerError
from .booking import Booking, _refusal_outcome
from .campaign import Campaign
from .progress import Outcome, ProgressAnalyzer, analyze_call, outcome_from_sip
from .tally import CampaignTally, agent_counts

if TYPE_CHECKING:
    from callcore.center.runtime import CenterRuntime
    from callcore.switch.call import Call

__all__ = ["Attempt", "ContactSource", "Dialer", "DialerError", "campaign_queue"]

log = logging.getLogger("callcore.outbound.dialer")

DAY = 86_400.0


class ContactSource(Protocol):
    """Where the dialer takes its records from (:class:`~callcore.outbound.records.ContactPool`)."""

    def next_ready(self, now: float) -> Any: ...

    def report(self, record_id: str, outcome: str, now: float, disposition: Any = None) -> Any: ...

    def defer(self, record_id: str, until: float) -> None: ...

    def retire(self, record_id: str, disposition: str = ...) -> None: ...

    def stats(self, now: float | None = None) -> Any: ...


#: an agentless flow: runs on an answered human (or machine) call
Flow = Callable[["Call", Any, "Dialer"], Awaitable[str]]


def campaign_queue(campaign: Campaign, **overrides: Any) -> QueueConfig:
    """The ACD queue a campaign's agents sit in: longest-idle, no hold music,
    ``max_wait`` = the connect window and, past it, the compliance message."""
    cfg: dict[str, Any] = {
        "name": campaign.queue,
        "strategy": "longest_idle",
        "offer_timeout": 6.0,
        "max_wait": campaign.rules.connect_window,
        "on_max_wait": OverflowTarget("hangup", campaign.compliance_text()),
        "music": None,
        "whisper": "",
        "wrap_up": 3.0,
    }
    cfg.update(overrides)
    return QueueConfig(**cfg)


class Dialer(AgentModes, Booking):
    """Runs one campaign on ``center`` (see module doc).

    ``policy`` — any pacing policy (default: progressive 1:1; ignored in
    preview mode; agentless campaigns use ``campaign.max_lines`` concurrent
    calls). ``gate`` — a :class:`~callcore.outbound.compliance.DialGate` (or
    ``None`` to rely on the pool and the pacing guard only). ``flow`` — the
    agentless flow. ``wall_clock`` gives epoch seconds for the pool and the gate
    (inject a fixed clock in tests); ``time_of_day`` gives seconds since the
    campaign's local midnight for the pacing guard's calling hours (default:
    the wall clock read in ``default_tz``, which is also the zone best-time
    scheduling falls back to for a record whose zone is unknown). ``truth``
    maps a record to what really answered (``human``/``machine``/``fax``) when
    it is known — a pilot list or a test farm — to measure AMD accuracy.
    ``uri_for`` turns a record into the SIP URI to dial (default:
    ``campaign.dial_uri`` with the number, ``+`` stripped — a carrier trunk).
    ``disposition_wait`` — how long after a connected call ends the dialer
    waits for the agent's :meth:`dispose` before booking it as ``completed``.
    ``best_time`` — a :class:`~callcore.outbound.besttime.ContactTimeModel`:
    every outcome teaches it, and each retry is moved to the customer's (or
    ``segment_of(record)``'s) best hour of the week that the gate allows.
    """

    def __init__(
        self,
        center: CenterRuntime,
        campaign: Campaign,
        contacts: ContactSource,
        *,
        policy: PacingPolicy | None = None,
        gate: Any = None,
        flow: Flow | None = None,
        analyzer_factory: Callable[[], Any] | None = None,
        wall_clock: Callable[[], float] = time.time,
        time_of_day: Callable[[], float] | None = None,
        truth: Callable[[Any], str | None] | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        uri_for: Callable[[Any], str] | None = None,
        disposition_wait: float = 0.0,
        best_time: Any = None,
        segment_of: Callable[[Any], Any] | None = None,
        default_tz: str = "Asia/Shanghai",
    ) -> None:
        if campaign.mode == "agentless" and flow is None:
            raise DialerError(
                "an agentless campaign needs a flow (see callcore.outbound.broadcast)"
            )
        if campaign.agents_needed:
            try:
                center.acd.config(campaign.queue)
            except Exception as e:
                raise DialerError(
                    f"queue {campaign.queue!r} is not in the ACD: add campaign_queue(campaign)"
                ) from e
        self.center = center
        self.endpoint = center.endpoint
        self.campaign = campaign
        self.contacts = contacts
        self.policy = ComplianceGuard(policy or Progressive(1.0), campaign.rules)
        self.gate = gate
        self.flow = flow
        self.analyzer_factory = analyzer_factory
        self.wall = wall_clock
        self._tod = time_of_day or time_of_day_in(default_tz, wall_clock)
        self.truth = truth
        self.on_attempt = on_attempt
        self.uri_for = uri_for or (
            lambda rec: campaign.dial_uri.format(number=rec.number.lstrip("+"))
        )
        self.disposition_wait = disposition_wait
        self.best_time = best_time
        self.segment_of = segment_of
        self.default_tz = default_tz
        self._dispositions: dict[str, tuple[str, float | None, str | None]] = {}
        self._awaiting: dict[str, asyncio.Future] = {}
        self.tally = CampaignTally()
        self.attempts: list[Attempt] = []
        self.refusals = 0
        self._routed: dict[str, Attempt] = {}  # call_id -> attempt, while it waits or talks
        self._tasks: set[asyncio.Task] = set()
        self._stopping = False
        self._subscribed = False
        self.decisions = 0

    # ------------------------------------------------------------ clocks
    def now(self) -> float:
        """The dialer's monotonic clock (the ACD's: the event loop's time)."""
        return self.center.now()

    def time_of_day(self) -> float:
        """Seconds since midnight in the campaign's zone (the pacing guard's calling hours)."""
        return self._tod()

    # ------------------------------------------------------------ running
    def agents(self) -> list:
        if not self.campaign.agents_needed:
            return []
        return [m.agent for m in self.center.acd.members(self.campaign.queue)]

    async def run(self, *, max_seconds: float | None = None, until_done: bool = True) -> dict:
        """Dial until the pool has nothing ready and no call is in flight (when
        ``until_done``), ``max_seconds`` pass, or :meth:`stop`. Returns the summary."""
        self._subscribe()
        self.tally.started_at = self.now()
        deadline = None if max_seconds is None else self.now() + max_seconds
        self._stopping = False
        try:
            while not self._stopping:
                launched = self.decide()
                if deadline is not None and self.now() >= deadline:
                    break
                if until_done and not launched and not self._tasks and self._exhausted():
                    break
                await asyncio.sleep(self.campaign.decide_every)
        finally:
            await self.drain()
        return self.summary()

    def stop(self) -> None:
        """Launch nothing more; :meth:`run` returns once the calls in flight end."""
        self._stopping = True

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _exhausted(self) -> bool:
        """Nothing is ready to dial now (records waiting for a retry time do not count)."""
        stats = self.contacts.stats(self.wall())
        return stats.ready == 0

    def decide(self) -> int:
        """One decision: how many to launch now, then launch them. Returns the count."""
        if self.campaign.mode == "preview":
            return 0
        now = self.now()
        self.decisions += 1
        if self.campaign.agents_needed:
            state = self.tally.pacing_state(
                now, self.time_of_day(), agent_counts(self.agents(), now)
            )
            limited = self.policy.limited_decisions
            n = self.policy.decide(state, now)
            if self.policy.limited_decisions > limited and self.gate is not None:
                # the abandon-rate cap held calls back: the compliance team sees it too
                self.gate.audit_pacing_refusal(
                    now=self.wall(),
                    campaign=self.campaign.name,
                    purpose=self.campaign.purpose,
                    reason=f"abandon-rate cap {self.campaign.rules.abandon_cap:.0%} reached: "
                    f"dialing only for idle agents ({n} now)",
                )
        else:
            n = 1 << 30 if self.campaign.rules.may_call(self.time_of_day()) else 0
        n = min(n, self.campaign.max_lines - len(self._tasks))
        launched = 0
        for _ in range(max(0, n)):
            rec = self._next_record()
            if rec is None:
                break
            self.launch(rec)
            launched += 1
        return launched

    def _next_record(self) -> Any:
        wall = self.wall()
        for _ in range(1000):  # refusals in a row before giving up this decision
            rec = self.contacts.next_ready(wall)
            if rec is None:
                return None
            if self.gate is None:
                return rec
            d = self._check(rec, wall)
            if d.allowed:
                return rec
            self.refusals += 1
            self._refused(rec, d, wall)
        return None

    def _check(self, rec: Any, wall: float) -> Any:
        return self.gate.check(
            rec.number,
            now=wall,
            purpose=self.campaign.purpose,
            customer_id=getattr(rec, "customer_id", None),
            debt_id=getattr(rec, "debt_id", None),
            tz=getattr(rec, "timezone", None),
            campaign=self.campaign.name,
            record_id=rec.record_id,
        )

    def _refused(self, rec: Any, d: Any, wall: float) -> None:
        """A record the gate refused: back in line until it may be tried, or
        retired without an attempt when it never may (do-not-call, no consent)."""
        if getattr(d, "retry_at", None) is None:
            self.contacts.retire(rec.record_id, _refusal_outcome(d.rule))
        else:
            self.contacts.defer(rec.record_id, d.retry_at)

    def launch(self, record: Any) -> asyncio.Task:
        """Dial one record now (the pacing decision and the gate are the caller's business)."""
        self._subscribe()
        task = asyncio.get_running_loop().create_task(self._attempt(record))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------ one attempt
    async def _attempt(self, rec: Any) -> Attempt:
        c = self.campaign
        t0 = self.now()
        att = Attempt(rec.record_id, rec.number, t0)
        self.attempts.append(att)
        self.tally.dialed(t0)
        try:
            res = await self.endpoint.dial(
                self.uri_for(rec),
                caller=c.caller_id,
                display_name=c.caller_name or None,
                timeout=c.ring_timeout,
                asserted_identity=f"tel:{c.caller_id}",
            )
        except (OSError, CallError, ValueError, PortPoolExhausted) as e:  # booked as a failure
            log.warning("dialing %s failed: %s", rec.number, e)
            res = None
        if res is None or not res.answered or res.call is None:
            status = None if res is None else res.status
            if res is not None and res.outcome in ("no_answer", "cancelled"):
                outcome = Outcome.NO_ANSWER  # rang out: we cancelled at ring_timeout
            else:
                outcome = outcome_from_sip(status, "" if res is None else res.reason)
            att.outcome, att.status = str(outcome), status
            self.tally.unanswered(self.now(), att.outcome)
            self._finish(rec, att)
            return att
        call = res.call
        att.answered_at, att.call_id = self.now(), call.call_id
        self.tally.answered(att.answered_at, att.answered_at - t0)
        if c.opt_out_digit is not None:
            call.dtmf_listeners.append(self._opt_out_watcher(call, rec, att))
        try:
            await self._after_answer(call, rec, att)
        except CallError:
            att.result = att.result or "hangup"
        finally:
            if not call.ended:
                with contextlib.suppress(CallError):
                    await call.hangup()
            self._routed.pop(call.call_id, None)
            att.ended_at = self.now()
            self._finish(rec, att)
        return att

    async def _after_answer(self, call: Call, rec: Any, att: Attempt) -> None:
        c = self.campaign
        truth = self.truth(rec) if self.truth is not None else None
        if c.amd:
            analyzer = (
                self.analyzer_factory()
                if self.analyzer_factory
                else ProgressAnalyzer(notsure_as=c.notsure_as)
            )
            verdict = await analyze_call(
                call, analyzer, wait_for_beep=c.machine_action == "message"
            )
            att.verdict = verdict
            outcome = str(verdict.outcome)
            if outcome == Outcome.UNKNOWN:
                outcome = c.notsure_as
        else:
            outcome = "human"
        att.outcome = outcome
        self.tally.classified(outcome, truth=truth)
        if call.ended:
            att.result = "hangup"
            return
        if att.opted_out:
            return
        if outcome == "fax":
            att.result = "hangup"
            return
        if outcome == "machine" and c.machine_action != "agent":
            if c.machine_action == "message":
                await call.play(await self.center.prompts.render(c.machine_message),
                                interruptible=False)  # fmt: skip
                att.result = "message_left"
            else:
                att.result = "hangup"
            return
        if self.flow is not None:
            att.result = await self.flow(call, rec, self)
            return
        await self.connect_to_agent(call, rec, att)

    async def connect_to_agent(
        self, call: Call, rec: Any, att: Attempt, *, queue: str | None = None
    ) -> str:
        """Queue an answered callee for agents — the campaign's queue or ``queue``
        (the connect window and its compliance message are that queue's
        ``max_wait`` rule: build it with :func:`campaign_queue`)."""
        self._subscribe()
        now = self.now()
        self.tally.routing(now)
        self._routed[call.call_id] = att
        port = LiveCallPort(call, self.center, attributes={"record": rec})
        fields = dict(getattr(rec, "fields", {}) or {})
        attrs: Mapping[str, Any] = {
            "customer_id": getattr(rec, "customer_id", None),
            "campaign": self.campaign.name,
            "record_id": rec.record_id,
            **fields,
        }
        result = await self.center.queue_call(port, queue or self.campaign.queue, attrs=attrs)
        att.result = result
        if att.agent_id is None and not att.abandoned:
            # left before any agent took the call and before the ACD said so
            att.abandoned = True
            self.tally.abandoned(self.now(), self.now() - now)
        return result

    # ------------------------------------------------------------ events
    def _subscribe(self) -> None:
        if not self._subscribed:
            self.center.acd.subscribe(self._on_acd_event)
            self._subscribed = True

    def _on_acd_event(self, ev: Any) -> None:
        if not isinstance(ev, (CallAnswered, CallAbandoned, CallOverflowed)):
            return
        att = self._routed.get(ev.call_id)
        if att is None:
            return
        if isinstance(ev, CallAnswered):
            if att.agent_id is None and not att.abandoned:
                att.agent_id = ev.agent_id
                att.connected_after = ev.wait
                self.tally.connected_agent(self.now(), ev.wait)
        elif att.agent_id is None and not att.abandoned:
            att.abandoned = True
            self.tally.abandoned(self.now(), ev.wait)

    def _opt_out_watcher(self, call: Call, rec: Any, att: Attempt) -> Callable[[str], None]:
        digit = self.campaign.opt_out_digit

        def on_digit(d: str) -> None:
            if d != digit or att.opted_out or att.agent_id is not None:
                return
            att.opted_out = True
            if self.gate is not None:
                self.gate.opt_out(rec.number, self.wall(), via="dtmf",
                                  campaign=self.campaign.name, record_id=rec.record_id,
                                  customer_id=getattr(rec, "customer_id", None),
                                  purpose=self.campaign.purpose)  # fmt: skip
            task = asyncio.get_running_loop().create_task(self._confirm_opt_out(call))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return on_digit

    async def _confirm_opt_out(self, call: Call) -> None:
        with contextlib.suppress(CallError):
            pcm = await self.center.prompts.render(
                "You will not be called again for this campaign. Goodbye."
            )
            await call.play(pcm, interruptible=False)
            await call.hangup()

    def summary(self) -> dict:
        """The campaign's figures so far (dials, outcomes, abandon rate, AMD accuracy)."""
        out: dict[str, Any] = dict(self.tally.summary())
        out["refused_by_gate"] = self.refusals
        if self.tally.amd.total:
            out["amd_accuracy"] = round(self.tally.amd.accuracy, 4)
        delays = sorted(self.tally.connect_delays)
        if delays:
            out["connect_p50"] = round(delays[len(delays) // 2], 3)
            out["connect_max"] = round(delays[-1], 3)
        return out


def time_of_day_in(tz: str, wall_clock: Callable[[], float] = time.time) -> Callable[[], float]:
    """A ``time_of_day`` callable for :class:`Dialer`: seconds since midnight in ``tz``."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)

    def tod() -> float:
        d = datetime.fromtimestamp(wall_clock(), zone)
        return d.hour * 3600.0 + d.minute * 60.0 + d.second

    return tod
