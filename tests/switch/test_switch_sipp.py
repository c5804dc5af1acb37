"""Real SIPp peers against callcore on loopback (issue: foundation, what must be shown)."""

from __future__ import annotations

import asyncio

import pytest
from sip_peers import callcore_serve, free_port, need, run_sipp

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
