"""Real SIPp peers against callcore on loopback (issue: foundation, what must be shown)."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from sip_peers import callcore_serve, free_port, need, run_sipp, wait_bound

from callcore import App, Endpoint

pytestmark = [pytest.mark.peer, pytest.mark.slow]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_sipp_uac_1000_calls_to_callcore_serve(transport):
    with callcore_serve("examples/answer.py", "--quiet") as port:
        t = "u1" if transport == "udp" else "t1"
        res = run_sipp(
            ["-sn", "uac", f"127.0.0.1:{port}", "-t", t, "-p", str(free_port()),
             "-m", "1000", "-r", "250", "-l", "300", "-timeout", "120", "-max_socket", "100"]
        )  # fmt: skip
    assert (res.successful, res.failed) == (1000, 0), res.output[-3000:]
    assert res.returncode == 0


def test_callcore_uac_1000_calls_to_sipp_uas(arun):
    need("sipp")
    sipp_port = free_port()

    async def main() -> tuple[int, int]:
        proc = await asyncio.create_subprocess_exec(
            "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(sipp_port), "-m", "1000",
            "-nostdin", "-bg", "-timeout", "120",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await proc.wait()  # -bg: returns once SIPp is listening in the background
        ep = Endpoint(App())
        await ep.start(["udp:127.0.0.1:0"])
        answered = failed = 0
        sem = asyncio.Semaphore(50)

        async def one() -> None:
            nonlocal answered, failed
            async with sem:
                res = await ep.dial(f"sip:service@127.0.0.1:{sipp_port}", timeout=20)
                if res.answered:
                    answered += 1
                    await res.call.hangup()
                else:
                    failed += 1

        try:
            await asyncio.gather(*(one() for _ in range(1000)))
        finally:
            await ep.stop()
            cleanup = await asyncio.create_subprocess_exec(
                "pkill", "-f", f"sipp -sn uas -i 127.0.0.1 -p {sipp_port}"
            )
            await cleanup.wait()
        return answered, failed

    assert arun(main()) == (1000, 0)


def test_sipp_uac_through_callcore_b2bua_to_sipp_uas_1000_calls():
    need("sipp")
    uas_port = free_port()
    uas = subprocess.Popen(
        ["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(uas_port), "-nostdin", "-m", "1000", "-timeout", "120"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # SIPp's built-in uas gives up on a call whose INVITE is retransmitted: start
        # sending only once it listens
        wait_bound(uas_port)
        with callcore_serve(
            "examples/b2bua.py",
            "--quiet",
            transports=("udp",),
            env={"CALLCORE_B2BUA_TARGET": f"127.0.0.1:{uas_port}"},
        ) as port:
            res = run_sipp(
                ["-sn", "uac", f"127.0.0.1:{port}", "-p", str(free_port()), "-m", "1000", "-r", "100",
                 "-l", "200", "-timeout", "120"]
            )  # fmt: skip
        summary = callcore_serve.last_output  # type: ignore[attr-defined]
    finally:
        uas.kill()
        uas.wait()
    assert (res.successful, res.failed) == (1000, 0), (summary, res.output[-3000:])
    assert "1000 calls in, 1000 out" in summary, summary
    assert "live calls at stop 0, RTP ports in use 0" in summary, summary
