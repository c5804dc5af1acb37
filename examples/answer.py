"""Answers every call and hangs up when the caller does.

    callcore serve examples/answer.py

The test and benchmark target: SIPp's built-in ``uac`` scenario calls it.
"""

import callcore

app = callcore.App("answer")


@app.route("_!", public=True)  # any dialed number, no authentication
async def answer(call: callcore.Call) -> None:
    await call.answer()
    await call.wait_hangup()
