"""The asyncio driver between live SIP calls and the sans-IO :class:`~callcore.center.queue.Acd`.

:class:`CenterRuntime` is the thin live layer the ACD was designed for:

* it feeds the ACD *real time* (the event loop's monotonic clock) and events:
  agents log in when their device registers and out when it unregisters
  (from :attr:`Endpoint.location`), callers join queues from the IVR, offers
  are answered, rejected, busy or unanswered, callers hang up;
* it carries out the ACD's *commands*: ``OfferCall`` dials every device of the
  agent with :meth:`Endpoint.dial` (a registered extension, or an external
  mobile number through ``external_uri``), ``CancelOffer`` cancels those
  dials (CANCEL on the wire), ``Bridge`` whispers the queue/tier to the agent
  and bridges the legs with :func:`callcore.switch.bridge.bridge`,
  ``HoldMusic`` / ``PlayAnnouncement`` play to the waiting caller,
  ``Overflow`` sends the caller to voicemail, another number or a goodbye,
  ``OfferCallbackChoice`` / ``PlaceCallback`` run callbacks;
* it re-arms one timer at :meth:`Acd.next_deadline`.

Everything the ACD decides stays in the ACD; this module only moves events in
and commands out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callcore.switch.bridge import bridge
from callcore.switch.call import CallError

from .agents import Agent, AgentError, AgentStatus, Device
from .events import (
    Bridge,
    CancelOffer,
    Command,
    HoldMusic,
    OfferCall,
    OfferCallbackChoice,
    Overflow,
    PlaceCallback,
    PlayAnnouncement,
)
from .live import BeepPrompts, LiveCallPort, PromptSource
from .queue import Acd, AcdError, QueuedCall
from .stats import StatsCollector

if TYPE_CHECKING:
    from callcore.switch.call import Call
    from callcore.switch.endpoint import Endpoint

    from .routing import CallerRouter
    from .screenpop import ScreenPopper
    from .voicemail import VoicemailStore

log = logging.getLogger("callcore.center.runtime")

#: SIP header carrying the caller's Call-ID on the INVITE to the agent (for desktops)
CALLER_CALL_ID_HEADER = "X-Callcore-Caller-Call-ID"


@dataclass(slots=True, eq=False)
class _Waiting:
    """Live side of one queued caller."""

    port: LiveCallPort | None
    call: Call | None
    queue: str
    done: asyncio.Future[str]
    offers: dict[str, asyncio.Task] = field(default_factory=dict)
    agent_leg: Call | None = None
    media: asyncio.Task | None = None
    watcher: asyncio.Task | None = None
    callback: bool = False
    bridging: bool = False


@dataclass(slots=True)
class RuntimeCounters:
    """What the live layer saw (the ACD's own statistics are in :attr:`CenterRuntime.stats`)."""

    queued: int = 0
    offers: int = 0
    offers_answered: int = 0
    stale_answers: int = 0
    bridged: int = 0
    completed: int = 0
    abandoned: int = 0
    voicemails: int = 0
    overflowed: int = 0
    callbacks_placed: int = 0
    errors: int = 0


class CenterRuntime:
    """Drives an :class:`Acd` from live calls on ``endpoint`` (see module doc).

    ``prompts`` renders announcements and whispers (default: short beeps);
    ``router`` adds caller-attribute routing hints when a caller joins a
    queue; ``voicemail`` stores overflow voicemails; ``popper`` receives a
    screen pop for every offer; ``external_uri`` turns a mobile number or an
    overflow number into a SIP URI (``{number}`` is replaced); ``whisper``
    plays the queue's whisper text to the agent before bridging.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        acd: Acd,
        *,
        prompts: PromptSource | None = None,
        stats: StatsCollector | None = None,
        router: CallerRouter | None = None,
        voicemail: VoicemailStore | None = None,
        recordings_dir: str | Path | None = None,
        popper: ScreenPopper | None = None,
        external_uri: str = "sip:{number}@127.0.0.1",
        whisper: bool = True,
        auto_login: bool = True,
        check_registration: bool = True,
        caller_id: str = "center",
        announcement: str = "You are number {position} in line.",
        voicemail_prompt: str = "Please leave a message after the tone.",
        callback_prompt: str = (
            "To keep your place and be called back, press 1. To keep waiting, press 2."
        ),
    ) -> None:
        self.endpoint = endpoint
        self.acd = acd
        self.prompts: PromptSource = prompts or BeepPrompts()
        self.stats = stats or StatsCollector()
        acd.subscribe(self.stats.on_event)
        self.router = router
        self.voicemail = voicemail
        self.recordings_dir = Path(recordings_dir or Path.cwd() / "recordings")
        self.popper = popper
        self.external_uri = external_uri
        self.whisper = whisper
        self.auto_login = auto_login
        self.caller_id = caller_id
        self.announcement = announcement
        self.voicemail_prompt = voicemail_prompt
        self.callback_prompt = callback_prompt
        self.counters = RuntimeCounters()
        self._live: dict[str, _Waiting] = {}
        self._aor_agents: dict[str, list[str]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending_logout: set[str] = set()
        if check_registration:  # agents log in only on registered devices
            acd.pool.is_registered = self.is_registered
        for a in acd.pool:
            self._index_agent(a)

    # ------------------------------------------------------------- agents
    def now(self) -> float:
        """The ACD's clock: the event loop's monotonic time."""
        return (self._loop or asyncio.get_running_loop()).time()

    def agent_aor(self, extension: str) -> str:
        """The AOR a registered extension is known by (``sip:EXT@<registrar domain>``)."""
        return self.endpoint.registrar.aor_for(extension)

    def is_registered(self, aor: str) -> bool:
        return bool(self.endpoint.location.contacts(aor))

    def add_agent(
        self,
        agent_id: str,
        extension: str,
        *,
        queues: Mapping[str, int] | Iterable[str] = (),
        skills: Mapping[str, int] | None = None,
        name: str = "",
        mobile: str | None = None,
        teams: Iterable[str] = (),
    ) -> Agent:
        """Declare an agent whose desk phone registers as ``extension`` (and an
        optional external ``mobile`` for roaming)."""
        devices = [Device(self.agent_aor(extension))]
        if mobile:
            devices.append(Device(mobile, "mobile"))
        agent = Agent(
            agent_id,
            name=name or agent_id,
            extension=extension,
            devices=tuple(devices),
            skills=dict(skills or {}),
            teams=frozenset(teams),
        )
        self.acd.add_agent(agent, ())  # skills-based queues take the agent by themselves
        levels = dict(queues) if isinstance(queues, Mapping) else dict.fromkeys(queues, 0)
        for queue, level in levels.items():
            if all(m.agent.id != agent_id for m in self.acd.members(queue)):
                self.acd.add_member(queue, agent_id, level=level)
        self._index_agent(agent)
        return agent

    def _index_agent(self, a: Agent) -> None:
        for d in a.devices:
            if d.kind == "sip":
                self._aor_agents.setdefault(d.address, []).append(a.id)

    def login(self, agent_id: str) -> Agent:
        """Log an agent in now (raises :class:`~callcore.center.agents.AgentError`)."""
        a = self.acd.login(agent_id, self.now())
        self._pump()
        return a

    def logout(self, agent_id: str) -> None:
        try:
            self.acd.logout(agent_id, self.now())
            self._pending_logout.discard(agent_id)
        except AgentError:
            self._pending_logout.add(agent_id)  # on a call: log out when it ends
        self._pump()

    def _on_binding(self, ev: Any) -> None:
        agents = self._aor_agents.get(ev.aor)
        if not agents or not self.auto_login:
            return
        for agent_id in agents:
            a = self.acd.pool.get(agent_id)
            if ev.kind == "registered" and a.status is AgentStatus.LOGGED_OUT:
                try:
                    self.acd.login(agent_id, self.now())
                except AgentError as e:
                    log.info("agent %s not logged in: %s", agent_id, e)
            elif (
                ev.kind in ("unregistered", "expired")
                and not self.is_registered(ev.aor)
                and a.status is not AgentStatus.LOGGED_OUT
            ):
                self.logout(agent_id)
        self._pump()

    # ---------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = self.endpoint.location.subscribe(self._on_binding)
        if self.auto_login:
            for aor, agents in self._aor_agents.items():
                if self.is_registered(aor):
                    for agent_id in agents:
                        with contextlib.suppress(AgentError):
                            self.acd.login(agent_id, self.now())
        self._pump()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.counters.errors += 1
            log.error("center task failed", exc_info=task.exception())

    # ------------------------------------------------------------ the pump
    def _pump(self) -> None:
        """Carry out every pending ACD command, then re-arm the one timer."""
        for cmd in self.acd.drain():
            self._execute(cmd)
        self._rearm()

    def _rearm(self) -> None:
        when = self.acd.next_deadline()
        if when is None:
            return
        if self._timer is not None and self._timer_at is not None and self._timer_at <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        loop = self._loop or asyncio.get_running_loop()
        self._timer_at = when
        self._timer = loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.acd.poll(self.now())
        self._pump()

    def _execute(self, cmd: Command) -> None:
        if isinstance(cmd, OfferCall):
            self._offer(cmd)
        elif isinstance(cmd, CancelOffer):
            w = self._live.get(cmd.call_id)
            task = w.offers.pop(cmd.agent_id, None) if w else None
            if task is not None and not task.done():
                task.cancel()
        elif isinstance(cmd, Bridge):
            self._spawn(self._bridge(cmd))
        elif isinstance(cmd, HoldMusic):
            self._hold_music(cmd.call_id)
        elif isinstance(cmd, PlayAnnouncement):
            self._announce(cmd)
        elif isinstance(cmd, Overflow):
            self._spawn(self._overflow(cmd))
        elif isinstance(cmd, OfferCallbackChoice):
            self._set_media(cmd.call_id, self._callback_choice(cmd))
        elif isinstance(cmd, PlaceCallback):
            self._spawn(self._place_callback(cmd))

    # ------------------------------------------------------- joining a queue
    async def queue_call(
        self,
        port: LiveCallPort,
        queue: str,
        *,
        priority: int = 0,
        attrs: Mapping[str, Any] | None = None,
        dedicated_agent: str | None = None,
        dedicated_wait: float = 30.0,
    ) -> str:
        """Put the caller of ``port`` in ``queue``; return when their part is over:
        ``answered`` (bridged to an agent, then ended), ``abandoned``,
        ``voicemail``, ``number``, ``hangup``, ``callback`` or ``refused``."""
        call = port.call
        now = self.now()
        qc = QueuedCall.from_ivr(
            call.call_id,
            port.caller_number,
            now,
            attrs=attrs,
            priority=priority,
            router=self.router,
        )
        if dedicated_agent:
            qc.dedicated_agent = dedicated_agent
            qc.dedicated_until = now + dedicated_wait
        w = _Waiting(port, call, queue, asyncio.get_running_loop().create_future())
        self._live[call.call_id] = w
        w.watcher = self._spawn(self._watch_caller(w))
        self.counters.queued += 1
        try:
            self.acd.enqueue(queue, qc, now)
        except AcdError:
            self._live.pop(call.call_id, None)
            w.watcher.cancel()
            raise
        self._pump()
        try:
            return await asyncio.shield(w.done)
        finally:
            if w.done.done() and w.watcher is not None:
                w.watcher.cancel()

    async def send_to_agent(self, port: LiveCallPort, agent_id: str) -> str:
        """Connect the caller to one agent through the ACD (so the agent is never
        double-booked): queued in the agent's first queue, offered to them only."""
        queues = [q for q in self.acd.queue_names() if agent_id in self.acd.members(q)] or [
            q
            for q in self.acd.queue_names()
            if any(m.agent.id == agent_id for m in self.acd.members(q))
        ]
        if not queues:
            raise AcdError(f"agent {agent_id!r} is in no queue")
        return await self.queue_call(port, queues[0], dedicated_agent=agent_id)

    async def send_to_number(self, port: LiveCallPort, number: str) -> str:
        """Dial ``number`` (through ``external_uri``) and bridge the caller to it."""
        call = port.call
        call.session and setattr(call.session, "source", self.endpoint.music_on_hold())
        res = await self.endpoint.dial(
            self.external_uri.format(number=number), caller=port.caller_number or self.caller_id
        )
        if not res.answered or res.call is None:
            return f"number_{res.outcome}"
        if call.ended:
            await res.call.hangup()
            return "abandoned"
        await bridge(call, res.call)
        return "number"

    async def _watch_caller(self, w: _Waiting) -> None:
        assert w.call is not None
        call = w.call
        await call.wait_hangup()
        if w.callback or call.call_id not in self._live:
            return
        self._cancel_media(w)
        try:
            self.acd.caller_hangup(call.call_id, self.now())
        except AcdError:
            pass
        if not w.done.done():
            w.done.set_result("answered" if w.agent_leg is not None else "abandoned")
            if w.agent_leg is None:
                self.counters.abandoned += 1
        # carry out the CancelOffer commands caller_hangup queued while the caller is
        # still known here: they find the ringing offers through it (CANCEL on the wire)
        self._pump()
        self._live.pop(call.call_id, None)
        self._finish_pending_logouts()
        self._pump()

    def _finish(self, w: _Waiting, outcome: str) -> None:
        key = w.call.call_id if w.call is not None else None
        if key is not None and self._live.get(key) is w:
            del self._live[key]
        if not w.done.done():
            w.done.set_result(outcome)

    def _finish_pending_logouts(self) -> None:
        for agent_id in list(self._pending_logout):
            a = self.acd.pool.get(agent_id)
            if a.status is AgentStatus.LOGGED_OUT:
                self._pending_logout.discard(agent_id)
            else:
                with contextlib.suppress(AgentError):
                    self.acd.logout(agent_id, self.now())
                    self._pending_logout.discard(agent_id)

    # ------------------------------------------------------------- media
    def _cancel_media(self, w: _Waiting) -> None:
        if w.media is not None and not w.media.done():
            w.media.cancel()
        w.media = None

    def _set_media(self, call_id: str, coro) -> None:
        w = self._live.get(call_id)
        if w is None or w.call is None or w.bridging:
            coro.close()
            return
        self._cancel_media(w)
        w.media = self._spawn(coro)

    def _hold_music(self, call_id: str) -> None:
        w = self._live.get(call_id)
        if w is None or w.call is None or w.bridging or w.call.session is None:
            return
        self._cancel_media(w)
        if not w.call.session.closed:
            w.call.session.source = self.endpoint.music_on_hold()

    def _announce(self, cmd: PlayAnnouncement) -> None:
        text = self.announcement.format(
            position=cmd.position,
            expected_wait=round(cmd.expected_wait or 0),
            minutes=max(1, round((cmd.expected_wait or 0) / 60)),
            queue=cmd.queue,
        )

        async def run() -> None:
            w = self._live.get(cmd.call_id)
            if w is None or w.call is None:
                return
            with contextlib.suppress(CallError):
                await w.call.play(await self.prompts.render(text))
            self._hold_music(cmd.call_id)

        self._set_media(cmd.call_id, run())

    # ------------------------------------------------------------ offers
    def _offer(self, cmd: OfferCall) -> None:
        w = self._live.get(cmd.call_id)
        if w is None:  # not a live call (should not happen): refuse the offer
            self.acd.rejected(cmd.call_id, cmd.agent_id, self.now())
            return
        self.counters.offers += 1
        if self.popper is not None:
            from .screenpop import pop_for_offer

            with contextlib.suppress(AcdError):
                self.popper.publish(
                    pop_for_offer(cmd, self.acd.call(cmd.call_id), self.now(), self.acd.sticky)
                )
        w.offers[cmd.agent_id] = self._spawn(self._ring_agent(w, cmd))

    def _device_uri(self, device: str) -> str:
        return (
            device
            if device.startswith(("sip:", "sips:"))
            else self.external_uri.format(number=device)
        )

    async def _ring_agent(self, w: _Waiting, cmd: OfferCall) -> None:
        """Ring every device of the agent; the first to answer takes the offer."""
        caller = w.port.caller_number if w.port is not None else self.caller_id
        headers = [(CALLER_CALL_ID_HEADER, cmd.call_id)]
        dials = [
            asyncio.ensure_future(
                self.endpoint.dial(
                    self._device_uri(d),
                    caller=caller or self.caller_id,
                    timeout=cmd.timeout + 2.0,
                    headers=headers,
                )
            )
            for d in cmd.devices
        ]
        if not dials:
            self.acd.rejected(cmd.call_id, cmd.agent_id, self.now())
            self._pump()
            return
        leg: Call | None = None
        outcomes: list[str] = []
        try:
            pending = set(dials)
            while pending and leg is None:
                done, pending = await asyncio.wait(pending, return_when="FIRST_COMPLETED")
                for d in done:
                    exc = d.exception()
                    if exc is not None:
                        outcomes.append("failed")
                        log.warning("dialing agent %s failed: %s", cmd.agent_id, exc)
                        continue
                    res = d.result()
                    if res.answered and res.call is not None and leg is None:
                        leg = res.call
                    elif res.answered and res.call is not None:
                        await res.call.hangup()
                    else:
                        outcomes.append(res.outcome)
            for d in pending:
                d.cancel()
        except asyncio.CancelledError:
            for d in dials:
                d.cancel()
            for d in dials:  # a 200 that crossed our CANCEL: hang that leg up
                with contextlib.suppress(BaseException):
                    res = await d
                    if res.answered and res.call is not None:
                        await res.call.hangup()
            raise
        finally:
            if w.offers.get(cmd.agent_id) is asyncio.current_task():
                del w.offers[cmd.agent_id]
        now = self.now()
        if leg is None:
            if "busy" in outcomes:
                self.acd.rejected(cmd.call_id, cmd.agent_id, now, busy=True)
            elif outcomes and all(o in ("no_answer", "cancelled") for o in outcomes):
                self.acd.no_answer(cmd.call_id, cmd.agent_id, now)
            else:
                self.acd.rejected(cmd.call_id, cmd.agent_id, now)
            self._pump()
            return
        self.counters.offers_answered += 1
        w.agent_leg = leg
        if w.call is not None and w.call.ended:
            # the caller left while the agent picked up: the ACD may not know yet
            w.agent_leg = None
            await leg.hangup()
            return
        if not self.acd.answered(cmd.call_id, cmd.agent_id, now):
            self.counters.stale_answers += 1
            w.agent_leg = None
            await leg.hangup()
            self._pump()
            return
        self._pump()  # -> Bridge

    # ------------------------------------------------------------ bridge
    async def _bridge(self, cmd: Bridge) -> None:
        w = self._live.get(cmd.call_id)
        if w is None or w.agent_leg is None or w.call is None:
            return
        w.bridging = True
        self._cancel_media(w)
        leg, call = w.agent_leg, w.call
        if call.session is not None and not call.session.closed:
            call.session.source = self.endpoint.music_on_hold()  # while the agent hears the whisper
        offer_whisper = self.acd.config(cmd.queue).whisper if self.whisper else ""
        if offer_whisper:
            qc = self.acd.call(cmd.call_id)
            text = offer_whisper.format(
                queue=cmd.queue,
                tier=qc.tier or "",
                customer=qc.customer_id or "",
                number=qc.number,
                product=qc.product or "",
            )
            with contextlib.suppress(CallError):
                await leg.play(await self.prompts.render(text), interruptible=False)
        if call.ended or leg.ended:
            if not leg.ended:
                await leg.hangup()
            if not call.ended:
                await call.hangup()
            return  # the caller watcher reports the end to the ACD
        self.counters.bridged += 1
        await bridge(call, leg)
        self.counters.completed += 1
        # the caller watcher sees the caller's hangup and tells the ACD (call_ended)

    # ----------------------------------------------------------- overflow
    async def _overflow(self, cmd: Overflow) -> None:
        w = self._live.get(cmd.call_id)
        if w is None or w.port is None:
            return
        self.counters.overflowed += 1
        self._cancel_media(w)
        port = w.port
        del self._live[cmd.call_id]  # out of the ACD: the watcher must not report
        if w.watcher is not None:
            w.watcher.cancel()
        outcome = cmd.kind
        try:
            if cmd.kind == "voicemail":
                await port.play(self.voicemail_prompt)
                path = await port.record_voicemail(cmd.target or cmd.queue)
                if path and self.voicemail is not None:
                    await asyncio.to_thread(
                        self.voicemail.add,
                        cmd.target or cmd.queue,
                        port.caller_number,
                        path,
                        time.time(),
                        meta={"queue": cmd.queue, "reason": cmd.reason},
                    )
                self.counters.voicemails += 1
                await port.hangup()
            elif cmd.kind == "number":
                outcome = await self.send_to_number(port, cmd.target)
            else:  # hangup: ``target`` is the message (an outbound compliance message)
                await port.play(
                    cmd.target or "We are sorry, nobody can take your call now. Goodbye."
                )
                await port.hangup()
        except CallError:
            outcome = "abandoned"
        if not w.done.done():
            w.done.set_result(outcome)

    # ----------------------------------------------------------- callbacks
    async def _callback_choice(self, cmd: OfferCallbackChoice) -> None:
        w = self._live.get(cmd.call_id)
        if w is None or w.port is None:
            return
        try:
            await w.port.play(self.callback_prompt)
            digit = await w.port.collect(1, "", 5.0, 5.0)
        except CallError:
            return
        if digit == "1":
            try:
                self.acd.accept_callback(cmd.call_id, self.now())
            except AcdError:
                self._hold_music(cmd.call_id)
                return
            w.callback = True
            with contextlib.suppress(CallError):
                await w.port.play("Thank you. We will call you back.")
                await w.port.hangup()
            if not w.done.done():
                w.done.set_result("callback")
            self._pump()
        else:
            self._hold_music(cmd.call_id)

    async def _place_callback(self, cmd: PlaceCallback) -> None:
        """The ACD reserved ``agent_id``: ring the agent, then call the customer back."""
        w = self._live.get(cmd.call_id)
        if w is None:
            self.acd.callback_failed(cmd.call_id, self.now())
            self._pump()
            return
        self.counters.callbacks_placed += 1
        agent_leg: Call | None = None
        for d in cmd.devices:
            res = await self.endpoint.dial(self._device_uri(d), caller=cmd.number, timeout=20)
            if res.answered and res.call is not None:
                agent_leg = res.call
                break
        if agent_leg is None:
            self.acd.callback_failed(cmd.call_id, self.now())
            self._finish(w, "callback_failed")
            self._pump()
            return
        res = await self.endpoint.dial(
            self.external_uri.format(number=cmd.number), caller=self.caller_id, timeout=30
        )
        if not res.answered or res.call is None:
            await agent_leg.hangup()
            self.acd.callback_failed(cmd.call_id, self.now())
            self._finish(w, "callback_failed")
            self._pump()
            return
        customer = res.call
        if not self.acd.answered(cmd.call_id, cmd.agent_id, self.now()):
            await agent_leg.hangup()
            await customer.hangup()
            self._finish(w, "callback_failed")
            return
        self.acd.drain()  # the Bridge command: carried out right here
        w.call, w.agent_leg, w.callback, w.bridging = customer, agent_leg, False, True
        self._rearm()
        await bridge(customer, agent_leg)
        with contextlib.suppress(AcdError):
            self.acd.call_ended(cmd.call_id, self.now())
        self._finish(w, "callback_answered")
        self._pump()

    # -------------------------------------------------------------- views
    def snapshot(self) -> dict[str, Any]:
        """Live figures per queue plus agent counts (for wallboards and the demo)."""
        now = self.now()
        queues = {q: self.stats.live(q, now) for q in self.acd.queue_names()}
        agents = list(self.acd.pool)
        return {
            "queues": queues,
            "agents_logged_in": sum(a.status is not AgentStatus.LOGGED_OUT for a in agents),
            "agents_on_call": sum(a.state.value == "on_call" for a in agents),
            "occupancy": self.stats.occupancy(now),
        }


__all__ = ["CALLER_CALL_ID_HEADER", "CenterRuntime", "RuntimeCounters"]
