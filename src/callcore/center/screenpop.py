"""Screen pop: tell the agent's desktop/CRM who is calling, without ever blocking the call.

When a call is offered to an agent, build a :class:`ScreenPop` and hand it to
:meth:`ScreenPopper.publish`. Publishing only enqueues; a background task
delivers each pop to the async hooks and as an HTTP POST (JSON) to the
webhook URLs, with retries and exponential back-off. A slow or failing CRM
delays nothing but its own delivery; when the backlog is full the oldest
pending pop is dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random as _random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("callcore.center.screenpop")


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """What the agent sees when the call rings."""

    call_id: str
    agent_id: str
    queue: str
    caller_number: str
    customer_id: str = ""
    customer_name: str = ""
    tier: str = ""
    ivr_path: tuple[str, ...] = ()
    ivr_inputs: tuple[tuple[str, str], ...] = ()  # masked
    wait: float = 0.0
    previous_calls: int = 0
    last_agent: str | None = None
    at: float = 0.0

    def as_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ivr_path"] = list(self.ivr_path)
        d["ivr_inputs"] = dict(self.ivr_inputs)
        return d

    @classmethod
    def build(
        cls,
        *,
        call_id: str,
        agent_id: str,
        queue: str,
        caller_number: str,
        attrs: dict[str, Any] | None = None,
        wait: float = 0.0,
        previous_calls: int = 0,
        last_agent: str | None = None,
        at: float = 0.0,
    ) -> ScreenPop:
        """From the attributes an IVR flow passes with its queue transfer."""
        a = attrs or {}
        return cls(
            call_id,
            agent_id,
            queue,
            caller_number,
            str(a.get("customer_id", "")),
            str(a.get("customer_name", "")),
            str(a.get("tier", "")),
            tuple(a.get("ivr_path", ())),
            tuple(sorted(dict(a.get("ivr_inputs", {})).items())),
            wait,
            previous_calls,
            last_agent,
            at,
        )


def pop_for_offer(
    offer: Any,
    call: Any,
    now: float,
    history: Any = None,
) -> ScreenPop:
    """Build the pop for an :class:`~callcore.center.events.OfferCall` of a
    :class:`~callcore.center.queue.QueuedCall` (its ``attrs`` carry the IVR data);
    ``history`` is a :class:`~callcore.center.routing.StickyMemory`."""
    prev, last = history.previous(call.number) if history is not None else (0, None)
    attrs = dict(call.attrs)
    attrs.setdefault("customer_id", call.customer_id or "")
    attrs.setdefault("tier", call.tier or "")
    return ScreenPop.build(
        call_id=offer.call_id,
        agent_id=offer.agent_id,
        queue=offer.queue,
        caller_number=call.number,
        attrs=attrs,
        wait=now - call.arrived,
        previous_calls=prev,
        last_agent=last,
        at=now,
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """Outcome of one pop to one destination."""

    call_id: str
    target: str
    ok: bool
    attempts: int
    error: str | None = None


Hook = Callable[[ScreenPop], Awaitable[None]]


@dataclass
class RetryPolicy:
    attempts: int = 4
    first_delay: float = 0.2
    factor: float = 2.0
    max_delay: float = 5.0
    jitter: float = 0.1  # fraction of the delay
    timeout: float = 3.0  # per HTTP attempt

    def delay(self, attempt: int, rng: _random.Random) -> float:
        d = min(self.max_delay, self.first_delay * self.factor ** (attempt - 1))
        return d * (1 + self.jitter * (2 * rng.random() - 1))


@dataclass
class ScreenPopper:
    """Delivers pops in the background. Use as ``async with ScreenPopper(...) as sp``
    or call :meth:`start` / :meth:`close` yourself."""

    webhooks: Sequence[str] = ()
    hooks: Sequence[Hook] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    backlog: int = 1000
    concurrency: int = 8
    headers: dict[str, str] = field(default_factory=dict)
    rng: _random.Random = field(default_factory=lambda: _random.Random(0))
    on_delivery: Callable[[Delivery], None] | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    dropped: int = 0

    def __post_init__(self) -> None:
        self._q: asyncio.Queue[ScreenPop] | None = None
        self._workers: list[asyncio.Task] = []
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        import aiohttp  # imported here so the sans-IO core does not pay for it

        self._aiohttp = aiohttp
        self._q = asyncio.Queue(self.backlog)
        self._session = aiohttp.ClientSession(headers=self.headers)
        self._workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]

    async def __aenter__(self) -> ScreenPopper:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def publish(self, pop: ScreenPop) -> None:
        """Queue ``pop`` for delivery and return at once (never awaits the CRM)."""
        if self._q is None:
            raise RuntimeError("ScreenPopper not started")
        if self._q.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._q.get_nowait()
                self._q.task_done()
                self.dropped += 1
        self._q.put_nowait(pop)

    async def drain(self) -> None:
        """Wait until every queued pop has been delivered or given up."""
        if self._q is not None:
            await self._q.join()

    async def close(self, *, drain: bool = False) -> None:
        if drain:
            await self.drain()
        for w in self._workers:
            w.cancel()
        for w in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await w
        self._workers = []
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _worker(self) -> None:
        assert self._q is not None
        while True:
            pop = await self._q.get()
            try:
                jobs = [self._hook(h, pop) for h in self.hooks]
                jobs += [self._post(u, pop) for u in self.webhooks]
                for d in await asyncio.gather(*jobs):
                    self.deliveries.append(d)
                    if self.on_delivery is not None:
                        self.on_delivery(d)
            finally:
                self._q.task_done()

    async def _hook(self, hook: Hook, pop: ScreenPop) -> Delivery:
        name = getattr(hook, "__name__", repr(hook))
        try:
            await asyncio.wait_for(hook(pop), self.retry.timeout)
            return Delivery(pop.call_id, name, True, 1)
        except Exception as e:
            log.warning("screen pop hook %s failed for %s: %r", name, pop.call_id, e)
            return Delivery(pop.call_id, name, False, 1, repr(e))

    async def _post(self, url: str, pop: ScreenPop) -> Delivery:
        assert self._session is not None
        aiohttp = self._aiohttp
        body = pop.as_json()
        err = None
        timeout = aiohttp.ClientTimeout(total=self.retry.timeout)
        for attempt in range(1, self.retry.attempts + 1):
            try:
                async with self._session.post(url, json=body, timeout=timeout) as r:
                    if r.status < 300:
                        return Delivery(pop.call_id, url, True, attempt)
                    err = f"HTTP {r.status}"
                    if 400 <= r.status < 500 and r.status not in (408, 429):
                        break  # the CRM refuses this pop; retrying will not help
            except (TimeoutError, aiohttp.ClientError) as e:
                err = f"{type(e).__name__}: {e}"
            if attempt < self.retry.attempts:
                await asyncio.sleep(self.retry.delay(attempt, self.rng))
        log.warning("screen pop to %s failed for %s: %s", url, pop.call_id, err)
        return Delivery(pop.call_id, url, False, attempt, err)
