"""The echo application of ``examples/echo.py`` with measurements, for ``echo_load.py``.

    callcore serve benchmarks/echo_probe_app.py

Every call is answered and echoed exactly as in ``examples/echo.py``. On top:

* **receive loss, every call** — when the call ends its RTP receiver statistics (RFC 3550:
  packets expected from the sequence numbers vs received, which the RTP session keeps anyway)
  and its jitter buffer counters (late, duplicate, concealed frames) are added up;
* **added delay, one call in ``ECHO_PROBE_EVERY`` (default 10)** — for each packet, the time
  from its arrival at the server (when the event loop hands it to the media session) to the
  moment its echo is handed to the socket. The jitter buffer's ``push``/``pop`` and the
  session's source are wrapped for those calls only, so the other calls run unmodified.

At exit (``callcore serve`` stops on SIGTERM) one line ``echo-probe: {json}`` is printed.
Time spent in the kernel's socket buffer before the loop reads a packet is not seen from here.
"""

from __future__ import annotations

import atexit
import json
import os
import time
from collections.abc import Callable

import callcore
from callcore.rtp.jitter import Frame, FrameKind
from callcore.rtp.packet import RtpPacket
from callcore.switch.media import MediaSession

app = callcore.App("echo-probe")

EVERY = max(1, int(os.environ.get("ECHO_PROBE_EVERY", "10")))
TOTALS: dict[str, float] = {
    "calls": 0,
    "expected": 0,
    "received": 0,
    "lost": 0,
    "late": 0,
    "duplicates": 0,
    "concealed": 0,
    "silence": 0,
    "underruns": 0,
    "dropped_overflow": 0,
    "sent": 0,
    "target_delay_sum_s": 0.0,
}
DELAYS: list[float] = []
_count = 0


class DelayProbe:
    """Arrival-to-echo time of every packet of one session (wraps three callables)."""

    def __init__(self, session: MediaSession, sink: list[float]) -> None:
        self.arrived: dict[int, float] = {}
        self.playing: int | None = None
        jitter = session.jitter
        push, pop = jitter.push, jitter.pop
        source = session.source
        assert source is not None, "call.echo() first"
        clock = time.monotonic
        arrived = self.arrived

        def probe_push(pkt: RtpPacket, now: float) -> bool:
            ok = push(pkt, now)
            if ok:
                arrived[pkt.timestamp] = clock()
            return ok

        def probe_pop(now: float) -> Frame | None:
            frame = pop(now)
            self.playing = (
                frame.timestamp if frame is not None and frame.kind is FrameKind.AUDIO else None
            )
            return frame

        def probe_source() -> bytes | None:
            pcm = source()
            ts = self.playing
            if ts is not None:
                t = arrived.pop(ts, None)
                if t is not None:
                    sink.append(clock() - t)
            return pcm

        jitter.push = probe_push  # type: ignore[method-assign]
        jitter.pop = probe_pop  # type: ignore[method-assign]
        session.source = probe_source


def _account(session: MediaSession) -> None:
    rx = session.endpoint.session.receiver
    jb = session.jitter.stats
    TOTALS["calls"] += 1
    TOTALS["expected"] += rx.expected
    TOTALS["received"] += rx.received
    TOTALS["lost"] += max(rx.lost, 0)
    for name in ("late", "duplicates", "concealed", "silence", "underruns", "dropped_overflow"):
        TOTALS[name] += getattr(jb, name)
    TOTALS["sent"] += session.sent
    TOTALS["target_delay_sum_s"] += session.jitter.target_delay


@app.route("_!", public=True)
async def echo(call: callcore.Call) -> None:
    global _count
    await call.answer()
    call.echo()
    session = call.session
    assert session is not None
    _count += 1
    if _count % EVERY == 0:
        DelayProbe(session, DELAYS)
    await call.wait_hangup()
    _account(session)


def _pct(xs: list[float], q: float) -> float:
    return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 2) if xs else 0.0


def report() -> dict[str, float]:
    """The totals, loss and late percentages, delay percentiles (ms)."""
    delays = sorted(DELAYS)
    calls = max(TOTALS["calls"], 1)
    expected = max(TOTALS["expected"], 1)
    return {
        **{k: v for k, v in TOTALS.items() if k != "target_delay_sum_s"},
        "loss_percent": round(100 * TOTALS["lost"] / expected, 4),
        "late_percent": round(100 * TOTALS["late"] / expected, 4),
        "target_delay_mean_ms": round(1000 * TOTALS["target_delay_sum_s"] / calls, 2),
        "delay_samples": len(delays),
        "delay_p50_ms": _pct(delays, 0.50),
        "delay_p99_ms": _pct(delays, 0.99),
        "delay_max_ms": round(1000 * delays[-1], 2) if delays else 0.0,
    }


def _print_report(out: Callable[[str], object] = print) -> None:
    out("echo-probe: " + json.dumps(report()))


atexit.register(_print_report)
