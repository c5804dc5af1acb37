"""The IVR's :class:`~callcore.center.ivr.port.CallPort` on a live SIP call.

:class:`LiveCallPort` wraps a :class:`callcore.Call` (the caller's leg) so a
:class:`~callcore.center.ivr.flow.FlowRunner` can walk a flow on it: prompts
are rendered to audio by a :class:`PromptSource` and played with
:meth:`Call.play` (DTMF barges in; the digit stays queued for the next
``collect``), digits come from RFC 4733 / SIP INFO, and transfers are handed
to the :class:`~callcore.center.runtime.CenterRuntime` that owns the ACD.

Prompt sources turn a prompt (text, or a WAV path) into 8 kHz 16-bit PCM:

* :class:`SpeechPrompts` speaks text with ``espeak-ng`` (cached per text,
  synthesized in a worker thread) and reads ``*.wav`` paths;
* :class:`BeepPrompts` renders every prompt as a short tone — for load tests
  and the simulated crowd, where callers do not listen.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from callcore.media.prompts import PromptCache
from callcore.media.recorder import AsyncRecorder
from callcore.switch.call import CallError

if TYPE_CHECKING:
    from callcore.switch.call import Call

    from .runtime import CenterRuntime

log = logging.getLogger("callcore.center.live")

RATE = 8000


@runtime_checkable
class PromptSource(Protocol):
    """Turns a prompt (text or a WAV path) into 8 kHz 16-bit mono PCM."""

    async def render(self, prompt: str) -> bytes: ...


def tone_pcm(seconds: float, freq: float = 440.0, level: float = 0.25) -> bytes:
    """``seconds`` of a sine at ``freq`` Hz as 8 kHz 16-bit PCM (even length)."""
    import numpy as np

    n = max(1, round(seconds * RATE))
    t = np.arange(n) / RATE
    x = np.round(np.sin(2 * math.pi * freq * t) * level * 32767).astype("<i2")
    return x.tobytes()


class BeepPrompts:
    """Every prompt is a short tone of ``duration`` seconds (fast, for crowds and load)."""

    def __init__(self, duration: float = 0.1, freq: float = 660.0) -> None:
        self.pcm = tone_pcm(duration, freq)

    async def render(self, prompt: str) -> bytes:
        return self.pcm


class SpeechPrompts:
    """Text spoken by ``espeak-ng`` (cached); ``*.wav`` prompts read from disk.

    ``directory`` keeps the synthesized WAVs between runs (default: a temp
    directory). Without ``espeak-ng`` installed, text prompts fall back to
    ``fallback`` (a :class:`BeepPrompts` by default) so a call never gets dead air.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        voice: str = "en",
        speed: int = 170,
        fallback: PromptSource | None = None,
    ) -> None:
        self.directory = Path(directory or tempfile.mkdtemp(prefix="callcore-tts-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.voice = voice
        self.speed = speed
        self.fallback = fallback or BeepPrompts(0.3)
        self.espeak = shutil.which("espeak-ng") or shutil.which("espeak")
        self._files = PromptCache(RATE)
        self._pcm: dict[str, bytes] = {}
        self._pending: dict[str, asyncio.Future[bytes]] = {}

    async def render(self, prompt: str) -> bytes:
        if prompt in self._pcm:
            return self._pcm[prompt]
        if prompt in self._pending:  # another call asked for the same text just now
            return await asyncio.shield(self._pending[prompt])
        fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[prompt] = fut
        try:
            pcm = await asyncio.to_thread(self._render_sync, prompt)
        except Exception as e:  # never dead air: fall back to a tone
            log.warning("prompt %r could not be rendered: %s", prompt[:40], e)
            pcm = await self.fallback.render(prompt)
        finally:
            del self._pending[prompt]
        if not fut.done():
            fut.set_result(pcm)
        self._pcm[prompt] = pcm
        return pcm

    def _render_sync(self, prompt: str) -> bytes:
        if prompt.lower().endswith(".wav") and Path(prompt).exists():
            return self._files.get(prompt).pcm
        if self.espeak is None:
            raise RuntimeError("espeak-ng is not installed")
        name = hashlib.sha1(f"{self.voice}:{self.speed}:{prompt}".encode()).hexdigest()[:20]
        path = self.directory / f"{name}.wav"
        if not path.exists():
            tmp = path.with_suffix(".tmp.wav")
            subprocess.run(
                [self.espeak, "-v", self.voice, "-s", str(self.speed), "-w", str(tmp), prompt],
                check=True,
                capture_output=True,
                timeout=30,
            )
            tmp.replace(path)
        return self._files.get(path).pcm


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class LiveCallPort:
    """:class:`~callcore.center.ivr.port.CallPort` over a live caller leg.

    ``attributes`` carries ``call_id`` (the SIP Call-ID) and optional ``vars``
    (initial flow variables). Transfers are delegated to ``runtime``; they
    return when the caller's part in the contact center is over (the call was
    answered by an agent and ended, abandoned, or sent to voicemail).
    """

    def __init__(
        self,
        call: Call,
        runtime: CenterRuntime,
        *,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.call = call
        self.runtime = runtime
        self.caller_number = call.caller_number
        self.called_number = call.dialed
        self.attributes: dict[str, Any] = {"call_id": call.call_id, **(attributes or {})}
        #: outcome of the last transfer (``answered``, ``abandoned``, ``voicemail`` ...)
        self.transfer_outcome: str | None = None
        #: path of the last voicemail recorded on this call
        self.recording: str | None = None

    @property
    def ended(self) -> bool:
        return self.call.ended

    def _alive(self) -> None:
        if self.call.ended:
            raise CallError("the caller hung up")

    async def answer(self) -> None:
        if self.call.state != "answered":
            await self.call.answer()

    async def play(self, prompt: str) -> None:
        self._alive()
        pcm = await self.runtime.prompts.render(prompt)
        await self.call.play(pcm, interruptible=True)

    async def collect(
        self,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_timeout: float = 3.0,
    ) -> str:
        self._alive()
        got = await self.call.collect(
            max_digits,
            terminator=terminator or None,
            first_timeout=first_timeout,
            inter_timeout=inter_timeout,
        )
        self._alive()  # a hangup while waiting is not an empty entry
        return got

    async def transfer_to_queue(
        self, queue: str, *, priority: int = 0, attrs: Mapping[str, Any] | None = None
    ) -> None:
        self._alive()
        self.transfer_outcome = await self.runtime.queue_call(
            self, queue, priority=priority, attrs=attrs
        )

    async def transfer_to_agent(self, agent_id: str) -> None:
        self._alive()
        self.transfer_outcome = await self.runtime.send_to_agent(self, agent_id)

    async def transfer_to_number(self, number: str) -> None:
        self._alive()
        self.transfer_outcome = await self.runtime.send_to_number(self, number)

    async def record_voicemail(
        self, mailbox: str, *, max_length: float = 120.0, beep: bool = True
    ) -> str | None:
        """Beep, record the caller until ``#``, hangup or ``max_length``; return the WAV path."""
        self._alive()
        directory = self.runtime.recordings_dir / _SAFE.sub("_", mailbox)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{_SAFE.sub('_', self.call.call_id)[:60]}-{self.call.local_tag}.wav"
        if beep:
            await self.call.play(tone_pcm(0.3, 1000.0), interruptible=False)
        session = self.call.session
        if session is None or session.closed:
            return None
        while not self.call.digits.empty():  # digits pressed before the beep do not stop it
            self.call.digits.get_nowait()
        rec = AsyncRecorder(path)
        session.source = None
        session.taps.append(rec.feed)
        stop = asyncio.ensure_future(self._wait_digit("#"))
        ended = asyncio.ensure_future(self.call.wait_hangup())
        try:
            await asyncio.wait([stop, ended], timeout=max_length, return_when="FIRST_COMPLETED")
        finally:
            stop.cancel()
            ended.cancel()
            with contextlib.suppress(ValueError):
                session.taps.remove(rec.feed)
            await rec.aclose()
        self.recording = str(path)
        return str(path)

    async def _wait_digit(self, digit: str) -> None:
        while await self.call.digits.get() != digit:
            pass

    async def hangup(self, cause: str = "normal") -> None:
        if not self.call.ended:
            await self.call.hangup("normal_clearing" if cause == "normal" else cause)


__all__ = ["BeepPrompts", "LiveCallPort", "PromptSource", "SpeechPrompts", "tone_pcm"]
