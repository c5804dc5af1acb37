"""The call interface the IVR runs against, and an in-memory scripted call for tests.

The live ``Call`` of the switch layer will implement :class:`CallPort`; the
IVR never touches SIP or RTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CallPort(Protocol):
    caller_number: str
    called_number: str
    attributes: dict[str, Any]

    async def answer(self) -> None: ...

    async def play(self, prompt: str) -> None:
        """Play a prompt file name or speak text."""

    async def collect(
        self,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_timeout: float = 3.0,
    ) -> str:
        """Digits pressed (without the terminator); ``""`` when nothing came in time."""

    async def transfer_to_queue(
        self, queue: str, *, priority: int = 0, attrs: Mapping[str, Any] | None = None
    ) -> None: ...

    async def transfer_to_agent(self, agent_id: str) -> None: ...

    async def transfer_to_number(self, number: str) -> None: ...

    async def record_voicemail(
        self, mailbox: str, *, max_length: float = 120.0, beep: bool = True
    ) -> str | None:
        """Record after a beep; return the recording path (``None`` if nothing recorded)."""

    async def hangup(self, cause: str = "normal") -> None: ...


class ScriptedCall:
    """A :class:`CallPort` whose caller presses scripted digits.

    ``digits`` is consumed one entry per :meth:`collect` (``None`` or ``""`` =
    timeout; entries longer than ``max_digits`` are cut). Everything the IVR
    does is appended to :attr:`log` as tuples.
    """

    def __init__(
        self,
        digits: Iterable[str | None] = (),
        *,
        caller_number: str = "+8613800000001",
        called_number: str = "95588",
        attributes: dict[str, Any] | None = None,
        recording_path: str | None = "/tmp/vm.wav",
    ) -> None:
        self._digits = list(digits)
        self.caller_number = caller_number
        self.called_number = called_number
        self.attributes = attributes or {}
        self.recording_path = recording_path
        self.log: list[tuple] = []
        self.answered = False
        self.ended: str | None = None

    def _check(self) -> None:
        if self.ended is not None:
            raise RuntimeError(f"call already ended ({self.ended})")

    async def answer(self) -> None:
        self._check()
        self.answered = True
        self.log.append(("answer",))

    async def play(self, prompt: str) -> None:
        self._check()
        self.log.append(("play", prompt))

    async def collect(
        self,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_timeout: float = 3.0,
    ) -> str:
        self._check()
        got = self._digits.pop(0) if self._digits else None
        got = (got or "")[:max_digits]
        self.log.append(("collect", max_digits, got))
        return got

    async def transfer_to_queue(self, queue, *, priority=0, attrs=None) -> None:
        self._check()
        self.log.append(("queue", queue, priority, dict(attrs or {})))
        self.ended = "queue"

    async def transfer_to_agent(self, agent_id: str) -> None:
        self._check()
        self.log.append(("agent", agent_id))
        self.ended = "agent"

    async def transfer_to_number(self, number: str) -> None:
        self._check()
        self.log.append(("number", number))
        self.ended = "number"

    async def record_voicemail(self, mailbox, *, max_length=120.0, beep=True) -> str | None:
        self._check()
        self.log.append(("voicemail", mailbox, max_length, beep))
        return self.recording_path

    async def hangup(self, cause: str = "normal") -> None:
        self.log.append(("hangup", cause))
        self.ended = self.ended or "hangup"

    def played(self) -> list[str]:
        return [e[1] for e in self.log if e[0] == "play"]
