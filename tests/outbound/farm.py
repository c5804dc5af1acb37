"""A farm of real SIPp callees on 127.0.0.1 for outbound call-progress tests.

::

    farm = Farm(cache_dir)
    uris = farm.start({"human": 3, "busy": 3, "network_failure": 3})
    # uris["human"] == ["sip:human-0@127.0.0.1:PORT0", "sip:human-1@127.0.0.1:PORT1", ...]
    ...dial them...
    stats = farm.stop()  # behaviour -> [SippStats] (exit code, successful/failed calls)

Behaviours (scenarios in ``scenarios/``):

* ``human`` — rings for ``ring_ms``, answers, says a short espeak-ng line
  ("Hello?", "Hello, who is this?", "Yes, hello?"…) over low line noise, then
  silence; waits for the caller's BYE (accepted at any moment);
* ``machine`` — answers, plays a 5–7.5 s espeak-ng voicemail greeting, a 1 kHz
  beep of 0.5 s, then line noise; waits for BYE;
* ``fax`` — answers with a fax tone made by sox: CED (2100 Hz, 3 s) for even
  callees, CNG bursts (1100 Hz, 0.5 s on / 3 s off) for odd ones; waits for BYE;
* ``busy`` (486), ``invalid`` (404), ``rejected`` (603) — refuse at once;
* ``no_answer`` — 180 Ringing until the caller's CANCEL (200, 487, ACK);
* ``network_failure`` — a port nobody listens on (no SIPp at all).

The answering behaviours run one SIPp per callee (SIPp 3.6.1 reads the
``rtp_stream`` file when it loads the scenario, so each clip needs its own
process, started in a folder holding its ``callee.ulaw``); the refusing ones
run one SIPp per behaviour serving all its callees' calls. Every SIPp is
bounded (``-m`` calls, a global ``-timeout``) and killed at :meth:`Farm.stop`
if it has not finished by then. Clips (headerless 8 kHz μ-law, what SIPp's
``rtp_stream`` sends as it is) are synthesized once and cached in the
directory given to :class:`Farm`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCENARIOS = HERE / "scenarios"
for _p in (ROOT / "tests" / "switch", ROOT / "tests" / "media"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import audio_fixtures as af  # noqa: E402
from sip_peers import free_port, need, wait_bound  # noqa: E402

from callcore.fastpath import impl as _fp  # noqa: E402

BEHAVIOURS = (
    "human", "machine", "fax", "busy", "no_answer", "invalid", "rejected", "network_failure",
)  # fmt: skip
#: the outcome each behaviour must be classified as (Outcome values)
EXPECTED = {
    "human": "human",
    "machine": "machine",
    "fax": "fax",
    "busy": "busy",
    "no_answer": "no_answer",
    "invalid": "invalid_number",
    "rejected": "rejected",
    "network_failure": "network_failure",
}
ANSWERING = ("human", "machine", "fax")
REFUSING = {"busy": "busy.xml", "invalid": "invalid.xml", "rejected": "rejected.xml",
            "no_answer": "no_answer.xml"}  # fmt: skip
#: default ring time (SIPp -d) of the answering behaviours, ms
RING_MS = {"human": 1200, "machine": 600, "fax": 300}

HUMAN_LINES = [
    ("Hello?", "en-us", 160),
    ("Hello, who is this?", "en-gb", 170),
    ("Yes, hello?", "en-us+f3", 160),
    ("Hello?", "en-us+m3", 175),
    ("Hi, who is this?", "en-gb-x-rp+f2", 165),
    ("Hello, who's calling?", "en-us", 165),  # app_amd's hard case: often MAXWORDS
]
MACHINE_LINES = [
    ("Hi, you have reached the voicemail of John Smith. I am not available right now, "
     "please leave a message after the tone.", "en-us", 160),
    ("Hello, this is Maria. Sorry I missed your call. Leave your name and number and I will "
     "call you back.", "en-us+f3", 165),
    ("The person you are calling is not available. Please leave a message after the beep.",
     "en-gb", 135),
    ("Thank you for calling Acme Bank. Our offices are closed. Please call again during "
     "business hours.", "en-gb-x-rp+f2", 170),
]  # fmt: skip
LINE_NOISE_RMS = 20  # a quiet line: far under AMD's 256 silence threshold


@dataclass
class SippStats:
    """How one SIPp process ended."""

    behaviour: str
    port: int
    returncode: int | None
    successful: int
    failed: int
    expected_calls: int
    output: str = ""

    @property
    def clean(self) -> bool:
        """Exited by itself (all ``-m`` calls done) with no failed call."""
        return self.returncode == 0 and self.failed == 0 and self.successful == self.expected_calls


@dataclass
class Callee:
    """One dialable callee of the farm."""

    behaviour: str
    uri: str
    port: int
    clip: str = ""  # what it says or plays
    clip_ms: int = 0
    beep_end_ms: int | None = None  # machines: where the beep ends in the clip


@dataclass
class _Proc:
    behaviour: str
    port: int
    calls: int
    popen: subprocess.Popen
    workdir: Path
    screen: Path
    stats: SippStats | None = None


@dataclass
class Farm:
    """SIPp callees on loopback; clips cached in ``cache``."""

    cache: Path
    max_seconds: int = 120  # every SIPp exits (failing) after this long at the latest
    callees: dict[str, Callee] = field(default_factory=dict)  # uri -> callee
    _procs: list[_Proc] = field(default_factory=list)
    _n: int = 0

    # -- clips -------------------------------------------------------------------
    def _clip(self, behaviour: str, i: int) -> tuple[Path, str, int, int | None]:
        """(μ-law file, description, length ms, beep end ms) of callee ``i``."""
        clips = self.cache / "clips"
        clips.mkdir(parents=True, exist_ok=True)
        beep_end = None
        if behaviour == "human":
            text, voice, speed = HUMAN_LINES[i % len(HUMAN_LINES)]
            talk = af.trim_silence(af.speech(self.cache, text, voice=voice, speed=speed))
            pcm = af.silence(250 + 100 * (i % 3)) + talk + af.silence(4000)
            desc = f"{text} ({voice})"
        elif behaviour == "machine":
            text, voice, speed = MACHINE_LINES[i % len(MACHINE_LINES)]
            talk = af.trim_silence(af.speech(self.cache, text, voice=voice, speed=speed))
            pcm = af.silence(300) + talk + af.silence(400)
            pcm += af.sox_synth(self.cache, 0.5, "sine", "1000", effects=("vol", "0.3"))
            beep_end = len(pcm) // 16
            pcm += af.silence(3000)
            desc = f"{text[:40]}… ({voice}) + beep"
        elif behaviour == "fax":
            if i % 2 == 0:
                tone = af.sox_synth(self.cache, 3.0, "sine", "2100", effects=("vol", "0.3"))
                pcm = af.silence(500) + tone + af.silence(2000)
                desc = "CED 2100 Hz 3 s"
            else:
                burst = af.sox_synth(self.cache, 0.5, "sine", "1100", effects=("vol", "0.3"))
                pcm = af.silence(300) + (burst + af.silence(3000)) * 3
                desc = "CNG 1100 Hz 0.5 s / 3 s"
        else:
            raise ValueError(behaviour)
        noise = af.noise(len(pcm) // 16, LINE_NOISE_RMS, seed=1000 + i)
        pcm = af.mix(pcm, noise)
        out = clips / f"{behaviour}-{i}.ulaw"
        if not out.exists():
            tmp = out.with_suffix(".tmp")
            tmp.write_bytes(_fp.ulaw_encode(pcm))
            tmp.rename(out)
        return out, desc, len(pcm) // 16, beep_end

    # -- processes ----------------------------------------------------------------
    def _spawn(
        self, behaviour: str, scenario: str, calls: int, ring_ms: int, workdir: Path
    ) -> _Proc:
        port = free_port()
        screen = workdir / f"sipp-{port}.screen"
        cmd = [
            need("sipp"), "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1",
            "-p", str(port), "-mp", str(free_port()), "-m", str(calls), "-d", str(ring_ms),
            "-nostdin", "-timeout", f"{self.max_seconds}s", "-timeout_error",
            "-trace_err", "-trace_screen", "-screen_file", str(screen),
        ]  # fmt: skip
        with open(workdir / f"sipp-{port}.stderr", "wb") as err:
            popen = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=err)
        proc = _Proc(behaviour, port, calls, popen, workdir, screen)
        self._procs.append(proc)
        return proc

    def _wait_listening(self, procs: list[_Proc]) -> None:
        for p in procs:
            try:
                wait_bound(p.port, timeout=30)
            except RuntimeError:
                raise RuntimeError(
                    f"SIPp for {p.behaviour} did not start (rc={p.popen.poll()}): {self._errors(p)}"
                ) from None

    @staticmethod
    def _errors(p: _Proc) -> str:
        """SIPp's stderr and its -trace_err log."""
        files = [p.workdir / f"sipp-{p.port}.stderr", *p.workdir.glob("*_errors.log")]
        return "".join(f.read_text(errors="replace") for f in files if f.exists())

    def start(
        self,
        behaviours: dict[str, int],
        *,
        calls_each: int = 1,
        ring_ms: dict[str, int] | None = None,
        talk_ms: dict[str, int] | None = None,
    ) -> dict[str, list[str]]:
        """Start callees: ``{"human": 3, ...}`` → ``{"human": [uri, uri, uri], ...}``.

        Each callee takes ``calls_each`` calls; ``ring_ms`` overrides
        :data:`RING_MS` per answering behaviour; ``talk_ms`` makes the answering
        callees of a behaviour hang up themselves that long after answering
        (``answer_talk_hangup.xml``) instead of waiting for the caller's BYE.
        """
        unknown = set(behaviours) - set(BEHAVIOURS)
        if unknown:
            raise ValueError(f"unknown behaviours {sorted(unknown)}")
        if set(behaviours) - {"network_failure"}:
            need("sipp")
        if set(behaviours) & set(ANSWERING):
            need("sox")
        if set(behaviours) & {"human", "machine"}:
            need("espeak-ng")
        rings = {**RING_MS, **(ring_ms or {})}
        uris: dict[str, list[str]] = {}
        started: list[_Proc] = []
        for behaviour, count in behaviours.items():
            uris[behaviour] = []
            if behaviour == "network_failure":
                for i in range(count):
                    port = free_port()  # handed out once, never bound
                    uri = f"sip:unreachable-{i}@127.0.0.1:{port}"
                    uris[behaviour].append(uri)
                    self.callees[uri] = Callee(behaviour, uri, port, "nobody listening")
                continue
            if behaviour in REFUSING:
                workdir = self._workdir(behaviour)
                proc = self._spawn(behaviour, REFUSING[behaviour], count * calls_each, 0, workdir)
                started.append(proc)
                for i in range(count):
                    uri = f"sip:{behaviour}-{i}@127.0.0.1:{proc.port}"
                    uris[behaviour].append(uri)
                    self.callees[uri] = Callee(behaviour, uri, proc.port)
                continue
            for i in range(count):
                clip, desc, clip_ms, beep_end = self._clip(behaviour, i)
                workdir = self._workdir(f"{behaviour}-{i}")
                link = workdir / "callee.ulaw"
                link.unlink(missing_ok=True)
                link.symlink_to(clip)
                scenario = "answer_play.xml"
                if talk_ms and behaviour in talk_ms:
                    text = (SCENARIOS / "answer_talk_hangup.xml").read_text()
                    scenario = str(workdir / "answer_talk_hangup.xml")
                    Path(scenario).write_text(text.replace("[talk_ms]", str(talk_ms[behaviour])))
                proc = self._spawn(behaviour, scenario, calls_each, rings[behaviour], workdir)
                started.append(proc)
                uri = f"sip:{behaviour}-{i}@127.0.0.1:{proc.port}"
                uris[behaviour].append(uri)
                self.callees[uri] = Callee(behaviour, uri, proc.port, desc, clip_ms, beep_end)
        self._wait_listening(started)
        return uris

    def _workdir(self, name: str) -> Path:
        self._n += 1
        d = self.cache / "callees" / f"{os.getpid()}-{self._n}-{name}"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def stop(self, grace: float = 20.0) -> dict[str, list[SippStats]]:
        """Wait up to ``grace`` s for every SIPp to finish its calls, then stop
        the rest (SIGUSR1, SIPp's quit; SIGKILL if that does not do it).
        Returns each behaviour's process statistics."""
        deadline = time.monotonic() + grace
        for p in self._procs:
            _wait(p.popen, deadline - time.monotonic())
        for attempt in range(2):  # SIGUSR1 is SIPp's "q": once soft, twice at once
            for p in self._procs:
                if p.popen.poll() is None:
                    p.popen.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 2 + attempt
            for p in self._procs:
                _wait(p.popen, deadline - time.monotonic())
        for p in self._procs:
            if p.popen.poll() is None:
                p.popen.kill()
                p.popen.wait(timeout=10)
        out: dict[str, list[SippStats]] = {}
        for p in self._procs:
            text = p.screen.read_text(errors="replace") if p.screen.exists() else ""
            p.stats = SippStats(
                p.behaviour, p.port, p.popen.returncode, _counter(text, "Successful call"),
                _counter(text, "Failed call"), p.calls, text[-2000:] + self._errors(p),
            )  # fmt: skip
            out.setdefault(p.behaviour, []).append(p.stats)
        self._procs.clear()
        return out

    def __enter__(self) -> Farm:
        return self

    def __exit__(self, *exc) -> None:
        self.stop(grace=0 if exc[0] is not None else 20.0)


def _wait(popen: subprocess.Popen, timeout: float) -> bool:
    try:
        popen.wait(timeout=max(timeout, 0.01))
    except subprocess.TimeoutExpired:
        return False
    return True


def _counter(text: str, label: str) -> int:
    m = re.search(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", text)
    return int(m.group(1)) if m else -1
