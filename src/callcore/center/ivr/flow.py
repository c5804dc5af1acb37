"""Flows (named nodes plus a start) and the async runner that walks them on a call."""

from __future__ import annotations

import logging
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .nodes import Node
from .port import CallPort
from .validators import mask

log = logging.getLogger("callcore.center.ivr")


class FlowError(Exception):
    """A flow is inconsistent (unknown node ids, bad settings)."""


@dataclass(slots=True)
class Flow:
    """A call flow. ``fallback_queue`` is where any error ends: the caller hears
    ``error_prompt`` and reaches an agent."""

    name: str
    start: str
    nodes: dict[str, Node]
    fallback_queue: str
    error_prompt: str = (
        "Sorry, we cannot complete your request right now. Connecting you to an agent."
    )
    max_steps: int = 200

    def problems(self) -> list[tuple[str | None, str | None, str]]:
        """``(node_id, field, reason)`` for every semantic problem."""
        out: list[tuple[str | None, str | None, str]] = []
        if self.start not in self.nodes:
            out.append((None, "start", f"start node {self.start!r} is not defined"))
        for nid, node in self.nodes.items():
            for f, reason in node.check():
                out.append((nid, f, reason))
            for f, target in node.targets():
                if target not in self.nodes:
                    out.append((nid, f, f"links to undefined node {target!r}"))
        return out

    def validate(self) -> Flow:
        p = self.problems()
        if p:
            raise FlowError("; ".join(f"{n or '<flow>'}.{f}: {r}" for n, f, r in p))
        return self


@dataclass(slots=True)
class FlowResult:
    path: list[str]
    inputs: dict[str, str]  # masked
    vars: dict[str, Any]
    outcome: str
    error: str | None


class _Vars(string.Formatter):
    def get_value(self, key, args, kwargs):  # type: ignore[override]
        return kwargs.get(key, "")


_FMT = _Vars()


@dataclass(slots=True)
class FlowContext:
    call: CallPort
    flow: Flow
    bank: Any = None
    hours: Mapping[str, Any] = field(default_factory=dict)
    voicemail: Any = None
    clock: Callable[[], float] = time.time
    vars: dict[str, Any] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    outcome: str = ""
    error: str | None = None
    _fell_back: bool = False

    @property
    def call_id(self) -> str:
        return str(self.call.attributes.get("call_id", self.call.caller_number))

    def now(self) -> float:
        return self.clock()

    def render(self, text: str) -> str:
        """Fill ``{var}`` placeholders from the flow variables (missing → empty)."""
        return _FMT.format(text, **self.vars) if "{" in text else text

    def record(self, name: str, value: str, how: str) -> None:
        masked = mask(value, how)
        self.inputs[name] = masked
        log.info("ivr %s: %s=%s", self.call_id, name, masked)

    def fallback(self) -> str | None:
        self._fell_back = True
        return None

    def screen_attrs(self) -> dict[str, Any]:
        """What the agent's screen pop needs: path, masked inputs, customer, product."""
        return {
            "ivr_path": list(self.path),
            "ivr_inputs": dict(self.inputs),
            "customer_id": self.vars.get("customer_id", ""),
            "customer_name": self.vars.get("customer_name", ""),
            "tier": self.vars.get("tier", ""),
            "product": self.vars.get("product", ""),
        }


class FlowRunner:
    """Runs a :class:`Flow` on calls. ``bank`` is a :class:`~callcore.center.bank.BankSystem`,
    ``hours`` maps schedule names to :class:`~callcore.center.hours.BusinessHours`,
    ``voicemail`` is a :class:`~callcore.center.voicemail.VoicemailStore`."""

    def __init__(
        self,
        flow: Flow,
        *,
        bank: Any = None,
        hours: Mapping[str, Any] | None = None,
        voicemail: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.flow = flow.validate()
        self.bank = bank
        self.hours = dict(hours or {})
        self.voicemail = voicemail
        self.clock = clock

    async def run(self, call: CallPort, *, answer: bool = True) -> FlowResult:
        ctx = FlowContext(call, self.flow, self.bank, self.hours, self.voicemail, self.clock)
        ctx.vars.update(call.attributes.get("vars", {}))
        if answer:
            await call.answer()
        cur: str | None = self.flow.start
        steps = 0
        try:
            while cur is not None:
                steps += 1
                if steps > self.flow.max_steps:
                    ctx.error = f"more than {self.flow.max_steps} steps (loop?)"
                    ctx._fell_back = True
                    break
                ctx.path.append(cur)
                cur = await self.flow.nodes[cur].run(ctx)
        except Exception as e:  # a broken node must not leave the caller in silence
            log.exception("ivr %s: node %s failed", ctx.call_id, ctx.path[-1] if ctx.path else "?")
            ctx.error = f"{type(e).__name__}: {e}"
            ctx._fell_back = True
        if ctx._fell_back or (ctx.error and not ctx.outcome) or not ctx.outcome:
            if ctx._fell_back or ctx.error:
                await self._fallback(ctx)
            else:
                ctx.outcome = "hangup:end"
                await call.hangup("normal")
        return FlowResult(ctx.path, ctx.inputs, ctx.vars, ctx.outcome, ctx.error)

    async def _fallback(self, ctx: FlowContext) -> None:
        await ctx.call.play(self.flow.error_prompt)
        ctx.outcome = f"queue:{self.flow.fallback_queue}"
        await ctx.call.transfer_to_queue(
            self.flow.fallback_queue, priority=0, attrs=ctx.screen_attrs()
        )
