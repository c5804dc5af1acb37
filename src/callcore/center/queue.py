"""The ACD: queues of waiting callers and the agents that serve them, sans-IO.

:class:`Acd` is a state machine. Feed it what happened (a call joins, an agent
answers, rejects or does not answer, a caller hangs up, a bridged call ends,
agents change status) with the current time; call :meth:`Acd.poll` at
:meth:`Acd.next_deadline`; take the commands it wants carried out with
:meth:`Acd.drain` (ring agent, cancel ring, bridge, announce, overflow, place a
callback). Every change is also published as an event to subscribers (the
statistics are one).

Guarantees (tested as invariants): an agent is never reserved for or on two
calls; within a queue a caller is never passed over by a later caller for an
agent they could take; an agent logging out mid-offer is released and the call
is offered to the next agent.
"""

from __future__ import annotations

import heapq
import itertools
import random as _random
from bisect import insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .agents import (
    Agent,
    AgentError,
    AgentPool,
    AgentState,
    AgentStatus,
    AgentTimers,
    Device,
)
from .events import (
    Bridge,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallOfferedEvent,
    CallOverflowed,
    CallQueued,
    CallRefused,
    CancelOffer,
    Command,
    Event,
    HoldMusic,
    OfferCall,
    OfferCallbackChoice,
    Overflow,
    PlaceCallback,
    PlayAnnouncement,
)
from .routing import CallerRouter, StickyMemory
from .strategies import Member, Strategy, make_strategy

#: tolerance so a timer fired at ``arrived + boundary`` sees the boundary reached
_EPS = 1e-9


class AcdError(Exception):
    """Misuse of the ACD API (unknown queue or call, duplicate call id...)."""


@dataclass(frozen=True, slots=True)
class OverflowTarget:
    """Where a call goes when it cannot stay: ``kind`` is ``queue`` (``target`` =
    queue name), ``voicemail`` (``target`` = mailbox), ``callback``, ``number``
    or ``hangup``."""

    kind: str = "voicemail"
    target: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("queue", "voicemail", "callback", "number", "hangup"):
            raise ValueError(f"bad overflow kind {self.kind!r}")


@dataclass(slots=True)
class QueueConfig:
    """A queue's rules. Times in seconds.

    ``skills`` makes every agent with those skills a member; ``tiers`` is a
    list of ``(after_wait, min_level)`` that lowers the required proficiency as
    the caller waits (first entry normally ``(0, best_level)``). Explicit
    members added with ``level=k`` become eligible after ``k * tier_wait``.
    ``attribute_relax`` drops per-call skill needs (region, product) after that
    wait so nobody is stuck. ``whisper`` is formatted with ``queue``, ``tier``,
    ``customer``, ``number``, ``product``. ``music`` is the hold-music class
    started on join (``None``: the live layer keeps ringback/silence).
    """

    name: str
    strategy: Strategy | str = "longest_idle"
    wrap_up: float = 0.0
    offer_timeout: float = 20.0
    max_length: int | None = None
    max_wait: float | None = None
    on_max_wait: OverflowTarget = field(default_factory=OverflowTarget)
    on_full: OverflowTarget = field(default_factory=OverflowTarget)
    join_empty: bool = True
    leave_when_empty: bool = False
    on_empty: OverflowTarget = field(default_factory=OverflowTarget)
    music: str | None = "default"
    announce_position: bool = False
    announce_every: float | None = None
    skills: Mapping[str, int] = field(default_factory=dict)
    tiers: Sequence[tuple[float, int]] = ()
    tier_wait: float = 0.0
    attribute_relax: float | None = None
    whisper: str = "{queue}"
    weight: int = 0
    service_level: float = 20.0


@dataclass(slots=True, eq=False)
class QueuedCall:
    """A caller in (or offered from) a queue. Routing hints come from
    :class:`~callcore.center.routing.CallerRouter`."""

    call_id: str
    number: str = ""
    priority: int = 0
    base_score: float = 0.0
    skills: Mapping[str, int] = field(default_factory=dict)
    region: str | None = None
    product: str | None = None
    tier: str | None = None
    customer_id: str | None = None
    preferred_agent: str | None = None
    dedicated_agent: str | None = None
    dedicated_until: float = 0.0
    attrs: dict = field(default_factory=dict)
    # runtime, set by the ACD
    queue: str = ""
    arrived: float = 0.0
    first_arrived: float | None = None
    status: str = "new"  # waiting, offering, callback, bridged, done
    offers: dict[str, int] = field(default_factory=dict)
    ring_list: list[Member] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)
    agent_id: str | None = None
    bridged_at: float | None = None
    gen: int = 0
    ring_gen: int = 0
    overdue: bool = False
    seq: int = 0

    @classmethod
    def from_ivr(
        cls,
        call_id: str,
        number: str,
        now: float,
        *,
        attrs: Mapping[str, Any] | None = None,
        priority: int = 0,
        router: CallerRouter | None = None,
    ) -> QueuedCall:
        """Build the queued call for an IVR transfer: ``attrs`` is what the flow
        passed (product, tier, customer, path, masked inputs); ``router`` adds
        region/product skills, sticky agent and VIP rules."""
        a = dict(attrs or {})
        tier = a.get("tier") or None
        product = a.get("product") or None
        kw: dict[str, Any] = {"priority": priority, "tier": tier, "product": product}
        if router is not None:
            kw.update(router.hints(number, now, product=product, tier=tier))
            kw["priority"] = max(priority, kw.get("priority", 0))
        return cls(call_id, number, customer_id=a.get("customer_id") or None, attrs=a, **kw)

    def sort_key(self) -> tuple[int, float, int]:
        return (-self.priority, self.arrived - self.base_score, self.seq)

    def __lt__(self, other: QueuedCall) -> bool:
        return self.sort_key() < other.sort_key()


class _Queue:
    __slots__ = (
        "aht",
        "boundaries",
        "calls",
        "cfg",
        "has_levels",
        "member_of",
        "members",
        "strategy",
    )

    def __init__(self, cfg: QueueConfig, strategy: Strategy) -> None:
        self.cfg = cfg
        self.strategy = strategy
        self.members: list[Member] = []
        self.member_of: dict[str, Member] = {}
        self.calls: list[QueuedCall] = []  # sorted by QueuedCall.sort_key
        self.aht = 180.0
        self.boundaries: list[float] = []
        self.has_levels = False

    def recompute_boundaries(self) -> None:
        self.has_levels = any(m.level for m in self.members)
        b = {m_after(m, self.cfg) for m in self.members}
        b.update(t for t, _ in self.cfg.tiers)
        if self.cfg.attribute_relax is not None:
            b.add(self.cfg.attribute_relax)
        b.discard(0.0)
        self.boundaries = sorted(x for x in b if x > 0)


def m_after(m: Member, cfg: QueueConfig) -> float:
    """Seconds of waiting after which member ``m`` may take a call of this queue."""
    if cfg.tiers:
        return cfg.tiers[min(m.level, len(cfg.tiers) - 1)][0]
    return m.level * cfg.tier_wait


class Acd:
    """Queues and agents; see the module docstring for the protocol.

    ``pool`` (or ``is_registered``/``timers`` to build one) holds the agents.
    ``rng`` feeds random strategies named by string. ``sticky`` records who
    served each number when a call is answered.
    """

    def __init__(
        self,
        pool: AgentPool | None = None,
        *,
        is_registered: Callable[[str], bool] | None = None,
        timers: AgentTimers | None = None,
        rng: _random.Random | None = None,
        sticky: StickyMemory | None = None,
    ) -> None:
        if pool is None:
            pool = AgentPool(is_registered=is_registered or (lambda aor: True), timers=timers)
        self.pool = pool
        pool.sink = self._emit
        self.rng = rng
        self.sticky = sticky
        self._queues: dict[str, _Queue] = {}
        self._agent_queues: dict[str, list[_Queue]] = {}
        self._calls: dict[str, QueuedCall] = {}
        self._awaiting: dict[str, list[QueuedCall]] = {}  # dedicated agent -> calls
        self._timers: list[tuple[float, int, str, tuple]] = []
        self._tseq = itertools.count()
        self._cseq = itertools.count()
        self._token = itertools.count(1)
        self._wrap_token: dict[str, int] = {}
        self._out: list[Command] = []
        self._subs: list[Callable[[Event], None]] = []

    # ======================================================== configuration
    def add_queue(self, cfg: QueueConfig) -> None:
        if cfg.name in self._queues:
            raise AcdError(f"queue {cfg.name!r} already exists")
        strat = cfg.strategy
        if isinstance(strat, str):
            strat = make_strategy(strat, self.rng)
        q = _Queue(cfg, strat)
        self._queues[cfg.name] = q
        if cfg.skills:
            for a in self.pool:
                self._auto_member(q, a)
        q.recompute_boundaries()

    def add_agent(self, agent: Agent, queues: Mapping[str, int] | Iterable[str] = ()) -> Agent:
        """Register ``agent`` and add it to skill-based queues it qualifies for and
        to ``queues`` (names, or name → tier level)."""
        self.pool.add(agent)
        self._agent_queues.setdefault(agent.id, [])
        for q in self._queues.values():
            if q.cfg.skills and self._auto_member(q, agent):
                q.recompute_boundaries()
        levels = queues if isinstance(queues, Mapping) else dict.fromkeys(queues, 0)
        for name, level in levels.items():
            self.add_member(name, agent.id, level=level)
        return agent

    def add_member(
        self,
        queue: str,
        agent_id: str,
        *,
        position: int | None = None,
        level: int = 0,
        weight: float = 1.0,
    ) -> None:
        q = self._queue(queue)
        agent = self.pool.get(agent_id)
        if agent_id in q.member_of:
            raise AcdError(f"agent {agent_id!r} is already a member of {queue!r}")
        pos = position if position is not None else len(q.members)
        self._insert_member(q, Member(agent, pos, level, weight))
        q.recompute_boundaries()

    def _insert_member(self, q: _Queue, m: Member) -> None:
        insort(q.members, m, key=lambda x: x.position)
        q.member_of[m.agent.id] = m
        self._agent_queues.setdefault(m.agent.id, []).append(q)
        self._agent_queues[m.agent.id].sort(key=lambda x: -x.cfg.weight)

    def _auto_member(self, q: _Queue, a: Agent) -> bool:
        need = q.cfg.skills
        tiers = q.cfg.tiers or ((0.0, min(need.values(), default=1)),)
        for level, (_, min_level) in enumerate(tiers):
            if all(a.skills.get(s, 0) >= max(min_level, 1) for s in need):
                self._insert_member(q, Member(a, len(q.members), level, 1.0))
                return True
        return False

    def remove_member(self, queue: str, agent_id: str) -> None:
        q = self._queue(queue)
        m = q.member_of.pop(agent_id, None)
        if m is None:
            raise AcdError(f"agent {agent_id!r} is not a member of {queue!r}")
        q.members.remove(m)
        self._agent_queues[agent_id].remove(q)
        q.recompute_boundaries()

    def subscribe(self, fn: Callable[[Event], None]) -> None:
        """Receive every event (agent status/state, queue changes)."""
        self._subs.append(fn)

    # ============================================================ queries
    def queue_names(self) -> list[str]:
        return list(self._queues)

    def config(self, queue: str) -> QueueConfig:
        return self._queue(queue).cfg

    def members(self, queue: str) -> list[Member]:
        return list(self._queue(queue).members)

    def waiting(self, queue: str) -> list[QueuedCall]:
        """Calls in line (waiting, being offered or holding a callback place), in order."""
        return list(self._queue(queue).calls)

    def call(self, call_id: str) -> QueuedCall:
        try:
            return self._calls[call_id]
        except KeyError:
            raise AcdError(f"unknown call {call_id!r}") from None

    def position(self, call_id: str) -> int:
        c = self.call(call_id)
        return self._queue(c.queue).calls.index(c) + 1

    def staffed(self, queue: str) -> int:
        """Members available or busy with a call (not on break / not ready / logged out)."""
        return sum(1 for m in self._queue(queue).members if m.agent.status is AgentStatus.AVAILABLE)

    def expected_wait(self, queue: str, position: int) -> float | None:
        """Rough expected wait at ``position``: callers ahead beyond the ready members,
        times the queue's running handle time, shared over the staffed members
        (``None`` when nobody is staffed)."""
        q = self._queue(queue)
        n = self.staffed(queue)
        if n == 0:
            return None
        free = sum(1 for m in q.members if m.agent.ready)
        return max(0, position - free) * q.aht / n

    def drain(self) -> list[Command]:
        """Commands produced since the last call, in order."""
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    # ======================================================== agent input
    def login(
        self, agent_id: str, now: float, devices: Iterable[Device] | None = None, *, available=True
    ) -> Agent:
        self.poll(now)
        a = self.pool.login(agent_id, now, devices, available=available)
        self._agent_changed(a, now)
        return a

    def set_status(
        self, agent_id: str, status: AgentStatus | str, now: float, reason: str | None = None
    ) -> Agent:
        self.poll(now)
        status = AgentStatus(status)
        a = self.pool.set_status(agent_id, status, now, reason)
        if status is AgentStatus.LOGGED_OUT and a.state is AgentState.RESERVED:
            self._cancel_agent_offer(a, now, "agent logged out")
        if status is AgentStatus.LOGGED_OUT and a.state is AgentState.WRAP_UP:
            self._wrap_token.pop(a.id, None)
            self.pool.transition(a.id, "wrap_done", now)
        self._agent_changed(a, now)
        return a

    def logout(self, agent_id: str, now: float) -> Agent:
        return self.set_status(agent_id, AgentStatus.LOGGED_OUT, now)

    # ========================================================= call input
    def enqueue(self, queue: str, call: QueuedCall, now: float) -> bool:
        """A caller joins ``queue``. Returns ``False`` if refused (full / empty); an
        :class:`Overflow` command then says where the call goes."""
        self.poll(now)
        q = self._queue(queue)
        if call.call_id in self._calls:
            raise AcdError(f"call {call.call_id!r} is already queued")
        cfg = q.cfg
        reason = None
        if cfg.max_length is not None and len(q.calls) >= cfg.max_length:
            reason, target = "full", cfg.on_full
        elif not cfg.join_empty and self.staffed(queue) == 0 and not call.dedicated_agent:
            reason, target = "empty", cfg.on_empty
        if reason is not None:
            self._emit(CallRefused(now, call.call_id, queue, reason))
            self._out.append(Overflow(call.call_id, queue, target.kind, target.target, reason))
            return False
        self._join(q, call, now)
        return True

    def answered(self, call_id: str, agent_id: str, now: float) -> bool:
        """The agent answered the offer. Returns ``False`` for a stale answer (the
        offer was already withdrawn); the live layer should then drop that leg."""
        self.poll(now)
        c = self._calls.get(call_id)
        if c is None or agent_id not in c.offers:
            return False
        q = self._queues[c.queue]
        del c.offers[agent_id]
        released = self._withdraw_offers(c, now, "answered elsewhere")
        self.pool.transition(agent_id, "answer", now, call_id=call_id, queue=c.queue)
        self._remove_from_line(q, c)
        c.status = "bridged"
        c.agent_id = agent_id
        c.bridged_at = now
        if self.sticky is not None and c.number:
            self.sticky.remember(c.number, agent_id, now)
        self._out.append(Bridge(call_id, agent_id, c.queue))
        self._emit(CallAnswered(now, call_id, c.queue, agent_id, now - c.arrived))
        for a in released:
            self._agent_changed(a, now)
        return True

    def rejected(self, call_id: str, agent_id: str, now: float, *, busy: bool = False) -> None:
        """The agent declined (or their device was busy)."""
        self.poll(now)
        self._missed(call_id, agent_id, now, "busy" if busy else "reject")

    def no_answer(self, call_id: str, agent_id: str, now: float) -> None:
        """The agent's devices rang out (the ACD also times offers out itself)."""
        self.poll(now)
        self._missed(call_id, agent_id, now, "no_answer")

    def caller_hangup(self, call_id: str, now: float) -> None:
        """The caller left: abandon if still waiting, end the call if bridged."""
        self.poll(now)
        c = self._calls.get(call_id)
        if c is None:
            return
        if c.status == "bridged":
            self.call_ended(call_id, now)
            return
        q = self._queues[c.queue]
        released = self._withdraw_offers(c, now, "caller hung up")
        self._remove_from_line(q, c)
        self._drop(c)
        self._emit(CallAbandoned(now, call_id, c.queue, now - c.arrived))
        for a in released:
            self._agent_changed(a, now)
        self._check_empty_leave(q, now)

    def call_ended(self, call_id: str, now: float) -> None:
        """A bridged call finished: the agent goes to the queue's wrap-up."""
        self.poll(now)
        c = self.call(call_id)
        if c.status != "bridged" or c.agent_id is None:
            raise AcdError(f"call {call_id!r} is not bridged")
        q = self._queues[c.queue]
        a = self.pool.transition(c.agent_id, "hangup", now, call_id=call_id, queue=c.queue)
        talk = now - (c.bridged_at or now)
        wrap = q.cfg.wrap_up
        q.aht += 0.1 * (talk + wrap - q.aht)
        self._drop(c)
        self._emit(CallCompleted(now, call_id, c.queue, a.id, talk, wrap))
        if wrap > 0 and a.status is not AgentStatus.LOGGED_OUT:
            tok = next(self._token)
            self._wrap_token[a.id] = tok
            self._at(now + wrap, "wrap", (a.id, tok))
        else:
            self.pool.transition(a.id, "wrap_done", now)
            self._agent_changed(a, now)

    def accept_callback(self, call_id: str, now: float) -> None:
        """The caller took the callback offer: they hang up but keep their place."""
        self.poll(now)
        c = self.call(call_id)
        if c.status not in ("waiting",):
            raise AcdError(f"call {call_id!r} cannot take a callback now ({c.status})")
        c.status = "callback"

    def callback_failed(self, call_id: str, now: float) -> None:
        """The customer did not answer the callback: release the agent, drop the task."""
        self.poll(now)
        c = self.call(call_id)
        q = self._queues[c.queue]
        released = self._withdraw_offers(c, now, "callback failed", silent=True)
        self._remove_from_line(q, c)
        self._drop(c)
        self._emit(CallAbandoned(now, call_id, c.queue, now - c.arrived))
        for a in released:
            self._agent_changed(a, now)

    # ============================================================= timers
    def poll(self, now: float) -> None:
        """Run every timer due at ``now`` (offer timeouts, wrap-up ends, delays,
        tier widening, max wait, announcements), each at its own deadline.

        Every input method polls first, so timers due before an input are
        always handled before it; call ``poll`` yourself at :meth:`next_deadline`."""
        while self._timers and self._timers[0][0] <= now:
            when, _, kind, key = heapq.heappop(self._timers)
            getattr(self, "_t_" + kind)(when, *key)

    def _at(self, when: float, kind: str, key: tuple) -> None:
        heapq.heappush(self._timers, (when, next(self._tseq), kind, key))

    def _t_offer(self, now: float, call_id: str, agent_id: str, tok: int) -> None:
        c = self._calls.get(call_id)
        if c is not None and c.offers.get(agent_id) == tok:
            self._out.append(CancelOffer(call_id, agent_id, "no answer"))
            self._missed(call_id, agent_id, now, "no_answer")

    def _t_progress(self, now: float, call_id: str, gen: int) -> None:
        c = self._calls.get(call_id)
        if c is None or c.ring_gen != gen or c.status != "offering":
            return
        self._ring_next(self._queues[c.queue], c, now)

    def _ring_next(self, q: _Queue, c: QueuedCall, now: float) -> None:
        """Progressive ringing: add the next ready member; re-arm the step timer."""
        while c.ring_list:
            m = c.ring_list.pop(0)
            if m.agent.ready:
                self._offer(q, c, m.agent, now)
                break
        c.ring_gen += 1
        if c.ring_list:
            self._at(now + q.strategy.interval, "progress", (c.call_id, c.ring_gen))  # type: ignore[attr-defined]

    def _t_wrap(self, now: float, agent_id: str, tok: int) -> None:
        if self._wrap_token.get(agent_id) != tok:
            return
        del self._wrap_token[agent_id]
        a = self.pool.transition(agent_id, "wrap_done", now)
        self._agent_changed(a, now)

    def _t_ready(self, now: float, agent_id: str) -> None:
        a = self.pool.get(agent_id)
        if self.pool.refresh(agent_id, now):
            self._dispatch_agent(a, now)

    def _t_maxwait(self, now: float, call_id: str, gen: int) -> None:
        c = self._calls.get(call_id)
        if c is None or c.gen != gen or c.status != "waiting":
            if c is not None and c.gen == gen and c.status == "offering":
                c.overdue = True  # overflow if this offer is not answered
            return
        q = self._queues[c.queue]
        self._overflow(q, c, q.cfg.on_max_wait, "max wait", now)

    def _t_announce(self, now: float, call_id: str, gen: int) -> None:
        c = self._calls.get(call_id)
        if c is None or c.gen != gen or c.status not in ("waiting", "offering"):
            return
        q = self._queues[c.queue]
        pos = q.calls.index(c) + 1
        self._out.append(
            PlayAnnouncement(
                call_id, q.cfg.name, "periodic", pos, self.expected_wait(q.cfg.name, pos)
            )
        )
        if q.cfg.announce_every:
            self._at(now + q.cfg.announce_every, "announce", (call_id, gen))

    def _t_widen(self, now: float, call_id: str, gen: int) -> None:
        c = self._calls.get(call_id)
        if c is None or c.gen != gen:
            return
        q = self._queues[c.queue]
        if c.status in ("waiting", "callback"):
            self._dispatch_call(q, c, now)
        self._arm_widen(q, c, now)

    def _arm_widen(self, q: _Queue, c: QueuedCall, now: float) -> None:
        nxt = None
        for b in q.boundaries:
            if c.arrived + b > now:  # absolute times: no float drift re-arming the same step
                nxt = c.arrived + b
                break
        if c.dedicated_agent and c.dedicated_until > now:
            nxt = c.dedicated_until if nxt is None else min(nxt, c.dedicated_until)
        if nxt is not None:
            self._at(nxt, "widen", (c.call_id, c.gen))

    # ============================================================ internals
    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise AcdError(f"unknown queue {name!r}") from None

    def _emit(self, ev: Event) -> None:
        for fn in self._subs:
            fn(ev)

    def _join(self, q: _Queue, c: QueuedCall, now: float) -> None:
        c.queue = q.cfg.name
        c.arrived = now
        if c.first_arrived is None:
            c.first_arrived = now
        c.status = "waiting"
        c.seq = next(self._cseq)
        c.gen += 1
        c.offers.clear()
        c.tried.clear()
        c.overdue = False
        insort(q.calls, c)
        self._calls[c.call_id] = c
        pos = q.calls.index(c) + 1
        self._emit(CallQueued(now, c.call_id, q.cfg.name, pos, c.priority))
        if c.dedicated_agent:
            self._awaiting.setdefault(c.dedicated_agent, []).append(c)
        cfg = q.cfg
        if cfg.music:
            self._out.append(HoldMusic(c.call_id, cfg.name, cfg.music))
        if cfg.announce_position:
            self._out.append(
                PlayAnnouncement(
                    c.call_id, cfg.name, "position", pos, self.expected_wait(cfg.name, pos)
                )
            )
        if cfg.max_wait is not None:
            self._at(now + cfg.max_wait, "maxwait", (c.call_id, c.gen))
        if cfg.announce_every:
            self._at(now + cfg.announce_every, "announce", (c.call_id, c.gen))
        self._arm_widen(q, c, now)
        self._dispatch_call(q, c, now)

    def _remove_from_line(self, q: _Queue, c: QueuedCall) -> None:
        try:
            q.calls.remove(c)
        except ValueError:
            pass
        if c.dedicated_agent:
            lst = self._awaiting.get(c.dedicated_agent)
            if lst and c in lst:
                lst.remove(c)

    def _drop(self, c: QueuedCall) -> None:
        c.status = "done"
        c.gen += 1
        self._calls.pop(c.call_id, None)

    def _needs(self, q: _Queue, c: QueuedCall, wait: float) -> Mapping[str, int]:
        need = c.skills
        if need and q.cfg.attribute_relax is not None and wait >= q.cfg.attribute_relax:
            return {}
        return need

    @staticmethod
    def _member_ok(q: _Queue, m: Member, wait: float, need: Mapping[str, int]) -> bool:
        if m.level:
            tiers = q.cfg.tiers
            after = tiers[min(m.level, len(tiers) - 1)][0] if tiers else m.level * q.cfg.tier_wait
            if after > wait:
                return False
        if need:
            sk = m.agent.skills
            for s, lv in need.items():
                if sk.get(s, 0) < lv:
                    return False
        return True

    def _eligible(self, q: _Queue, c: QueuedCall, now: float) -> list[Member]:
        """Ready members of ``q`` that may take ``c`` now, in member order."""
        if c.dedicated_agent and now < c.dedicated_until:
            try:
                a = self.pool.get(c.dedicated_agent)
            except AgentError:
                return []
            if a.ready and a.id not in c.tried:
                return [q.member_of.get(a.id) or Member(a)]
            return []
        wait = now - c.arrived + _EPS
        need = self._needs(q, c, wait)
        tried = c.tried
        if not need and not q.has_levels:
            if tried:
                return [m for m in q.members if m.agent.ready and m.agent.id not in tried]
            return [m for m in q.members if m.agent.ready]
        ok = self._member_ok
        return [
            m
            for m in q.members
            if m.agent.ready and not (tried and m.agent.id in tried) and ok(q, m, wait, need)
        ]

    def _dispatch_call(self, q: _Queue, c: QueuedCall, now: float) -> bool:
        """Offer ``c`` to the member(s) its queue's strategy picks, if any is ready."""
        if c.status not in ("waiting", "callback"):
            return False
        cands = self._eligible(q, c, now)
        if not cands and c.tried:
            c.tried.clear()
            cands = self._eligible(q, c, now)
        if not cands:
            return False
        if c.preferred_agent:
            for m in cands:
                if m.agent.id == c.preferred_agent:
                    self._offer(q, c, m.agent, now)
                    return True
        if c.status == "callback":
            m = q.strategy.choose(cands)[:1] if q.strategy.mode == "one" else cands[:1]
            self._offer(q, c, m[0].agent, now)
            return True
        picks = q.strategy.choose(cands)
        if not picks:
            return False
        mode = q.strategy.mode
        if mode == "all":
            for m in picks:
                self._offer(q, c, m.agent, now)
        elif mode == "progressive":
            self._offer(q, c, picks[0].agent, now)
            c.ring_list = list(picks[1:])
            c.ring_gen += 1
            if c.ring_list:
                self._at(now + q.strategy.interval, "progress", (c.call_id, c.ring_gen))  # type: ignore[attr-defined]
        else:
            self._offer(q, c, picks[0].agent, now)
        return True

    def _dispatch_agent(self, a: Agent, now: float) -> None:
        """``a`` just became ready: give it the best waiting call it may take."""
        if not a.ready:
            return
        best: QueuedCall | None = None
        best_q: _Queue | None = None
        best_key = None
        for c in self._awaiting.get(a.id, ()):
            if c.status in ("waiting", "callback") and now < c.dedicated_until:
                k = (-(10**9), *c.sort_key())
                if best_key is None or k < best_key:
                    best, best_q, best_key = c, self._queues[c.queue], k
        for q in self._agent_queues.get(a.id, ()):
            if best is not None and best_key is not None and best_key[0] < -q.cfg.weight:
                break
            for c in q.calls:
                if c.status not in ("waiting", "callback"):
                    continue
                if c.dedicated_agent and now < c.dedicated_until:
                    continue
                wait = now - c.arrived + _EPS
                if self._member_ok(q, q.member_of[a.id], wait, self._needs(q, c, wait)):
                    k = (-q.cfg.weight, *c.sort_key())
                    if best_key is None or k < best_key:
                        best, best_q, best_key = c, q, k
                    break
        if best is not None and best_q is not None:
            self._dispatch_call(best_q, best, now)

    def _offer(self, q: _Queue, c: QueuedCall, a: Agent, now: float) -> None:
        self.pool.transition(a.id, "reserve", now, call_id=c.call_id, queue=q.cfg.name)
        tok = next(self._token)
        c.offers[a.id] = tok
        c.tried.add(a.id)
        devices = tuple(d.address for d in a.active_devices)
        self._emit(CallOfferedEvent(now, c.call_id, q.cfg.name, a.id))
        if c.status == "callback":
            self._out.append(PlaceCallback(c.call_id, a.id, c.number, q.cfg.name, devices))
            c.status = "calling_back"
            return
        c.status = "offering"
        whisper = q.cfg.whisper.format(
            queue=q.cfg.name,
            tier=c.tier or "",
            customer=c.customer_id or "",
            number=c.number,
            product=c.product or "",
        )
        self._out.append(
            OfferCall(c.call_id, a.id, devices, q.cfg.name, q.cfg.offer_timeout, whisper)
        )
        self._at(now + q.cfg.offer_timeout, "offer", (c.call_id, a.id, tok))

    def _withdraw_offers(
        self, c: QueuedCall, now: float, reason: str, *, silent: bool = False
    ) -> list[Agent]:
        """Cancel every outstanding offer of ``c``; return the released agents."""
        out = []
        for agent_id in list(c.offers):
            del c.offers[agent_id]
            if not silent:
                self._out.append(CancelOffer(c.call_id, agent_id, reason))
            out.append(self.pool.transition(agent_id, "release", now, call_id=c.call_id))
        c.ring_list = []
        return out

    def _missed(self, call_id: str, agent_id: str, now: float, kind: str) -> None:
        c = self._calls.get(call_id)
        if c is None or agent_id not in c.offers:
            return
        del c.offers[agent_id]
        a = self.pool.missed(agent_id, now, kind)
        if not a.ready and a.status is AgentStatus.AVAILABLE and a.ready_at > now:
            self._at(a.ready_at, "ready", (a.id,))
        self._after_offer_gone(c, now)
        self._agent_changed(a, now, dispatch_self=True)

    def _after_offer_gone(self, c: QueuedCall, now: float) -> None:
        if c.offers:
            return
        q = self._queues[c.queue]
        if c.status == "calling_back":
            c.status = "callback"
        elif c.status == "offering":
            if c.ring_list:
                self._ring_next(q, c, now)
                if c.offers:
                    return
            c.status = "waiting"
            if c.overdue:
                c.overdue = False
                self._overflow(q, c, q.cfg.on_max_wait, "max wait", now)
                if c.status != "waiting" or c.call_id not in self._calls:
                    return
        self._dispatch_call(q, c, now)

    def _cancel_agent_offer(self, a: Agent, now: float, reason: str) -> None:
        c = self._calls.get(a.call_id or "")
        if c is None or a.id not in c.offers:
            return
        del c.offers[a.id]
        self._out.append(CancelOffer(c.call_id, a.id, reason))
        self.pool.transition(a.id, "release", now, call_id=c.call_id)
        self._after_offer_gone(c, now)

    def _agent_changed(self, a: Agent, now: float, *, dispatch_self: bool = True) -> None:
        if a.ready and dispatch_self:
            self._dispatch_agent(a, now)
        for q in self._agent_queues.get(a.id, ()):
            self._check_empty_leave(q, now)

    def _check_empty_leave(self, q: _Queue, now: float) -> None:
        if not q.cfg.leave_when_empty or not q.calls:
            return
        if self.staffed(q.cfg.name) == 0:
            for c in list(q.calls):
                if c.status == "waiting" and not c.dedicated_agent:
                    self._overflow(q, c, q.cfg.on_empty, "empty", now)

    def _overflow(
        self, q: _Queue, c: QueuedCall, target: OverflowTarget, reason: str, now: float
    ) -> None:
        if target.kind == "callback":
            self._out.append(OfferCallbackChoice(c.call_id, q.cfg.name, q.calls.index(c) + 1))
            return
        released = self._withdraw_offers(c, now, reason)
        self._remove_from_line(q, c)
        self._emit(
            CallOverflowed(
                now, c.call_id, q.cfg.name, target.target or target.kind, reason, now - c.arrived
            )
        )
        if target.kind == "queue" and target.target in self._queues:
            del self._calls[c.call_id]
            self._join(self._queues[target.target], c, now)
        else:
            self._drop(c)
            self._out.append(Overflow(c.call_id, q.cfg.name, target.kind, target.target, reason))
        for a in released:
            self._agent_changed(a, now)
