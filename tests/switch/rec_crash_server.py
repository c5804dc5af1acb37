"""A callcore server that records every call and writes CDRs; the recording test
SIGKILLs it mid-call. Usage: rec_crash_server.py WAV_PATH CDR_DB."""

from __future__ import annotations

import asyncio
import sys

from callcore import App, Endpoint
from callcore.store.cdr import CdrWriter
from callcore.switch.recording import record_leg


async def main(wav: str, db: str) -> None:
    app = App()

    @app.route("rec", public=True)
    async def rec(call):
        await call.answer()
        record_leg(call, wav, flush_ms=200)
        await call.wait_hangup()

    ep = Endpoint(app)
    CdrWriter(db).attach(ep)
    await ep.start(["udp:127.0.0.1:0"])
    print("PORT", ep.local_address("udp")[1], flush=True)
    await asyncio.sleep(60)  # the test kills us long before
    await ep.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
