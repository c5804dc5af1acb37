"""baresip and pyVoIP — SIP stacks no one here wrote — against callcore on loopback."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time

import pytest
from sip_peers import BARESIP_AGENT_CONFIG, free_port, need

from callcore import App, Endpoint

pytestmark = [pytest.mark.peer, pytest.mark.slow]

BARESIP_CONFIG = BARESIP_AGENT_CONFIG + "module_app menu.so\n"  # menu: /dial from -e


def test_baresip_registers_with_digest_calls_and_hangs_up(tmp_path, arun):
    need("baresip")
    need("sox")
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            str(tmp_path / "tone.wav"),
            "synth",
            "8",
            "sine",
            "440",
        ],
        check=True,
    )
    app = App()
    app.add_account("1001", "alice", "s3cret")
    seen: dict = {}

    @app.route("2000")  # private: the caller must authenticate
    async def extension(call):
        seen["user"] = call.authenticated_user
        await call.answer()
        await call.wait_answered()  # baresip's ACK arrived
        seen["acked"] = True
        seen["hangup"] = await call.wait_hangup()

    async def main() -> None:
        ep = Endpoint(app)
        await ep.start(["udp:127.0.0.1:0"])
        port = ep.local_address("udp")[1]
        events = []
        ep.location.subscribe(lambda ev: events.append(ev.kind))
        (tmp_path / "config").write_text(BARESIP_CONFIG.format(sip_port=free_port(), dir=tmp_path))
        (tmp_path / "accounts").write_text(
            f"<sip:1001@127.0.0.1:{port}>;auth_user=alice;auth_pass=s3cret;regint=60\n"
        )
        proc = await asyncio.create_subprocess_exec(
            "baresip", "-f", str(tmp_path), "-e", f"/dial sip:2000@127.0.0.1:{port}", "-t", "5",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        await asyncio.sleep(0.3)
        await ep.stop()
        seen["events"] = events
        seen["baresip"] = out.decode(errors="replace")
        seen["stats"] = ep.stats

    arun(main())
    assert seen.get("user") == "alice", seen.get("baresip", "")[-2000:]
    assert seen.get("acked") is True
    assert seen["hangup"].by == "remote" and seen["hangup"].cause == "normal_clearing"
    # registered with digest (challenged first), unregistered when baresip quit
    assert seen["events"][0] == "registered" and "unregistered" in seen["events"]
    assert seen["stats"].answered_errors[401] >= 1 and seen["stats"].answered_errors[407] >= 1


def test_baresip_with_wrong_password_is_refused(tmp_path, arun):
    need("baresip")
    app = App()
    app.add_account("1001", "alice", "right")
    reached = []

    @app.route("2000")
    async def extension(call):
        reached.append(call)
        await call.answer()

    async def main():
        ep = Endpoint(app)
        await ep.start(["udp:127.0.0.1:0"])
        port = ep.local_address("udp")[1]
        (tmp_path / "config").write_text(BARESIP_CONFIG.format(sip_port=free_port(), dir=tmp_path))
        (tmp_path / "accounts").write_text(
            f"<sip:1001@127.0.0.1:{port}>;auth_user=alice;auth_pass=wrong;regint=60\n"
        )
        proc = await asyncio.create_subprocess_exec(
            "baresip", "-f", str(tmp_path), "-e", f"/dial sip:2000@127.0.0.1:{port}", "-t", "3",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.wait_for(proc.wait(), 30)
        contacts = ep.location.aors()
        await ep.stop()
        return contacts

    assert arun(main()) == []
    assert reached == []


def test_pyvoip_registers_and_receives_a_call(arun):
    from pyVoIP.VoIP import CallState, PhoneStatus, VoIPPhone

    app = App()
    app.add_account("2001", "bob", "pyv0ip")
    answered_in_pyvoip = threading.Event()

    def on_call(call):
        try:
            call.answer()
            answered_in_pyvoip.set()
            deadline = time.monotonic() + 10
            while call.state == CallState.ANSWERED and time.monotonic() < deadline:
                time.sleep(0.05)
        except Exception:  # pragma: no cover - reported by the assertions below
            pass

    async def main():
        ep = Endpoint(app)
        await ep.start(["udp:127.0.0.1:0"])
        port = ep.local_address("udp")[1]
        phone = VoIPPhone(
            "127.0.0.1", port, "bob", "pyv0ip", myIP="127.0.0.1", sipPort=free_port(),
            rtpPortLow=30000, rtpPortHigh=30100, callCallback=on_call,
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, phone.start)
        try:
            for _ in range(100):
                if phone.get_status() == PhoneStatus.REGISTERED and ep.location.aors():
                    break
                await asyncio.sleep(0.1)
            registered = ep.location.aors()
            result = await ep.dial(f"sip:2001@127.0.0.1:{port}", timeout=15)
            hangup = None
            if result.answered:
                await asyncio.sleep(0.5)
                hangup = await result.call.hangup()
        finally:
            await loop.run_in_executor(None, phone.stop)
            await ep.stop()
        return registered, result, hangup

    registered, result, hangup = arun(main())
    assert registered == ["sip:2001@127.0.0.1"]
    assert result.answered, result
    assert answered_in_pyvoip.is_set()
    assert hangup.by == "local"
