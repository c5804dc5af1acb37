"""Bridging two legs: each hears the other through the media clock.

Media stays anchored in callcore: each packet one leg's far end sends is relayed
at once to the other leg, renumbered into that leg's own RTP stream and
transcoded when their codecs differ (PCMU ↔ PCMA), and each leg's audio is still
decoded every tick so the bridge can be recorded, detected, supervised and mixed
(see :mod:`callcore.switch.media`).

While :func:`bridge` runs it also acts as the B2BUA for the pair:

* **hold** — when one leg holds (re-INVITE ``sendonly``/``inactive``), the
  other hears music on hold until it resumes;
* **blind transfer** — a REFER on one leg makes callcore call the Refer-To
  target, bridge the other leg to it, report progress with NOTIFY and hang up
  the referrer (RFC 3515);
* **attended transfer** — a REFER whose Refer-To carries ``Replaces`` names the
  consultation dialog: the far side of that dialog is bridged to the other leg
  and both transferor legs are released (RFC 3891).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from callcore.switch.call import CallError, Hangup
from callcore.switch.in_dialog import ReferRequest, notify_refer

if TYPE_CHECKING:
    from callcore.switch.call import Call


def connect(a: Call, b: Call) -> None:
    """Cross-connect the audio of two answered legs (no waiting, no hangup linkage)."""
    sa, sb = a._need_media(), b._need_media()
    sa.relay_from(sb)
    sb.relay_from(sa)
    a.partner, b.partner = b, a
    a._emit("bridged", b)
    b._emit("bridged", a)


def disconnect(a: Call, b: Call) -> None:
    """Undo :func:`connect`: both legs stop sending (each may then be given a new source)."""
    for leg, other in ((a, b), (b, a)):
        if leg.session is not None:
            leg.session.source = None
        if leg.partner is other:
            leg.partner = None
        leg._emit("unbridged", other)


async def bridge(a: Call, b: Call, *, hangup_other: bool = True) -> tuple[Call, Hangup]:
    """Connect ``a`` and ``b`` until one side ends; then (by default) hang up the
    other. Handles hold (music on hold) and transfers while it runs; the pair may
    change on a transfer. Returns the leg that ended first and how it ended."""
    if a.state != "answered" or b.state != "answered":
        raise CallError("both legs must be answered before they are bridged")
    return await _Bridge(a, b).run(hangup_other)


class _Bridge:
    def __init__(self, a: Call, b: Call) -> None:
        self.legs = [a, b]
        self.events: asyncio.Queue[tuple] = asyncio.Queue()

    def _on_hold(self, leg: Call, held: bool) -> None:
        self.events.put_nowait(("hold", leg, held))

    def _on_refer(self, refer: ReferRequest) -> None:
        self.events.put_nowait(("refer", refer))

    def _attach(self, leg: Call) -> None:
        leg._hold_listeners.append(self._on_hold)
        leg._refer_listeners.append(self._on_refer)

    def _detach(self, leg: Call) -> None:
        for lst, fn in (
            (leg._hold_listeners, self._on_hold),
            (leg._refer_listeners, self._on_refer),
        ):
            if fn in lst:
                lst.remove(fn)

    def other(self, leg: Call) -> Call:
        return self.legs[1] if leg is self.legs[0] else self.legs[0]

    async def run(self, hangup_other: bool) -> tuple[Call, Hangup]:
        for leg in self.legs:
            self._attach(leg)
        connect(*self.legs)
        try:
            while True:
                a, b = self.legs
                waits = {
                    asyncio.ensure_future(a.wait_hangup()): a,
                    asyncio.ensure_future(b.wait_hangup()): b,
                    asyncio.ensure_future(self.events.get()): None,
                }
                try:
                    done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for fut in waits:
                        if not fut.done():
                            fut.cancel()
                ended = next((waits[f] for f in done if waits[f] is not None), None)
                if ended is not None:
                    other = self.other(ended)
                    # hang the other leg up only if it is still ours (a transfer
                    # elsewhere may have taken it over)
                    if hangup_other and not other.ended and other.partner in (ended, None):
                        await other.hangup()
                    elif other.partner is ended and other.session is not None:
                        other.session.source = None
                    return ended, ended.hangup_info or Hangup("normal_clearing")
                event = next(f for f in done if waits[f] is None).result()
                if event[0] == "hold":
                    self._hold(event[1], event[2])
                else:
                    await self._transfer(event[1])
        finally:
            for leg in self.legs:
                self._detach(leg)

    def _hold(self, leg: Call, held: bool) -> None:
        other = self.other(leg)
        if other.session is None:
            return
        if held:
            other.session.source = other.endpoint.music_on_hold()
        else:
            connect(leg, other)

    async def _transfer(self, refer: ReferRequest) -> None:
        referrer = refer.leg
        if referrer not in self.legs:
            return
        kept = self.other(referrer)
        ep = kept.endpoint
        if refer.replaces is not None:
            consult = ep.find_call(
                refer.replaces.call_id, refer.replaces.to_tag, refer.replaces.from_tag
            )
            new = consult.partner if consult is not None else None
            if consult is None or new is None or new.ended:
                await notify_refer(ep, referrer, 481, "Call/Transaction Does Not Exist", final=True)
                return
            await notify_refer(ep, referrer, 100, "Trying", final=False)
            disconnect(kept, referrer)
            disconnect(consult, new)
            self._swap(referrer, new, kept)
            await notify_refer(ep, referrer, 200, "OK", final=True)
            await referrer.hangup("transferred")
            await consult.hangup("transferred")
            return
        await notify_refer(ep, referrer, 100, "Trying", final=False)
        if kept.session is not None:
            kept.session.source = ep.music_on_hold()
        dialing = asyncio.ensure_future(
            ep.dial(refer.target, caller=kept.caller_number or "callcore", timeout=30)
        )
        kept_gone = asyncio.ensure_future(kept.wait_hangup())
        try:
            await asyncio.wait([dialing, kept_gone], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            dialing.cancel()
            raise
        finally:
            kept_gone.cancel()
        if not dialing.done():
            # the kept party hung up while the target rang: CANCEL the target now rather
            # than let it ring until the dial times out (a 2xx crossing it gets a BYE)
            dialing.cancel()
            await notify_refer(ep, referrer, 487, "Request Terminated", final=True)
            return
        res = dialing.result()
        if not res.answered or res.call is None:
            status = res.status if res.status and res.status >= 300 else 480
            await notify_refer(ep, referrer, status, res.reason or res.outcome, final=True)
            if not referrer.ended and not kept.ended:
                connect(kept, referrer)
            return
        if kept.ended:
            await res.call.hangup()
            return
        disconnect(kept, referrer)
        self._swap(referrer, res.call, kept)
        await notify_refer(ep, referrer, 200, "OK", final=True)
        if not referrer.ended:
            await referrer.hangup("transferred")

    def _swap(self, leaving: Call, arriving: Call, kept: Call) -> None:
        self._detach(leaving)
        self.legs = [kept, arriving]
        self._attach(arriving)
        connect(kept, arriving)


__all__ = ["bridge", "connect", "disconnect"]
