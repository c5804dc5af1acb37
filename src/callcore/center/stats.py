"""Queue and agent statistics, live and per interval, computed from the event stream.

Subscribe a :class:`StatsCollector` to an :class:`~callcore.center.queue.Acd`
(``acd.subscribe(stats.on_event)``). Definitions (Asterisk/industry usage):

* offered: calls that joined the queue (a call overflowing into another queue
  is offered there again); refused joins are counted apart;
* SL  = answered within T ÷ answered;
* SL2 = answered within T ÷ (answered + abandoned), i.e. abandons count against;
* ASA = mean wait of answered calls; AHT = mean talk + wrap-up of completed calls;
* occupancy = time on calls (ringing, talking, wrap-up) ÷ time available
  (status available), over all agents.

Interval buckets are aligned on multiples of ``interval`` seconds; an event is
counted in the bucket of its timestamp (agent time segments in the bucket
where they end).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .events import (
    AgentStateChanged,
    AgentStatusChanged,
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallOverflowed,
    CallQueued,
    CallRefused,
    Event,
)


@dataclass(slots=True)
class Counters:
    """Raw counters of one queue over one period; ratios are properties."""

    service_level_t: float = 20.0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    overflowed: int = 0
    refused: int = 0
    answered_within: int = 0
    abandoned_within: int = 0
    wait_answered: float = 0.0
    handled: int = 0
    handle_time: float = 0.0
    longest_wait: float = 0.0
    abandon_waits: list[float] = field(default_factory=list)

    @property
    def service_level(self) -> float | None:
        return self.answered_within / self.answered if self.answered else None

    @property
    def service_level2(self) -> float | None:
        n = self.answered + self.abandoned
        return self.answered_within / n if n else None

    @property
    def asa(self) -> float | None:
        return self.wait_answered / self.answered if self.answered else None

    @property
    def aht(self) -> float | None:
        return self.handle_time / self.handled if self.handled else None

    @property
    def abandon_rate(self) -> float | None:
        n = self.answered + self.abandoned
        return self.abandoned / n if n else None

    @property
    def mean_time_to_abandon(self) -> float | None:
        w = self.abandon_waits
        return sum(w) / len(w) if w else None

    def as_dict(self) -> dict:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "overflowed": self.overflowed,
            "refused": self.refused,
            "service_level": self.service_level,
            "service_level2": self.service_level2,
            "asa": self.asa,
            "aht": self.aht,
            "longest_wait": self.longest_wait,
            "abandon_rate": self.abandon_rate,
            "mean_time_to_abandon": self.mean_time_to_abandon,
        }


@dataclass(frozen=True, slots=True)
class LiveQueue:
    queue: str
    waiting: int
    longest_current_wait: float
    totals: dict


class StatsCollector:
    """Consumes ACD events; answers live and per-interval questions.

    ``service_level`` is T in seconds (per queue override in ``per_queue_t``);
    ``keep_events`` keeps the full stream in :attr:`events`.
    """

    def __init__(
        self,
        *,
        interval: float = 900.0,
        service_level: float = 20.0,
        per_queue_t: dict[str, float] | None = None,
        keep_events: bool = True,
    ) -> None:
        self.interval = interval
        self.t = service_level
        self.per_queue_t = per_queue_t or {}
        self.keep_events = keep_events
        self.events: list[Event] = []
        self.totals: dict[str, Counters] = {}
        self.buckets: dict[tuple[str, float], Counters] = {}
        self._waiting: dict[str, tuple[str, float]] = {}
        self._status: dict[str, tuple[str, float]] = {}
        self._state: dict[str, tuple[str, float]] = {}
        self.busy_time = 0.0
        self.available_time = 0.0
        self._occ_buckets: dict[float, list[float]] = {}

    # ------------------------------------------------------------ ingest
    def on_event(self, ev: Event) -> None:
        if self.keep_events:
            self.events.append(ev)
        m = getattr(self, "_on_" + type(ev).__name__, None)
        if m is not None:
            m(ev)

    def feed(self, events: Iterable[Event]) -> None:
        for e in events:
            self.on_event(e)

    def _counters(self, queue: str, at: float) -> tuple[Counters, Counters]:
        t = self.per_queue_t.get(queue, self.t)
        tot = self.totals.get(queue)
        if tot is None:
            tot = self.totals[queue] = Counters(t)
        start = (at // self.interval) * self.interval
        b = self.buckets.get((queue, start))
        if b is None:
            b = self.buckets[(queue, start)] = Counters(t)
        return tot, b

    def _on_CallQueued(self, ev: CallQueued) -> None:
        self._waiting[ev.call_id] = (ev.queue, ev.at)
        for c in self._counters(ev.queue, ev.at):
            c.offered += 1

    def _on_CallRefused(self, ev: CallRefused) -> None:
        for c in self._counters(ev.queue, ev.at):
            c.refused += 1

    def _on_CallAnswered(self, ev: CallAnswered) -> None:
        self._waiting.pop(ev.call_id, None)
        for c in self._counters(ev.queue, ev.at):
            c.answered += 1
            c.wait_answered += ev.wait
            if ev.wait <= c.service_level_t:
                c.answered_within += 1
            c.longest_wait = max(c.longest_wait, ev.wait)

    def _on_CallAbandoned(self, ev: CallAbandoned) -> None:
        self._waiting.pop(ev.call_id, None)
        for c in self._counters(ev.queue, ev.at):
            c.abandoned += 1
            c.abandon_waits.append(ev.wait)
            if ev.wait <= c.service_level_t:
                c.abandoned_within += 1
            c.longest_wait = max(c.longest_wait, ev.wait)

    def _on_CallOverflowed(self, ev: CallOverflowed) -> None:
        self._waiting.pop(ev.call_id, None)
        for c in self._counters(ev.queue, ev.at):
            c.overflowed += 1
            c.longest_wait = max(c.longest_wait, ev.wait)

    def _on_CallCompleted(self, ev: CallCompleted) -> None:
        for c in self._counters(ev.queue, ev.at):
            c.handled += 1
            c.handle_time += ev.talk + ev.wrap

    def _on_AgentStatusChanged(self, ev: AgentStatusChanged) -> None:
        old = self._status.get(ev.agent_id)
        if old is not None and old[0] == "available":
            self._add_occ(ev.at, available=ev.at - old[1])
        self._status[ev.agent_id] = (ev.new, ev.at)

    def _on_AgentStateChanged(self, ev: AgentStateChanged) -> None:
        old = self._state.get(ev.agent_id)
        if old is not None and old[0] != "idle":
            self._add_occ(ev.at, busy=ev.at - old[1])
        self._state[ev.agent_id] = (ev.new, ev.at)

    def _add_occ(self, at: float, *, busy: float = 0.0, available: float = 0.0) -> None:
        self.busy_time += busy
        self.available_time += available
        b = self._occ_buckets.setdefault((at // self.interval) * self.interval, [0.0, 0.0])
        b[0] += busy
        b[1] += available

    # ----------------------------------------------------------- queries
    def occupancy(self, now: float | None = None) -> float | None:
        """Busy ÷ available time over all agents; open segments count up to ``now``."""
        busy, avail = self.busy_time, self.available_time
        if now is not None:
            busy += sum(now - t for s, t in self._state.values() if s != "idle")
            avail += sum(now - t for s, t in self._status.values() if s == "available")
        return min(1.0, busy / avail) if avail > 0 else None

    def interval_occupancy(self, start: float) -> float | None:
        b = self._occ_buckets.get(start)
        return min(1.0, b[0] / b[1]) if b and b[1] > 0 else None

    def live(self, queue: str, now: float) -> LiveQueue:
        waits = [now - at for q, at in self._waiting.values() if q == queue]
        tot = self.totals.get(queue) or Counters(self.per_queue_t.get(queue, self.t))
        return LiveQueue(queue, len(waits), max(waits, default=0.0), tot.as_dict())

    def bucket(self, queue: str, start: float) -> Counters:
        """Counters of the bucket starting at ``start`` (a multiple of ``interval``)."""
        return self.buckets.get((queue, start)) or Counters(self.per_queue_t.get(queue, self.t))

    def intervals(self, queue: str) -> list[tuple[float, Counters]]:
        return sorted((s, c) for (q, s), c in self.buckets.items() if q == queue)
