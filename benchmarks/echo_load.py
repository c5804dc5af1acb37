"""Concurrent echo calls on one callcore process: RTP in and out every 20 ms per call.

    .venv/bin/python benchmarks/echo_load.py [--calls 500] [--hold 20] [--rate 100] [--plain]

SIPp places ``--calls`` calls to ``callcore serve benchmarks/echo_probe_app.py`` (one process,
one event loop: at most one core; the app is ``examples/echo.py`` plus measurements, and
``--plain`` serves ``examples/echo.py`` itself), each streaming PCMU (``rtp_stream``) for
``--hold`` seconds while callcore echoes it back. When SIPp is done, the server is stopped and
prints its media clock report and the probe's figures, from which this script derives:

* late ticks: 20 ms ticks that started more than one tick late (their packets were sent
  late) — the goal is < 0.1 % with 500 concurrent calls;
* tick lateness p99: the scheduling delay the clock adds on top of the 20 ms frame;
* p99 per-tick processing time for all live calls;
* receive loss: packets SIPp sent that the server never received, from the RTP sequence
  numbers of every call (RFC 3550 expected − received), and jitter-buffer late drops
  (received after their playout slot); also RTP in against the nominal
  calls × hold / 20 ms, and RTP out against RTP in;
* added delay: per packet, from its arrival at the server to its echo being sent (sampled
  on one call in ``ECHO_PROBE_EVERY``, default 10), p50 / p99 / max, beside the jitter
  buffer's mean target delay;
* load: the server's CPU use during the run (share of one core), the machine's CPU use
  (both cores, everything running) and the load average, since the machine may be shared.

Loss on the way back (server → SIPp) is not measured: SIPp does not read the RTP it
receives (it neither counts nor checks it) unless it echoes it itself (``-rtp_echo``).

Baseline for comparison: the same SIPp load against SIPp itself is not possible (SIPp's uas
does not echo), so the figure stands against the 20 ms budget of a tick.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
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


def cpu_ticks(pid: int | None = None) -> tuple[int, int]:
    """(busy, total) jiffies of the machine, or (utime + stime, 0) of process ``pid``."""
    if pid is not None:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12]), 0
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = cpu[3] + cpu[4]  # idle + iowait
    return sum(cpu) - idle, sum(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--hold", type=float, default=20.0, help="seconds each call streams audio")
    ap.add_argument("--rate", type=int, default=100, help="new calls per second")
    ap.add_argument("--plain", action="store_true", help="serve examples/echo.py (no probe)")
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
        app_path = "examples/echo.py" if args.plain else "benchmarks/echo_probe_app.py"
        server = subprocess.Popen(
            [sys.executable, "-m", "callcore.cli", "serve", str(ROOT / app_path),
             "--sip", f"udp:127.0.0.1:{port}", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        assert server.stdout is not None
        while "Ctrl-C to stop" not in server.stdout.readline():
            if server.poll() is not None:
                sys.exit("callcore serve did not start")
        load_before = os.getloadavg()[0]
        machine0, server0 = cpu_ticks(), cpu_ticks(server.pid)[0]
        t0 = time.monotonic()
        sipp = subprocess.run(
            ["sipp", "-sf", str(scenario), f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
             "-m", str(args.calls), "-l", str(args.calls), "-r", str(args.rate), "-d", str(int(args.hold * 1000)),
             "-nostdin", "-timeout", str(int(args.hold + args.calls / args.rate + 60)),
             "-trace_screen", "-screen_file", str(Path(tmp) / "screen.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp,
        )  # fmt: skip
        elapsed = time.monotonic() - t0
        machine1, server1 = cpu_ticks(), cpu_ticks(server.pid)[0]
        load_after = os.getloadavg()[0]
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
    probe_line = re.search(r"echo-probe: (\{.*\})", out)
    probe = json.loads(probe_line.group(1)) if probe_line else {}
    successful = int(ok.group(1)) if ok else -1
    rtp_in, rtp_out = int(media.group(1)), int(media.group(2))
    nominal = max(successful, 0) * args.hold / 0.020
    hz = os.sysconf("SC_CLK_TCK")
    busy, total = machine1[0] - machine0[0], machine1[1] - machine0[1]
    result = {
        "calls": args.calls,
        "hold_s": args.hold,
        "successful": successful,
        "failed": int(failed.group(1)) if failed else -1,
        "sipp_rc": sipp.returncode,
        "rtp_in": rtp_in,
        "rtp_out": rtp_out,
        "late_tick_percent": round(100 * clock["late_ticks"] / max(clock["ticks"], 1), 4),
        **clock,
        # receive side: what SIPp sent that the server did not get (sequence numbers)
        "rx_expected_seq": probe.get("expected"),
        "rx_lost_seq": probe.get("lost"),
        "rx_loss_percent": probe.get("loss_percent"),
        "rx_late_drop_percent": probe.get("late_percent"),
        "rx_vs_nominal_percent": round(100 * rtp_in / nominal, 3) if nominal else None,
        "out_vs_in_percent": round(100 * rtp_out / max(rtp_in, 1), 3),
        "return_path_loss": "not measured (SIPp does not read received RTP)",
        # added delay, arrival at the server -> echo sent (sampled calls)
        "delay_samples": probe.get("delay_samples"),
        "delay_p50_ms": probe.get("delay_p50_ms"),
        "delay_p99_ms": probe.get("delay_p99_ms"),
        "delay_max_ms": probe.get("delay_max_ms"),
        "jitter_target_mean_ms": probe.get("target_delay_mean_ms"),
        "probe": probe,
        # load while it ran
        "server_cpu_percent_of_one_core": round(100 * (server1 - server0) / hz / elapsed, 1),
        "machine_cpu_busy_percent": round(100 * busy / total, 1) if total else None,
        "loadavg_1min_before_after": [round(load_before, 2), round(load_after, 2)],
        "cpus": os.cpu_count(),
        "elapsed_s": round(elapsed, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
