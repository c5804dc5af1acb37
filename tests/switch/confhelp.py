"""Helpers for the conference / supervision / recording tests: tones and FFT checks."""

from __future__ import annotations

import asyncio

import numpy as np

from callcore import App, Endpoint


def tone(freq: float, seconds: float, level: float = 6000.0) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return (level * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def level_at(pcm: bytes, freq: float) -> float:
    """Amplitude (0..32767 scale) of the sinusoid at ``freq`` in ``pcm``."""
    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    if len(x) == 0:
        return 0.0
    w = np.hanning(len(x))
    spec = np.abs(np.fft.rfft(x * w)) * 2 / w.sum()
    freqs = np.fft.rfftfreq(len(x), 1 / 8000)
    band = (freqs > freq - 25) & (freqs < freq + 25)
    return float(spec[band].max())


def hears(pcm: bytes, freq: float, floor: float = 800.0) -> bool:
    return level_at(pcm, freq) > floor


class Capture:
    """Collects what a leg's far end sends (its session's ``heard``) while armed."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.armed = False

    def __call__(self, pcm: bytes) -> None:
        if self.armed:
            self.frames.append(pcm)

    @property
    def pcm(self) -> bytes:
        return b"".join(self.frames)


async def pair(server_app: App, client_app: App | None = None) -> tuple[Endpoint, Endpoint, int]:
    server, client = Endpoint(server_app), Endpoint(client_app or App())
    await server.start(["udp:127.0.0.1:0"])
    await client.start(["udp:127.0.0.1:0"])
    return server, client, server.local_address("udp")[1]


async def until(pred, timeout: float = 5.0, step: float = 0.02) -> None:
    """Wait until ``pred()`` is true (bounded; raises on time-out)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(step)


_BACKGROUND: set[asyncio.Future] = set()


def play_bg(call, pcm: bytes) -> asyncio.Future:
    """Play ``pcm`` on ``call`` in the background (the task is kept referenced)."""
    fut = asyncio.ensure_future(call.play(pcm, interruptible=False))
    _BACKGROUND.add(fut)
    fut.add_done_callback(_BACKGROUND.discard)
    return fut
