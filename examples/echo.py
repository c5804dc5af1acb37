"""Answers every call and sends the caller's audio back (20 ms later) until they hang up.

callcore serve examples/echo.py
"""

import callcore

app = callcore.App("echo")


@app.route("_!", public=True)
async def echo(call: callcore.Call) -> None:
    await call.answer()
    call.echo()
    await call.wait_hangup()
