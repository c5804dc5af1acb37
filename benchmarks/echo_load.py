"""Concurrent echo calls on one callcore process: RTP in and out every 20 ms per call.

    .venv/bin/python benchmarks/echo_load.py [--calls 500] [--hold 20] [--rate 100]

SIPp places ``--calls`` calls to ``callcore serve examples/echo.py`` (one process, one
event loop: at most one core), each streaming PCMU (``rtp_stream``) for ``--hold``
seconds while callcore echoes it back. When SIPp is done, the server is stopped and
prints its media clock report, from which this script derives:

* late ticks: 20 ms ticks that started more than one tick late (their packets were sent
  late) — the goal is < 0.1 % with 500 concurrent calls;
* p99 added delay: the 99th percentile of tick lateness (the scheduling delay callcore adds
  on top of the 20 ms frame and the jitter buffer's target delay);
* p99 per-tick processing time for all live calls.

Baseline for comparison: the same SIPp load against SIPp itself is not possible (SIPp's uas
does not echo), so the figure stands against the 20 ms budget of a tick.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--hold", type=float, default=20.0, help="seconds each call streams audio")
    ap.add_argument("--rate", type=int, default=100, help="new calls per second")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        audio = Path(tmp) / "tone.ulaw"
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(audio),
                        "synth", "10", "sine", "440"], check=True)  # fmt: skip
        # SIPp does not substitute keywords in rtp_stream: write the file's path in
        scenario = Path(tmp) / "uac_rtp_stream.xml"
        template = (ROOT / "benchmarks/scenarios/uac_rtp_stream.xml").read_text()
        scenario.write_text(template.replace("[field0]", str(audio)))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "callcore.cli", "serve", str(ROOT / "examples/echo.py"),
             "--sip", f"udp:127.0.0.1:{port}", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        assert server.stdout is not None
        while "Ctrl-C to stop" not in server.stdout.readline():
            if server.poll() is not None:
                sys.exit("callcore serve did not start")
        t0 = time.monotonic()
        sipp = subprocess.run(
            ["sipp", "-sf", str(scenario), f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
             "-m", str(args.calls), "-l", str(args.calls), "-r", str(args.rate), "-d", str(int(args.hold * 1000)),
             "-nostdin", "-timeout", str(int(args.hold + args.calls / args.rate + 60)),
             "-trace_screen", "-screen_file", str(Path(tmp) / "screen.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp,
        )  # fmt: skip
        elapsed = time.monotonic() - t0
        screen = (
            (Path(tmp) / "screen.txt").read_text(errors="replace")
            if (Path(tmp) / "screen.txt").exists()
            else ""
        )
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
    ok = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", screen)
    failed = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", screen)
    media = re.search(r"RTP in (\d+) out (\d+), clock (\{.*\})", out)
    if media is None:
        sys.exit(f"no media report from the server:\n{out[-2000:]}")
    clock = ast.literal_eval(media.group(3))
    result = {
        "calls": args.calls,
        "hold_s": args.hold,
        "successful": int(ok.group(1)) if ok else -1,
        "failed": int(failed.group(1)) if failed else -1,
        "sipp_rc": sipp.returncode,
        "rtp_in": int(media.group(1)),
        "rtp_out": int(media.group(2)),
        "late_tick_percent": round(100 * clock["late_ticks"] / max(clock["ticks"], 1), 4),
        **clock,
        "elapsed_s": round(elapsed, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
