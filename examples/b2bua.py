"""A back-to-back user agent: every call (any number) is placed again towards the
target given by ``CALLCORE_B2BUA_TARGET`` (``host:port``, default 127.0.0.1:5070)
and the two legs are bridged with media anchored in callcore. The outbound INVITE
carries the inbound Max-Forwards minus one; a call that arrives with Max-Forwards 0
is refused with 483 Too Many Hops (RFC 3261 §16.3).

    CALLCORE_B2BUA_TARGET=127.0.0.1:5070 callcore serve examples/b2bua.py --sip udp:127.0.0.1:5060
"""

import asyncio
import os

import callcore
from callcore.switch.bridge import bridge

app = callcore.App("b2bua")
TARGET = os.environ.get("CALLCORE_B2BUA_TARGET", "127.0.0.1:5070")
OUTCOME_STATUS = {"busy": 486, "no_answer": 480, "rejected": 603, "cancelled": 487, "failed": 502}


@app.route("_!", public=True)
async def b2bua(call: callcore.Call) -> None:
    call.trying()  # the answer waits for the far end: stop the caller's retransmissions now
    dialing = asyncio.ensure_future(
        call.endpoint.dial(
            f"sip:{call.dialed}@{TARGET}",
            caller=call.caller_number or "anonymous",
            timeout=30,
            # the inbound Max-Forwards minus one: a loop through B2BUAs runs out (483)
            max_forwards=call.onward_max_forwards,
        )
    )
    caller_gone = asyncio.ensure_future(call.wait_hangup())
    await asyncio.wait([dialing, caller_gone], return_when=asyncio.FIRST_COMPLETED)
    if not dialing.done():  # the caller hung up while the far end rang: CANCEL it
        dialing.cancel()
        return
    caller_gone.cancel()
    out = dialing.result()
    if not out.answered:
        status = (
            out.status if out.status and out.status >= 400 else OUTCOME_STATUS.get(out.outcome, 500)
        )
        await call.reject(status)
        return
    if call.ended:  # the caller gave up while the far end was answering
        await out.call.hangup()
        return
    await call.answer()
    await bridge(call, out.call)
