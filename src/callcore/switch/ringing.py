"""Ring groups, call forwarding and call pickup, built on :meth:`Endpoint.dial`.

* :func:`ring_group` — ring several targets at once (``simultaneous``: first to
  answer wins, the others get CANCEL) or one after another (``sequential``,
  each for ``per_target`` seconds);
* :func:`dial_forwarding` — unconditional forwarding, or forwarding on busy /
  on no answer (e.g. to an agent's mobile number);
* :class:`PickupGroup` — while a ring group rings, another member can take the
  call by dialing the pickup code: the ringing legs are cancelled and the
  picker's own call is handed to the waiting caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from callcore.switch.call import DialResult

if TYPE_CHECKING:
    from callcore.switch.call import Call
    from callcore.switch.endpoint import Endpoint


class PickupGroup:
    """Calls ringing for a group that a member may pick up (oldest first)."""

    def __init__(self) -> None:
        self._waiting: list[asyncio.Future[Call]] = []

    def _offer(self) -> asyncio.Future[Call]:
        fut: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        self._waiting.append(fut)
        return fut

    def _withdraw(self, fut: asyncio.Future[Call]) -> None:
        if fut in self._waiting:
            self._waiting.remove(fut)

    def pickup(self, picker: Call) -> bool:
        """Hand ``picker`` (an answered call) to the oldest ringing call; False if none rings."""
        while self._waiting:
            fut = self._waiting.pop(0)
            if not fut.done():
                fut.set_result(picker)
                return True
        return False

    @property
    def ringing(self) -> int:
        return sum(1 for f in self._waiting if not f.done())


async def ring_group(
    ep: Endpoint,
    targets: Sequence[str],
    *,
    strategy: str = "simultaneous",
    timeout: float = 30.0,
    per_target: float = 15.0,
    pickup: PickupGroup | None = None,
    **dial_kwargs,
) -> DialResult:
    """Ring ``targets`` and return the first answer (``outcome="answered"``), a
    pickup (``outcome="picked_up"``, ``call`` = the picker's leg) or the last failure."""
    if not targets:
        return DialResult("failed", None, "empty ring group")
    if strategy not in ("simultaneous", "sequential"):
        raise ValueError("strategy must be 'simultaneous' or 'sequential'")
    picked = pickup._offer() if pickup is not None else None
    try:
        if strategy == "simultaneous":
            coro = _simultaneous(ep, targets, timeout, dial_kwargs)
        else:
            coro = _sequential(ep, targets, per_target, timeout, dial_kwargs)
        if picked is None:
            return await coro
        ringing = asyncio.ensure_future(coro)
        await asyncio.wait([ringing, picked], return_when=asyncio.FIRST_COMPLETED)
        if picked.done() and not ringing.done():
            ringing.cancel()
            try:
                await ringing
            except asyncio.CancelledError:
                pass
            return DialResult("picked_up", 200, "picked up", picked.result())
        return ringing.result()
    finally:
        if picked is not None and pickup is not None:
            pickup._withdraw(picked)


async def _simultaneous(ep: Endpoint, targets: Sequence[str], timeout: float, kw) -> DialResult:
    tasks = [asyncio.ensure_future(ep.dial(t, timeout=timeout, **kw)) for t in targets]
    winner: DialResult | None = None
    last: DialResult | None = None
    try:
        for next_done in asyncio.as_completed(tasks):
            res = await next_done
            if res.answered and winner is None:
                winner = res
                break
            last = res
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        for t in tasks:  # late answers from the losers are hung up
            try:
                res = await t
            except asyncio.CancelledError:
                continue
            if res.answered and res is not winner and res.call is not None:
                await res.call.hangup("answered_elsewhere")
    return winner or last or DialResult("no_answer", None, "nobody answered")


async def _sequential(
    ep: Endpoint, targets: Sequence[str], per_target: float, timeout: float, kw
) -> DialResult:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = DialResult("no_answer", None, "nobody answered")
    for target in targets:
        left = deadline - loop.time()
        if left <= 0:
            break
        last = await ep.dial(target, timeout=min(per_target, left), **kw)
        if last.answered:
            return last
    return last


async def dial_forwarding(
    ep: Endpoint,
    target: str,
    *,
    unconditional: str | None = None,
    on_busy: str | None = None,
    on_no_answer: str | None = None,
    timeout: float = 20.0,
    **dial_kwargs,
) -> DialResult:
    """Dial ``target`` applying its forwarding rules (one hop; the forward target
    is dialed with the same caller identity)."""
    if unconditional:
        return await ep.dial(unconditional, timeout=timeout, **dial_kwargs)
    res = await ep.dial(target, timeout=timeout, **dial_kwargs)
    if res.outcome == "busy" and on_busy:
        return await ep.dial(on_busy, timeout=timeout, **dial_kwargs)
    if res.outcome in ("no_answer", "failed") and on_no_answer:
        return await ep.dial(on_no_answer, timeout=timeout, **dial_kwargs)
    return res


__all__ = ["PickupGroup", "dial_forwarding", "ring_group"]
