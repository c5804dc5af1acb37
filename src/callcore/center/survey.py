"""Post-call satisfaction survey (press 1–5); a low score opens a callback task for the team leader."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .ivr.port import CallPort


@dataclass(frozen=True, slots=True)
class SurveyResult:
    call_id: str
    agent_id: str
    caller: str
    score: int | None  # None: no valid answer
    at: float


@dataclass(frozen=True, slots=True)
class CallbackTask:
    """Call ``caller`` back; assigned to ``assignee`` (the agent's team leader)."""

    call_id: str
    caller: str
    agent_id: str
    assignee: str
    score: int
    reason: str
    created: float


@dataclass
class Survey:
    """``low`` is the highest score that still triggers a callback task.
    ``team_leader(agent_id)`` names the assignee. Results and tasks are kept
    in lists and passed to ``on_task``."""

    team_leader: Callable[[str], str] | Mapping[str, str]
    low: int = 2
    prompt: str = "Please rate this call from 1, very unsatisfied, to 5, very satisfied."
    thanks: str = "Thank you for your feedback."
    retries: int = 1
    timeout: float = 6.0
    on_task: Callable[[CallbackTask], None] | None = None
    results: list[SurveyResult] = field(default_factory=list)
    tasks: list[CallbackTask] = field(default_factory=list)

    def record(
        self, call_id: str, agent_id: str, caller: str, score: int | None, at: float
    ) -> CallbackTask | None:
        """Store a score (from any channel); return the callback task if one was opened."""
        if score is not None and not 1 <= score <= 5:
            raise ValueError("score must be 1..5")
        self.results.append(SurveyResult(call_id, agent_id, caller, score, at))
        if score is None or score > self.low:
            return None
        tl = self.team_leader
        assignee = tl(agent_id) if callable(tl) else tl.get(agent_id, "")
        task = CallbackTask(call_id, caller, agent_id, assignee, score, f"survey score {score}", at)
        self.tasks.append(task)
        if self.on_task is not None:
            self.on_task(task)
        return task

    async def run(self, call: CallPort, call_id: str, agent_id: str, at: float) -> SurveyResult:
        """Ask on a live call, then hang up."""
        score = None
        for _ in range(self.retries + 1):
            await call.play(self.prompt)
            d = await call.collect(1, "", self.timeout, self.timeout)
            if d and d in "12345":
                score = int(d)
                break
        self.record(call_id, agent_id, call.caller_number, score, at)
        if score is not None:
            await call.play(self.thanks)
        await call.hangup("normal")
        return self.results[-1]

    def average(self, agent_id: str | None = None) -> float | None:
        s = [
            r.score
            for r in self.results
            if r.score is not None and (agent_id is None or r.agent_id == agent_id)
        ]
        return sum(s) / len(s) if s else None
