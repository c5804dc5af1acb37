"""The application ``benchmarks/bridged_load.py`` serves: every call is answered, placed
again towards the far end, the two legs are bridged (media relayed through callcore) and
the bridge is recorded in stereo with :func:`callcore.switch.recording.record_bridge`.

Environment:

* ``CALLCORE_BRIDGE_TARGET`` — ``host:port`` of the far end (a SIPp uas);
* ``CALLCORE_BRIDGE_REC_DIR`` — directory for the recordings (one WAV per call);
* ``CALLCORE_BRIDGE_CONCURRENT`` — the load's plateau: the media clock figures of the
  window during which at least this many bridges were live, and the delay of the
  packets relayed in it (every 10th timed by :class:`RelayDelayProbe`: kernel receive
  time to sent on), are printed at exit as a ``bridged-load: {json}`` line;
* ``CALLCORE_BRIDGE_PROFILE`` — if set, a cProfile of the event loop thread is written
  there at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import cProfile
import json
import os
import re
from pathlib import Path

import callcore
from callcore.switch.bridge import bridge
from callcore.switch.media import MediaClock, RelayDelayProbe
from callcore.switch.recording import record_bridge

app = callcore.App("bridged-recorded")
TARGET = os.environ.get("CALLCORE_BRIDGE_TARGET", "127.0.0.1:5070")
REC_DIR = Path(os.environ.get("CALLCORE_BRIDGE_REC_DIR", "recordings"))
PLATEAU = int(os.environ.get("CALLCORE_BRIDGE_CONCURRENT", "0"))
PROFILE = os.environ.get("CALLCORE_BRIDGE_PROFILE")
PROBE_EVERY = 10  # every 10th relayed packet is timed (kernel receive -> sent on)
NO_PROBE = os.environ.get("CALLCORE_BRIDGE_NO_PROBE") == "1"  # to see what the probe costs


class Window:
    """Tick numbers at which the plateau of live bridges began and ended."""

    def __init__(self) -> None:
        self.clock: MediaClock | None = None
        self.live = 0
        self.peak = 0
        self.start: int | None = None
        self.end: int | None = None
        self.probe = RelayDelayProbe(PROBE_EVERY)
        self.probe_start: int | None = None
        self.probe_end: int | None = None
        self.bridged = 0
        self.not_answered = 0
        self.recording_errors = 0

    def up(self, clock: MediaClock) -> None:
        self.clock = clock
        if not NO_PROBE:
            clock.relay_probe = self.probe
        self.live += 1
        self.bridged += 1
        self.peak = max(self.peak, self.live)
        if self.start is None and PLATEAU and self.live >= PLATEAU:
            self.start = clock.ticks
            self.probe_start = len(self.probe.delays)

    def down(self) -> None:
        self.live -= 1
        if self.start is not None and self.end is None and self.clock is not None:
            self.end = self.clock.ticks
            self.probe_end = len(self.probe.delays)

    def report(self) -> dict[str, object]:
        out: dict[str, object] = {
            "bridged": self.bridged,
            "peak_live_bridges": self.peak,
            "not_answered": self.not_answered,
            "recording_errors": self.recording_errors,
        }
        clock = self.clock
        if clock is None or self.start is None:
            return out
        end = self.end if self.end is not None else clock.ticks
        first = clock.ticks - len(clock.lateness)  # tick number of the oldest kept sample
        lat = list(clock.lateness)[self.start - first : end - first]
        cost = list(clock.tick_cost)[self.start - first : end - first]
        if not lat:
            return out

        def pct(xs: list[float], q: float) -> float:
            ys = sorted(xs)
            return round(1000 * ys[min(len(ys) - 1, int(q * len(ys)))], 3)

        out.update(
            plateau_bridges=PLATEAU,
            plateau_ticks=len(lat),
            plateau_seconds=round(len(lat) * clock.ptime, 1),
            plateau_late_ticks=sum(x > clock.ptime for x in lat),
            plateau_lateness_p50_ms=pct(lat, 0.50),
            plateau_lateness_p99_ms=pct(lat, 0.99),
            plateau_lateness_max_ms=round(1000 * max(lat), 3),
            plateau_tick_cost_mean_ms=round(1000 * sum(cost) / len(cost), 3),
            plateau_tick_cost_p50_ms=pct(cost, 0.50),
            plateau_tick_cost_p99_ms=pct(cost, 0.99),
        )
        delays = self.probe.delays[self.probe_start : self.probe_end]
        if delays:
            out.update(
                plateau_relay_samples=len(delays),
                plateau_relay_delay_p50_ms=pct(delays, 0.50),
                plateau_relay_delay_p99_ms=pct(delays, 0.99),
                plateau_relay_delay_p999_ms=pct(delays, 0.999),
                plateau_relay_delay_max_ms=round(1000 * max(delays), 3),
            )
        return out


WINDOW = Window()


def _at_exit() -> None:
    print("bridged-load: " + json.dumps(WINDOW.report()), flush=True)


atexit.register(_at_exit)
if PROFILE:
    _profiler = cProfile.Profile()
    _profiler.enable()

    def _dump() -> None:
        _profiler.disable()
        _profiler.dump_stats(PROFILE)

    atexit.register(_dump)


@app.route("_!", public=True)
async def bridged_and_recorded(call: callcore.Call) -> None:
    call.trying()  # the answer waits for the far end
    dialing = asyncio.ensure_future(
        call.endpoint.dial(f"sip:{call.dialed}@{TARGET}", caller=call.caller_number, timeout=30)
    )
    caller_gone = asyncio.ensure_future(call.wait_hangup())
    await asyncio.wait([dialing, caller_gone], return_when=asyncio.FIRST_COMPLETED)
    if not dialing.done():  # the caller hung up while the far end rang: CANCEL it
        dialing.cancel()
        return
    caller_gone.cancel()
    out = dialing.result()
    if not out.answered or out.call is None:
        WINDOW.not_answered += 1
        await call.reject(503)
        return
    if call.ended:
        await out.call.hangup()
        return
    await call.answer()
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", call.call_id)
    rec = record_bridge(call, out.call, REC_DIR / f"{name}.wav")
    assert call.session is not None
    WINDOW.up(call.session.clock)
    try:
        await bridge(call, out.call)
    finally:
        WINDOW.down()
        await rec.stop()
        if rec.error is not None:
            WINDOW.recording_errors += 1
