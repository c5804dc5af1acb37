"""Helpers to run real SIP peers (SIPp, callcore serve) on loopback for tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1, never the same twice in a run
    (a port handed out but not yet bound by its process must not be handed out again)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                if port in _HANDED_OUT:
                    continue
                _HANDED_OUT.add(port)
                return port
    raise RuntimeError("no free port")


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            raise RuntimeError(f"{tool} is not installed: `make test` installs it")
        pytest.skip(f"{tool} not installed (make test installs it)")
    return path


@dataclass
class SippResult:
    returncode: int
    successful: int
    failed: int
    output: str


def run_sipp(args: list[str], timeout: float = 180) -> SippResult:
    """Run SIPp in the foreground with a screen dump, return its counters."""
    need("sipp")
    screen = (
        Path(os.environ.get("TMPDIR", "/tmp")) / f"sipp-{os.getpid()}-{time.monotonic_ns()}.screen"
    )
    cmd = ["sipp", *args, "-nostdin", "-trace_screen", "-screen_file", str(screen)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    text = screen.read_text(errors="replace") if screen.exists() else ""
    screen.unlink(missing_ok=True)

    def counter(label: str) -> int:
        m = re.search(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", text)
        return int(m.group(1)) if m else -1

    return SippResult(
        proc.returncode,
        counter("Successful call"),
        counter("Failed call"),
        text + proc.stdout + proc.stderr,
    )


@contextlib.contextmanager
def callcore_serve(
    app: str, *extra: str, transports=("udp", "tcp"), env: dict | None = None
) -> Iterator[int]:
    """Run ``callcore serve APP`` on a free port; yield the port; stop it with SIGTERM."""
    port = free_port()
    args = [sys.executable, "-m", "callcore.cli", "serve", str(ROOT / app)]
    for t in transports:
        args += ["--sip", f"{t}:127.0.0.1:{port}"]
    args += list(extra)
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "Ctrl-C to stop" in line:
                break
            if not line and proc.poll() is not None:
                raise RuntimeError(f"callcore serve exited with {proc.returncode}")
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        callcore_serve.last_output = out  # type: ignore[attr-defined]


def wait_bound(port: int, timeout: float = 10.0) -> None:
    """Until some process has a UDP socket bound to ``port`` (read from /proc/net/udp)."""
    hexport = f":{port:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            with contextlib.suppress(OSError), open(table) as fh:
                if any(line.split()[1].endswith(hexport) for line in fh.readlines()[1:]):
                    return
        time.sleep(0.05)
    raise RuntimeError(f"nothing bound udp port {port} within {timeout} s")


BARESIP_AGENT_CONFIG = """\
poll_method epoll
sip_listen 127.0.0.1:{sip_port}
sip_trans_def udp
audio_player aufile,{dir}/heard.wav
audio_source aufile,{dir}/tone.wav
audio_alert aufile,/dev/null
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module_app account.so
"""


@contextlib.asynccontextmanager
async def baresip_agents(
    tmp: Path, center_port: int, extensions: list[str], password: str = "agent"
):
    """baresip agents (``answermode=auto``) registering ``extensions`` with the center at
    ``center_port`` (digest password ``password``); stopped (unregistering) on exit."""
    need("baresip")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(tmp / "tone.wav"), "synth", "60",
         "sine", "440"], check=True, capture_output=True)  # fmt: skip
    procs = []
    try:
        for ext in extensions:
            d = tmp / f"baresip-{ext}"
            d.mkdir()
            (d / "tone.wav").write_bytes((tmp / "tone.wav").read_bytes())
            (d / "config").write_text(BARESIP_AGENT_CONFIG.format(sip_port=free_port(), dir=d))
            (d / "accounts").write_text(
                f"<sip:{ext}@127.0.0.1:{center_port}>;auth_user={ext};auth_pass={password};"
                "regint=60;answermode=auto\n"
            )
            proc = await asyncio.create_subprocess_exec(
                "baresip", "-f", str(d),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            procs.append(proc)
        yield procs
    finally:
        for p in procs:
            if p.returncode is None:
                p.terminate()
        for p in procs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(p.wait(), 10)
            if p.returncode is None:
                p.kill()
                await p.wait()
