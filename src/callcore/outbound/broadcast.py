"""Agentless campaign flows, as banks use them.

Each flow is a small object called with an answered call, its contact record
and the :class:`~callcore.outbound.dialer.Dialer`; it returns a short result
word that ends up in the attempt (and the CDR's campaign report):

* :class:`VoiceBroadcast` — play a message and hang up (``played``);
* :class:`Notification` — play a notice; "press 1 to hear more" plays the
  details (``heard_more`` / ``played``);
* :class:`PressOneToAgent` — play a message; 1 connects to an agent queue
  (``answered`` / ``abandoned``), nothing → ``played``;
* :class:`DtmfSurvey` — questions answered with one digit each, answers kept
  in a :class:`SurveyAnswers` store (``complete`` / ``partial``);
* :class:`ListenThenAgent` — play a message; a callee still listening after
  ``seconds`` is transferred to an agent (reminders that escalate);
* :class:`NumberValidation` — hang up on answer: the number is live (``valid``);
* :class:`MenuBroadcast` — a small IVR menu whose digits route to different
  agent groups (queues).

Flows that reach agents use :meth:`Dialer.connect_to_agent` with their own
queue, so the ACD's rules (no double booking, the connect window and its
compliance message) hold for agentless campaigns too. Prompts are texts
rendered by the contact center's prompt source (text-to-speech or beeps).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcore.switch.call import CallError

if TYPE_CHECKING:
    from callcore.switch.call import Call

    from .dialer import Dialer

__all__ = [
    "DtmfSurvey",
    "ListenThenAgent",
    "MenuBroadcast",
    "Notification",
    "NumberValidation",
    "PressOneToAgent",
    "SurveyAnswers",
    "VoiceBroadcast",
]


async def _say(call: Call, dialer: Dialer, text: str, *, interruptible: bool = True) -> str:
    """Play ``text``; returns ``finished`` or ``dtmf:<d>`` when a digit barged in."""
    pcm = await dialer.center.prompts.render(text)
    return await call.play(pcm, interruptible=interruptible)


def _fill(text: str, record: Any) -> str:
    """Format ``text`` with the record's fields (``{name}``, ``{amount}``, ...)."""
    values = {"name": getattr(record, "name", ""), **dict(getattr(record, "fields", {}) or {})}
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return text


async def _digit(call: Call, played: str, timeout: float) -> str:
    """The digit that barged into the prompt, or the first one within ``timeout``."""
    if played.startswith("dtmf:"):
        if not call.digits.empty():  # the barge-in digit stays queued: take it
            call.digits.get_nowait()
        return played[5:]
    return await call.collect(1, terminator=None, first_timeout=timeout)


@dataclass(frozen=True, slots=True)
class VoiceBroadcast:
    message: str

    async def __call__(self, call: Call, record: Any, dialer: Dialer) -> str:
        await _say(call, dialer, _fill(self.message, record), interruptible=False)
        return "played"


@dataclass(frozen=True, slots=True)
class Notification:
    message: str
    details: str
    digit: str = "1"
    prompt: str = "To hear more, press {digit}."
    timeout: float = 5.0

    async def __call__(self, call: Call, record: Any, dialer: Dialer) -> str:
        text = _fill(self.message, record) + " " + self.prompt.format(digit=self.digit)
        got = await _digit(call, await _say(call, dialer, text), self.timeout)
        if got == self.digit:
            await _say(call, dialer, _fill(self.details, record), interruptible=False)
            return "heard_more"
        return "played"


@dataclass(frozen=True, slots=True)
class PressOneToAgent:
    message: str
    queue: str
    digit: str = "1"
    timeout: float = 5.0

    async def __call__(self, call: Call, record: Any, dialer: Dialer) -> str:
        got = await _digit(call, await _say(call, dialer, _fill(self.message, record)),
                           self.timeout)  # fmt: skip
        if got != self.digit:
            return "played"
        return await dialer.connect_to_agent(call, record, _attempt_of(dialer, call),
                                             queue=self.queue)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ListenThenAgent:
    """Play ``message`` (looped if short); a callee still there after ``seconds``
    goes to an agent in ``queue``."""

    message: str
    queue: str
    seconds: float = 10.0

    async def __call__(self, call: Call, record: Any, dialer: Dialer) -> str:
        start = asyncio.get_running_loop().time()
        text = _fill(self.message, record)
        while asyncio.get_running_loop().time() - start < self.seconds:
            await _say(call, dialer, text, interruptible=False)
        if call.ended:
            return "hangup"
        return await dialer.connect_to_agent(call, record, _attempt_of(dialer, call),
                                             queue=self.queue)  # fmt: skip


@dataclass(frozen=True, slots=True)
class NumberValidation:
    """Hang up as soon as the call is answered: the number reaches someone."""

    async def __call__(self, call: Call, record: Any, dialer: Dialer) -> str:
        await call.hangup()
        return "valid"


@dataclass(frozen=True, slots=True)
class MenuBroadcast:
    """``routes`` maps a digit to a queue; ``retries`` replays the menu on no/invalid input."""

    message: str
    routes: Mapping[str, str]
    retries: int = 1
    timeout: float = 5.0

    async def __call__(self, call: Call, record: Any, dialer: Dialer) -> str:
        for _ in range(self.retries + 1):
            got = await _digit(call, await _say(call, dialer, _fill(self.message, record)),
                               self.timeout)  # fmt: skip
            queue = self.routes.get(got)
            if queue is not None:
                return await dialer.connect_to_agent(call, record, _attempt_of(dialer, call),
                                                     queue=queue)  # fmt: skip
        return "no_choice"


class SurveyAnswers:
    """Answers of a DTMF survey: ``(record_id, number, question, answer, at)`` rows.

    In memory, thread-safe; ``rows()`` for reports, ``by_question()`` for tallies.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[str, str, str, str, float]] = []
        self._lock = threading.Lock()

    def add(self, record_id: str, number: str, question: str, answer: str) -> None:
        with self._lock:
            self._rows.append((record_id, number, question, answer, time.time()))

    def rows(self) -> list[tuple[str, str, str, str, float]]:
        with self._lock:
            return list(self._rows)

    def by_question(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for _, _, q, a, _ in self.rows():
            out.setdefault(q, {}).setdefault(a, 0)
            out[q][a] += 1
        return out


@dataclass(frozen=True, slots=True)
class DtmfSurvey:
    """``questions`` are ``(key, prompt, valid digits)``; an invalid digit repeats
    the question once; answers go to ``answers``."""

    questions: Sequence[tuple[str, str, str]]
    answers: SurveyAnswers = field(default_factory=SurveyAnswers)
    intro: str = ""
    thanks: str = "Thank you."
    timeout: float = 6.0

    async def __call__(self, call: Call, record: Any, dialer: Dialer) -> str:
        if self.intro:
            await _say(call, dialer, _fill(self.intro, record), interruptible=False)
        done = 0
        for key, prompt, valid in self.questions:
            for _ in range(2):
                try:
                    got = await _digit(call, await _say(call, dialer, prompt), self.timeout)
                except CallError:
                    return "partial" if done else "hangup"
                if got and got in valid:
                    self.answers.add(record.record_id, record.number, key, got)
                    done += 1
                    break
        if done == len(self.questions):
            await _say(call, dialer, self.thanks, interruptible=False)
            return "complete"
        return "partial" if done else "no_answers"


def _attempt_of(dialer: Dialer, call: Call):
    for att in reversed(dialer.attempts):
        if att.call_id == call.call_id:
            return att
    raise CallError(f"{call!r} is not one of this dialer's attempts")
