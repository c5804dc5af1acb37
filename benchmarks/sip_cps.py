"""Calls per second through ``callcore serve examples/answer.py``, measured with SIPp,
beside SIPp alone (uac → uas) and Kamailio as a stateful proxy, in the same run.

    .venv/bin/python benchmarks/sip_cps.py [--seconds 6] [--rates 500,1000,...] [--json out.json]

For each target and each rate, SIPp's built-in ``uac`` places ``rate × seconds`` calls
(0 s talk time: INVITE, 200, ACK, BYE, 200). A rate passes when every call succeeded and
SIPp counted no retransmission (a retransmission means the target fell behind). The
figure reported is the highest passing rate. It also records the server's memory per live
dialog (RSS growth while SIPp holds N calls open) and per registered contact.

Loopback only, bounded counts and durations. The machine is shared: rerun to see the spread.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KAMAILIO_MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_udp_listener(port: int, timeout: float = 20) -> None:
    probe = (
        f"OPTIONS sip:probe@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{{p}};branch=z9hG4bKprobe{{n}}\r\n"
        "From: <sip:p@127.0.0.1>;tag=1\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: probe{n}\r\nCSeq: 1 OPTIONS\r\n"
        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.3)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            s.sendto(
                probe.replace("{p}", str(s.getsockname()[1])).replace("{n}", str(n)).encode(),
                ("127.0.0.1", port),
            )
            try:
                s.recv(4096)
                return
            except TimeoutError:
                continue
    raise RuntimeError(f"nothing answers on udp:127.0.0.1:{port}")


@contextlib.contextmanager
def process(args: list[str], **kw):
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sipp_uac(
    port: int,
    rate: int,
    calls: int,
    *,
    hold_ms: int = 0,
    timeout: int = 60,
    extra_args: Sequence[str] = (),
) -> dict[str, int]:
    """Run SIPp's uac (plus ``extra_args``); return cumulative counters from its
    statistics file."""
    with tempfile.TemporaryDirectory() as tmp:
        stat = Path(tmp) / "stat.csv"
        args = [
            "sipp", "-sn", "uac", f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(free_port()),
            "-r", str(rate), "-m", str(calls), "-l", str(max(rate * 4, 1000)), "-d", str(hold_ms),
            "-nostdin", "-timeout", str(timeout), "-max_socket", "1000",
            "-trace_stat", "-stf", str(stat), "-fd", "1", *extra_args,
        ]  # fmt: skip
        subprocess.run(
            args,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout + 30,
        )
        rows = list(csv.reader(stat.open(), delimiter=";")) if stat.exists() else []
    if len(rows) < 2:
        return {"successful": 0, "failed": calls, "retransmissions": -1}
    head, last = rows[0], rows[-1]

    def col(name: str) -> int:
        return int(last[head.index(name)]) if name in head else -1

    return {
        "successful": col("SuccessfulCall(C)"),
        "failed": col("FailedCall(C)"),
        "retransmissions": col("Retransmissions(C)"),
    }


def step_passed(res: dict[str, int], calls: int) -> bool:
    """The pass rule of a rate step: every call succeeded and SIPp counted no
    retransmission (a retransmission means the target fell behind)."""
    return res["successful"] == calls and res["failed"] == 0 and res["retransmissions"] == 0


def max_rate(port: int, rates: list[int], seconds: float) -> tuple[int, list[dict]]:
    best, trail = 0, []
    for rate in rates:
        calls = int(rate * seconds)
        res = sipp_uac(port, rate, calls)
        ok = step_passed(res, calls)
        trail.append({"rate": rate, "calls": calls, **res, "pass": ok})
        print(
            f"    {rate:>6} cps x {calls:>6} calls: {res}  {'PASS' if ok else 'FAIL'}", flush=True
        )
        if not ok:
            break
        best = rate
    return best, trail


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def kamailio_cfg(port: int, target: int) -> str:
    return f"""#!KAMAILIO
debug=0
log_stderror=yes
children=1
# one UDP worker: with two, a 180 can overtake its 200 and SIPp's built-in uac fails the call
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="{KAMAILIO_MODULES}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "pv.so"
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (is_method("OPTIONS") && $rU == "probe") {{ sl_send_reply("200", "OK"); exit; }}
    if (has_totag()) {{
        # SIPp's built-in uac ignores Record-Route: in-dialog requests without Route
        # go to the one backend, as a proxy in front of a single server would send them
        if (!loose_route()) {{ $du = "sip:127.0.0.1:{target}"; }}
        t_relay(); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    record_route();
    $du = "sip:127.0.0.1:{target}";
    t_relay();
}}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="duration of each rate step")
    ap.add_argument("--rates", default="500,1000,1500,2000,2500,3000,4000")
    ap.add_argument("--baseline-rates", default="2000,4000,6000,8000,10000,12000")
    ap.add_argument(
        "--dialogs", type=int, default=3000, help="live dialogs held for the memory figure"
    )
    ap.add_argument(
        "--contacts", type=int, default=20000, help="registered contacts for the memory figure"
    )
    ap.add_argument("--skip-kamailio", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    for tool in ("sipp",) + (() if args.skip_kamailio else ("kamailio",)):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (make sysdeps installs it)")
    rates = [int(r) for r in args.rates.split(",")]
    base_rates = [int(r) for r in args.baseline_rates.split(",")]
    out: dict = {"machine": {"cpus": os.cpu_count()}, "seconds_per_step": args.seconds}

    # a fresh SIPp uas per target: SIPp's built-in uas aborts a call (and can wedge)
    # when an INVITE is retransmitted, so an overloaded step must not taint the next target
    uas_port = free_port()
    with process(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(uas_port), "-nostdin"]):
        time.sleep(0.5)
        print("SIPp uac -> SIPp uas (SIPp's own limit)", flush=True)
        out["sipp_alone"], out["sipp_alone_trail"] = max_rate(uas_port, base_rates, args.seconds)
    if not args.skip_kamailio:
        uas_port = free_port()
        kport = free_port()
        with (
            tempfile.TemporaryDirectory() as tmp,
            process(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(uas_port), "-nostdin"]),
        ):
            cfg = Path(tmp) / "kamailio.cfg"
            cfg.write_text(kamailio_cfg(kport, uas_port))
            with process(
                ["kamailio", "-f", str(cfg), "-DD", "-E", "-m", "256", "-M", "32", "-Y", tmp]
            ):
                wait_udp_listener(kport)
                print("SIPp uac -> Kamailio (stateful, record-route) -> SIPp uas", flush=True)
                out["kamailio"], out["kamailio_trail"] = max_rate(kport, rates, args.seconds)

    port = free_port()
    cmd = [sys.executable, "-m", "callcore.cli", "serve", str(ROOT / "examples/answer.py"),
           "--sip", f"udp:127.0.0.1:{port}", "--quiet"]  # fmt: skip
    with process(cmd, cwd=ROOT) as srv:
        wait_udp_listener(port)
        print("SIPp uac -> callcore serve examples/answer.py", flush=True)
        out["callcore"], out["callcore_trail"] = max_rate(port, rates, args.seconds)
        # memory per live dialog: SIPp holds N calls open (talk time long enough)
        time.sleep(2)
        before = rss_kib(srv.pid)
        hold_ms = int(args.dialogs / 500 * 1000) + 8000
        holder = subprocess.Popen(
            ["sipp", "-sn", "uac", f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(free_port()),
             "-r", "500", "-m", str(args.dialogs), "-l", str(args.dialogs), "-d", str(hold_ms), "-nostdin",
             "-timeout", "120"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(args.dialogs / 500 + 3)
        peak = rss_kib(srv.pid)
        holder.wait(timeout=180)
        out["bytes_per_dialog"] = round((peak - before) * 1024 / args.dialogs)
        print(
            f"memory: {out['bytes_per_dialog']} bytes of RSS per live dialog ({args.dialogs} held)",
            flush=True,
        )

    out["bytes_per_contact"] = contact_memory(args.contacts)
    print(
        f"memory: {out['bytes_per_contact']} bytes per registered contact ({args.contacts} REGISTERs)"
    )
    print(
        f"\nmax CPS with 0 failed and 0 retransmissions: callcore {out['callcore']}, "
        f"Kamailio {out.get('kamailio', 'skipped')}, SIPp alone >= {out['sipp_alone']}"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


def contact_memory(n: int) -> int:
    """Bytes per registered contact: real REGISTER messages through an Endpoint, tracemalloc."""
    import asyncio
    import tracemalloc

    from callcore import App, Endpoint
    from callcore.sip.transaction import Peer

    async def run() -> int:
        ep = Endpoint(App(), open_registration=True)
        await ep.start(["udp:127.0.0.1:0"])
        template = (
            "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK{i}\r\n"
            "From: <sip:{i}@127.0.0.1>;tag={i}\r\nTo: <sip:{i}@127.0.0.1>\r\nCall-ID: reg{i}\r\nCSeq: 1 REGISTER\r\n"
            "Contact: <sip:{i}@127.0.0.1:{p}>;expires=3600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        gc_collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            p = 10000 + i % 50000
            ep._on_message(template.format(i=100000 + i, p=p).encode(), Peer("udp", "127.0.0.1", p))
        # let the REGISTER transactions end (Timer J) so only the bindings remain
        ep.txl.handle_timer(ep._now() + 40)
        gc_collect()
        used = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert len(ep.location) == n, len(ep.location)
        await ep.stop()
        return round(used / n)

    return asyncio.run(run())


def gc_collect() -> None:
    import gc

    gc.collect()


if __name__ == "__main__":
    main()
