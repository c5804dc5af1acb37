"""Concurrent bridged calls on one callcore process, media relayed **and** recorded.

    .venv/bin/python benchmarks/bridged_load.py [--calls 300] [--hold 20] [--rate 50]
        [--profile out.prof] [--json out.json]

SIPp's uac places ``--calls`` calls, each streaming a 440 Hz PCMU tone (``rtp_stream``) for
``--hold`` seconds, to ``callcore serve benchmarks/bridged_app.py`` (one process, one event
loop: at most one core). The app answers, places each call again towards a SIPp uas that
streams a 1 kHz tone back (``benchmarks/scenarios/uas_rtp_stream.xml``), bridges the two legs
— each packet one leg's far end sends is relayed at once to the other leg, renumbered into
that leg's stream — and records the bridge in stereo (``record_bridge``: caller left, far end
right; one writer thread per recording) from the audio the media clock decodes every 20 ms.
Per call: two RTP sessions, 100 packets in and 100 out per second, one WAV file.

Figures, over the **plateau** — while all ``--calls`` bridges were live:

* **relay delay** p50 / p99 / p99.9 / max: the delay callcore adds to the bridged audio,
  measured on every 10th relayed packet from the kernel's receive timestamp of the datagram
  (``SO_TIMESTAMPNS`` with batch reads, ``SIOCGSTAMPNS`` per socket) to the end of the read
  batch that relayed it, so time spent queued in the socket while the event loop was busy
  counts (``CALLCORE_BRIDGE_NO_PROBE=1`` turns the probe off);
* the media clock's tick lateness p50 / p99 / max and ticks more than 20 ms late (they now
  delay only what the tick produces: recordings, prompts, music on hold, conferences) and the
  per-tick cost for every live leg;
* the server's CPU use, the machine's, and a check of the recordings: their number, their
  length against ``--hold``, and that a sample of them has the caller's 440 Hz on the left and
  the far end's 1 kHz on the right. Recordings go to a temporary directory that is deleted at
  the end.

Goal (issue 4): >= 300 concurrent bridged + recorded calls per core, p99 added delay < 5 ms.
Baseline: none runs the same load here; the figures stand against the goal and the 20 ms of a
packet. ``--profile`` writes a cProfile of the server's event loop thread.

Loopback only, bounded counts and durations. The machine is shared: rerun to see the spread.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from b2bua_cps import cpu_seconds, stop_server, wait_bound
from sip_cps import free_port, process

ROOT = Path(__file__).resolve().parents[1]
CALLER_HZ, FAR_END_HZ = 440, 1000


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = cpu[3] + cpu[4]
    return sum(cpu) - idle, sum(cpu)


def tone_file(path: Path, hz: int) -> None:
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", "-t", "raw", str(path),
                    "synth", "10", "sine", str(hz), "vol", "0.5"], check=True)  # fmt: skip


def scenario(template: str, audio: Path, out: Path) -> Path:
    # SIPp does not substitute keywords in rtp_stream: write the file's path in
    out.write_text(
        (ROOT / "benchmarks/scenarios" / template).read_text().replace("[field0]", str(audio))
    )
    return out


def dominant_hz(x: np.ndarray) -> float:
    if len(x) < 800 or np.abs(x).max() < 300:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / 8000)[int(np.argmax(spec))])


def check_recordings(directory: Path, hold: float, sample: int = 5) -> dict:
    files = sorted(directory.glob("*.wav"))
    seconds, stereo, bad = [], 0, 0
    channel_ok = 0
    for i, f in enumerate(files):
        try:
            with wave.open(str(f)) as w:
                seconds.append(w.getnframes() / w.getframerate())
                stereo += w.getnchannels() == 2
                if i < sample and w.getnchannels() == 2:
                    n = w.getnframes()
                    w.setpos(n // 3)  # the middle third: both tones are flowing
                    pcm = np.frombuffer(w.readframes(n // 3), "<i2").reshape(-1, 2).astype(float)
                    left, right = dominant_hz(pcm[:, 0]), dominant_hz(pcm[:, 1])
                    channel_ok += abs(left - CALLER_HZ) < 15 and abs(right - FAR_END_HZ) < 15
        except (wave.Error, EOFError):
            bad += 1
    return {
        "files": len(files),
        "stereo": stereo,
        "unreadable": bad,
        "seconds_total": round(sum(seconds), 1),
        "seconds_min": round(min(seconds), 2) if seconds else None,
        "seconds_max": round(max(seconds), 2) if seconds else None,
        "hold_s": hold,
        "percent_of_files_x_hold": round(100 * sum(seconds) / (len(files) * hold), 1)
        if files
        else None,
        "sampled_files_caller_left_farend_right": f"{channel_ok}/{min(sample, len(files))}",
        "bytes_total": sum(f.stat().st_size for f in files),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=300, help="concurrent bridged calls")
    ap.add_argument("--hold", type=float, default=20.0, help="seconds each call lasts")
    ap.add_argument("--rate", type=int, default=50, help="new calls per second")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the server loop here")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    for tool in ("sipp", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (make sysdeps installs it)")
    # every call is live together for hold - calls/rate seconds
    if args.hold <= args.calls / args.rate:
        sys.exit("--hold must exceed --calls / --rate, or the calls never overlap fully")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tone_file(tmp / "caller.ulaw", CALLER_HZ)
        tone_file(tmp / "far_end.ulaw", FAR_END_HZ)
        uac = scenario("uac_rtp_stream.xml", tmp / "caller.ulaw", tmp / "uac.xml")
        uas = scenario("uas_rtp_stream.xml", tmp / "far_end.ulaw", tmp / "uas.xml")
        rec_dir = tmp / "recordings"
        rec_dir.mkdir()
        uas_port = free_port()
        uas_cmd = ["sipp", "-sf", str(uas), "-i", "127.0.0.1", "-p", str(uas_port),
                   "-mp", str(free_port()), "-nostdin"]  # fmt: skip
        with process(uas_cmd, cwd=tmp):
            wait_bound(uas_port)
            port = free_port()
            env = {
                **os.environ,
                "CALLCORE_BRIDGE_TARGET": f"127.0.0.1:{uas_port}",
                "CALLCORE_BRIDGE_REC_DIR": str(rec_dir),
                "CALLCORE_BRIDGE_CONCURRENT": str(args.calls),
            }
            if args.profile:
                env["CALLCORE_BRIDGE_PROFILE"] = str(args.profile.resolve())
            server = subprocess.Popen(
                [sys.executable, "-m", "callcore.cli", "serve", str(ROOT / "benchmarks/bridged_app.py"),
                 "--sip", f"udp:127.0.0.1:{port}", "--quiet"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
            )  # fmt: skip
            assert server.stdout is not None
            while "Ctrl-C to stop" not in server.stdout.readline():
                if server.poll() is not None:
                    sys.exit("callcore serve did not start")
            load_before = os.getloadavg()[0]
            machine0, server0 = machine_busy(), cpu_seconds(server.pid)
            t0 = time.monotonic()
            print(f"{args.calls} calls at {args.rate}/s, {args.hold:.0f} s each: SIPp uac -> "
                  "callcore (answer, dial, bridge, record) -> SIPp uas", flush=True)  # fmt: skip
            sipp = subprocess.run(
                ["sipp", "-sf", str(uac), f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(free_port()),
                 "-mp", str(free_port()), "-m", str(args.calls), "-l", str(args.calls), "-r", str(args.rate),
                 "-d", str(int(args.hold * 1000)), "-nostdin",
                 "-timeout", str(int(args.hold + args.calls / args.rate + 60)),
                 "-trace_screen", "-screen_file", str(tmp / "screen.txt")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp,
            )  # fmt: skip
            elapsed = time.monotonic() - t0
            machine1, server1 = machine_busy(), cpu_seconds(server.pid)
            load_after = os.getloadavg()[0]
            out = stop_server(server)
        screen_path = tmp / "screen.txt"
        screen = screen_path.read_text(errors="replace") if screen_path.exists() else ""
        recordings = check_recordings(rec_dir, args.hold)
    ok = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", screen)
    failed = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", screen)
    media = re.search(r"RTP in (\d+) out (\d+), clock (\{.*\})", out)
    plateau = re.search(r"bridged-load: (\{.*\})", out)
    stopped = re.search(r"live calls at stop (\d+), RTP ports in use (\d+)", out)
    if media is None or plateau is None:
        sys.exit(f"no media report from the server:\n{out[-3000:]}")
    clock = ast.literal_eval(media.group(3))
    busy, total = machine1[0] - machine0[0], machine1[1] - machine0[1]
    result = {
        "calls": args.calls,
        "hold_s": args.hold,
        "rate": args.rate,
        "successful": int(ok.group(1)) if ok else -1,
        "failed": int(failed.group(1)) if failed else -1,
        "sipp_rc": sipp.returncode,
        "rtp_in": int(media.group(1)),
        "rtp_out": int(media.group(2)),
        "whole_run": {
            **clock,
            "late_tick_percent": round(100 * clock["late_ticks"] / max(clock["ticks"], 1), 4),
        },
        "plateau": json.loads(plateau.group(1)),
        "recordings": recordings,
        "live_calls_at_stop": int(stopped.group(1)) if stopped else None,
        "rtp_ports_in_use_at_stop": int(stopped.group(2)) if stopped else None,
        "server_cpu_percent_of_one_core": round(100 * (server1 - server0) / elapsed, 1),
        "machine_cpu_busy_percent": round(100 * busy / total, 1) if total else None,
        "loadavg_1min_before_after": [round(load_before, 2), round(load_after, 2)],
        "cpus": os.cpu_count(),
        "elapsed_s": round(elapsed, 1),
    }
    p = result["plateau"]
    if "plateau_ticks" in p:
        p["plateau_late_tick_percent"] = round(
            100 * p["plateau_late_ticks"] / p["plateau_ticks"], 3
        )
        p["plateau_tick_cost_per_leg_us"] = round(
            1000 * p["plateau_tick_cost_mean_ms"] / (2 * args.calls), 2
        )
        met = p["peak_live_bridges"] >= 300 and p.get("plateau_relay_delay_p99_ms", 1e9) < 5
        result["goal_met"] = bool(met and result["failed"] == 0)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
