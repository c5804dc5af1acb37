"""Bridging two legs: each hears the other through the media clock.

Media stays anchored in callcore: every tick each leg sends what the other
leg's far end said during the previous tick (``heard``), re-encoded in its own
negotiated codec, so PCMU and PCMA legs are transcoded for free and the bridged
audio can be recorded, detected and mixed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from callcore.switch.call import CallError, Hangup

if TYPE_CHECKING:
    from callcore.switch.call import Call


def connect(a: Call, b: Call) -> None:
    """Cross-connect the audio of two answered legs (no waiting, no hangup linkage)."""
    sa, sb = a._need_media(), b._need_media()
    sa.source = lambda: sb.heard
    sb.source = lambda: sa.heard
    a._emit("bridged", b)
    b._emit("bridged", a)


def disconnect(a: Call, b: Call) -> None:
    """Undo :func:`connect`: both legs stop sending (each may then be given a new source)."""
    for leg in (a, b):
        if leg.session is not None:
            leg.session.source = None
        leg._emit("unbridged", b if leg is a else a)


async def bridge(a: Call, b: Call, *, hangup_other: bool = True) -> tuple[Call, Hangup]:
    """Connect ``a`` and ``b`` until one of them ends; then (by default) hang up the
    other. Returns the leg that ended first and how it ended."""
    if a.state != "answered" or b.state != "answered":
        raise CallError("both legs must be answered before they are bridged")
    connect(a, b)
    ends = {asyncio.ensure_future(a.wait_hangup()): a, asyncio.ensure_future(b.wait_hangup()): b}
    try:
        done, _ = await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in ends:
            if not fut.done():
                fut.cancel()
    first = next(iter(done))
    ended = ends[first]
    other = b if ended is a else a
    if hangup_other and not other.ended:
        await other.hangup()
    elif not other.ended and other.session is not None:
        other.session.source = None
    return ended, first.result()


__all__ = ["bridge", "connect", "disconnect"]
