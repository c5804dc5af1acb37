"""A simulated population of callees, made of real SIP, for demos and load runs.

:class:`SimulatedCallees` answers on one callcore :class:`Endpoint`; the dialed
number says how that "customer" behaves (:meth:`SimulatedCallees.number`
builds numbers for a behaviour, :meth:`SimulatedCallees.behaviour_of` reads it
back):

* ``human`` — rings a while, answers, says a short "hello?" (a voiced burst)
  and then listens: stays on the line until the dialer or the agent hangs up,
  or gives up after ``patience`` seconds of silence;
* ``machine`` — answers, plays a long greeting (several bursts), a 1 kHz beep,
  then records silence until hung up (at most ``machine_hold`` seconds);
* ``fax`` — answers with the 2100 Hz CED tone;
* ``busy`` (486), ``invalid`` (404), ``rejected`` (603);
* ``no_answer`` — rings until cancelled.

No text-to-speech is needed (``make demo`` runs without espeak-ng): a "word"
is a 300 ms burst of a 200 Hz harmonic tone with a syllable envelope, which the
level-threshold voice detector and the AMD take for speech. The real-peer tests
use SIPp callees with espeak-ng speech instead (``tests/outbound/farm.py``).
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from callcore.switch.app import App
from callcore.switch.call import CallError
from callcore.switch.endpoint import Endpoint

__all__ = ["BEHAVIOURS", "CalleeBehaviour", "SimulatedCallees", "speechlike"]

BEHAVIOURS = ("human", "machine", "fax", "busy", "no_answer", "invalid", "rejected")
_CODE = {b: str(i + 1) for i, b in enumerate(BEHAVIOURS)}
_BY_CODE = {v: k for k, v in _CODE.items()}
RATE = 8000


def speechlike(words: int, *, word_ms: int = 300, gap_ms: int = 150, seed: int = 0) -> bytes:
    """``words`` voiced bursts separated by short gaps (16-bit 8 kHz PCM)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(words):
        n = RATE * word_ms // 1000
        t = np.arange(n) / RATE
        f0 = rng.uniform(150, 250)
        voiced = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        env = np.sin(np.pi * np.arange(n) / n) ** 0.5
        out.append((voiced * env * 5000).astype("<i2").tobytes())
        out.append(b"\0\0" * (RATE * gap_ms // 1000))
    return b"".join(out)


def _tone(freq: float, seconds: float, level: float = 8000.0) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


@dataclass(frozen=True, slots=True)
class CalleeBehaviour:
    """Timings of the simulated callees (seconds, drawn uniformly from ranges)."""

    ring: tuple[float, float] = (1.0, 4.0)
    patience: float = 20.0
    machine_hold: float = 15.0
    greeting_words: int = 12


@dataclass(slots=True)
class _Log:
    answered: Counter = field(default_factory=Counter)
    by_number: dict[str, str] = field(default_factory=dict)
    #: dialed number -> (caller number shown, P-Asserted-Identity) of the last call
    shown: dict[str, tuple[str, str | None]] = field(default_factory=dict)


class SimulatedCallees:
    """Customers on ``127.0.0.1`` that behave as their number says (see module doc)."""

    def __init__(
        self,
        *,
        behaviour: CalleeBehaviour | None = None,
        rng: random.Random | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.behaviour = behaviour or CalleeBehaviour()
        self.rng = rng or random.Random(7)
        self.app = App("simulated-callees")
        self.app.route(re.compile(r".*"), public=True)(self._on_call)
        self.endpoint = Endpoint(self.app, host=host, rtp_ports=(30000, 34000))
        self.host = host
        self.log = _Log()
        self._hello = speechlike(2, seed=1)
        self._greeting = speechlike(self.behaviour.greeting_words, seed=2)
        self._beep = _tone(1000.0, 0.5)
        self._ced = _tone(2100.0, 3.5)

    @property
    def port(self) -> int:
        return self.endpoint.local_address("udp")[1]

    async def start(self) -> None:
        await self.endpoint.start([f"udp:{self.host}:0"])

    async def stop(self) -> None:
        await self.endpoint.stop()

    def uri_template(self) -> str:
        """A campaign ``dial_uri`` that reaches these callees."""
        return f"sip:{{number}}@{self.host}:{self.port}"

    @staticmethod
    def number(behaviour: str, serial: int) -> str:
        """A Chinese-mobile-shaped number (E.164) whose digits encode ``behaviour``."""
        if behaviour not in _CODE:
            raise ValueError(f"unknown behaviour {behaviour!r}; one of {BEHAVIOURS}")
        return f"+86139{_CODE[behaviour]}{serial % 10_000_000:07d}"

    @staticmethod
    def behaviour_of(number: str) -> str:
        digits = number.lstrip("+")
        if digits.startswith("86"):
            digits = digits[2:]
        return _BY_CODE.get(digits[3:4], "human") if len(digits) >= 4 else "human"

    async def _on_call(self, call) -> None:
        kind = self.behaviour_of(call.dialed)
        self.log.by_number[call.dialed] = kind
        self.log.shown[call.dialed] = (call.caller_number, call.asserted_identity)
        b = self.behaviour
        try:
            if kind == "busy":
                await call.reject(486)
                return
            if kind == "invalid":
                await call.reject(404, "Not Found")
                return
            if kind == "rejected":
                await call.reject(603, "Decline")
                return
            await call.ring()
            if kind == "no_answer":
                await call.wait_hangup()
                return
            ended = asyncio.ensure_future(call.wait_hangup())
            try:
                await asyncio.wait([ended], timeout=self.rng.uniform(*b.ring))
            finally:
                ended.cancel()
            if call.ended:
                return
            await call.answer()
            self.log.answered[kind] += 1
            if kind == "human":
                await call.play(self._hello, interruptible=False)
                await self._stay(call, b.patience)
            elif kind == "machine":
                await call.play(self._greeting + self._beep, interruptible=False)
                await self._stay(call, b.machine_hold)
            elif kind == "fax":
                for _ in range(4):
                    await call.play(self._ced + b"\0\0" * RATE, interruptible=False)
                await call.hangup()
        except CallError:
            return

    @staticmethod
    async def _stay(call, seconds: float) -> None:
        ended = asyncio.ensure_future(call.wait_hangup())
        try:
            await asyncio.wait([ended], timeout=seconds)
        finally:
            ended.cancel()
        if not call.ended:
            await call.hangup()
