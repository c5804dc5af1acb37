"""baresip as contact-center agents: registers, receives a bridged call, puts it on
hold and resumes it, then blind-transfers it (REFER) to a second registered baresip.
Audio is checked both ways with tones: what the caller hears (callcore's RTP taps)
and what each agent heard (baresip's aufile player writes it to a WAV)."""

from __future__ import annotations

import asyncio
import subprocess
import wave

import numpy as np
import pytest
from sip_peers import free_port, need
from test_switch_transfer import Listener, tone_source

from callcore import App, Endpoint
from callcore.switch.bridge import bridge

pytestmark = [pytest.mark.peer, pytest.mark.slow]

CONFIG = """\
poll_method epoll
sip_listen 127.0.0.1:{sip_port}
sip_trans_def udp
audio_source aufile,{dir}/voice.wav
audio_alert aufile,/dev/null
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module sndfile.so
snd_path {dir}
module_app account.so
module_app menu.so
module stdio.so
"""


def start_agent(tmp, name: str, ext: str, password: str, pbx_port: int, freq: float):
    d = tmp / name
    d.mkdir()
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
            str(d / "voice.wav"),
            "synth",
            "30",
            "sine",
            str(freq),
        ],
        check=True,
    )
    (d / "config").write_text(CONFIG.format(sip_port=free_port(), dir=d))
    (d / "accounts").write_text(
        f"<sip:{ext}@127.0.0.1:{pbx_port}>;auth_user={name};auth_pass={password};regint=60;answermode=auto\n"
    )
    return d


def heard_freq(folder, skip_s: float = 0.5) -> float:
    """Dominant frequency of what baresip decoded (its sndfile module dumps
    ``dump-*-dec.wav`` per call)."""
    (path,) = sorted(folder.glob("dump-*-dec.wav"))[-1:]
    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float)
        rate = w.getframerate()
    x = x[int(skip_s * rate) :]
    if len(x) < rate // 4 or np.abs(x).max() < 500:
        return 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spec))])


def test_baresip_agent_hold_resume_and_blind_transfer(tmp_path, arun):
    need("baresip")
    need("sox")
    app = App()
    app.add_account("1001", "agent1", "pw-one")
    app.add_account("1002", "agent2", "pw-two")

    @app.route("100", public=True)
    async def queue(call):
        out = await call.endpoint.dial(f"sip:1001@{call.endpoint.host}", timeout=10)
        if not out.answered:
            await call.reject(480)
            return
        await call.answer()
        await bridge(call, out.call)

    async def send(proc, command: str) -> None:
        proc.stdin.write(command.encode() + b"\n")
        await proc.stdin.drain()

    async def main():
        pbx = Endpoint(app)
        await pbx.start(["udp:127.0.0.1:0"])
        port = pbx.local_address("udp")[1]
        dirs = [start_agent(tmp_path, "agent1", "1001", "pw-one", port, 1209.0),
                start_agent(tmp_path, "agent2", "1002", "pw-two", port, 1477.0)]  # fmt: skip
        agents = [
            await asyncio.create_subprocess_exec(
                "baresip",
                "-f",
                str(d),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            for d in dirs
        ]
        try:
            for _ in range(100):
                if len(pbx.location.aors()) == 2:
                    break
                await asyncio.sleep(0.1)
            registered = sorted(pbx.location.aors())
            caller = Endpoint(App())
            await caller.start(["udp:127.0.0.1:0"])
            res = await caller.dial(f"sip:100@127.0.0.1:{port}", timeout=10)
            assert res.answered, res
            res.call.session.source = tone_source(697.0)
            hears = Listener(res.call)
            seen = {"agent1": await hears.recent(1.0)}
            await send(agents[0], "/hold")
            seen["hold"] = await hears.recent(1.2)
            await send(agents[0], "/resume")
            seen["resumed"] = await hears.recent(1.0)
            await send(agents[0], f"/transfer sip:1002@127.0.0.1:{port}")
            await asyncio.sleep(1.0)
            seen["agent2"] = await hears.recent(1.5)
            await res.call.hangup()
            await asyncio.sleep(0.5)
            seen["ports"] = pbx.media.ports_in_use
            hub = pbx.media.hub
            seen["relayed_in_c"] = hub.relayed if hub is not None else None
            await caller.stop()
        finally:
            for a in agents:
                if a.returncode is None:
                    await send(a, "/quit")
            for a in agents:
                try:
                    await asyncio.wait_for(a.wait(), 10)
                except TimeoutError:
                    a.kill()
            await pbx.stop()
        return registered, seen

    registered, seen = arun(main())
    assert registered == ["sip:1001@127.0.0.1", "sip:1002@127.0.0.1"]
    assert abs(seen["agent1"] - 1209) < 20  # caller talks to agent 1
    assert any(abs(seen["hold"] - f) < 15 for f in (523.25, 659.25, 783.99)), seen[
        "hold"
    ]  # music on hold
    assert abs(seen["resumed"] - 1209) < 20
    assert abs(seen["agent2"] - 1477) < 20  # after the transfer: agent 2
    assert abs(heard_freq(tmp_path / "agent1") - 697) < 20  # agents heard the caller
    assert abs(heard_freq(tmp_path / "agent2") - 697) < 20
    assert seen["ports"] == 0
    # with batch reads (the default when compiled) the bridged audio checked above went
    # through the reader's armed routes, not only through the Python relay
    assert seen["relayed_in_c"] is None or seen["relayed_in_c"] > 100
