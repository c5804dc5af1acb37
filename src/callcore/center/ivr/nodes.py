"""IVR nodes: small async steps that return the id of the next node (or ``None`` to stop).

Each node is a dataclass; the field names are the keys of the declarative
flow files. ``next``-style fields name other nodes; :meth:`Node.targets`
lists them so a flow can be checked before it runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..bank import OPERATIONS, Customer, customer_attrs
from .validators import MASKS, VALIDATORS, mask

if TYPE_CHECKING:
    from .flow import FlowContext

log = logging.getLogger("callcore.center.ivr")


class Node:
    kind: ClassVar[str] = ""
    #: fields that hold node ids
    links: ClassVar[tuple[str, ...]] = ("next",)

    async def run(self, ctx: FlowContext) -> str | None:  # pragma: no cover
        raise NotImplementedError

    def targets(self) -> list[tuple[str, str]]:
        """``(field, node_id)`` for every outgoing link."""
        out = []
        for f in self.links:
            v = getattr(self, f, None)
            if isinstance(v, str):
                out.append((f, v))
            elif isinstance(v, Mapping):
                out.extend((f"{f}.{k}", t) for k, t in v.items())
        return out

    def check(self) -> list[tuple[str, str]]:
        """Semantic problems as ``(field, reason)``."""
        return []


@dataclass(slots=True)
class Prompt(Node):
    """Play a prompt (file name or text), then go to ``next``."""

    kind: ClassVar[str] = "prompt"
    say: str
    next: str | None = None

    async def run(self, ctx: FlowContext) -> str | None:
        await ctx.call.play(ctx.render(self.say))
        return self.next


@dataclass(slots=True)
class Menu(Node):
    """Play ``prompt``, read one digit; ``options`` maps digits to nodes.

    An invalid digit plays ``invalid_prompt``, silence plays
    ``timeout_prompt``; after ``retries`` extra attempts the flow goes to
    ``on_invalid`` / ``on_timeout`` (default: the flow's fallback).
    """

    kind: ClassVar[str] = "menu"
    links: ClassVar[tuple[str, ...]] = ("options", "on_invalid", "on_timeout")
    prompt: str
    options: dict[str, str]
    retries: int = 2
    timeout: float = 5.0
    invalid_prompt: str = "Sorry, that is not a valid choice."
    timeout_prompt: str = "Sorry, we did not receive your choice."
    on_invalid: str | None = None
    on_timeout: str | None = None
    store: str | None = None

    def check(self) -> list[tuple[str, str]]:
        bad = [k for k in self.options if len(str(k)) != 1 or str(k) not in "0123456789*#"]
        out = [("options", f"menu keys must be single DTMF digits, got {bad}")] if bad else []
        if self.retries < 0:
            out.append(("retries", "must be >= 0"))
        return out

    async def run(self, ctx: FlowContext) -> str | None:
        last = "timeout"
        for _ in range(self.retries + 1):
            await ctx.call.play(ctx.render(self.prompt))
            d = await ctx.call.collect(1, "", self.timeout, self.timeout)
            if d in self.options:
                ctx.record(self.store or "menu", d, "none")
                return self.options[d]
            last = "invalid" if d else "timeout"
            await ctx.call.play(self.invalid_prompt if d else self.timeout_prompt)
        target = self.on_invalid if last == "invalid" else self.on_timeout
        return target if target is not None else ctx.fallback()


@dataclass(slots=True)
class Collect(Node):
    """Collect digits into variable ``var``, checked by ``validator`` and masked in records."""

    kind: ClassVar[str] = "collect"
    links: ClassVar[tuple[str, ...]] = ("next", "on_fail")
    prompt: str
    var: str
    validator: str = "digits"
    max_digits: int = 20
    terminator: str = "#"
    retries: int = 2
    mask: str = "none"
    first_timeout: float = 8.0
    inter_timeout: float = 4.0
    invalid_prompt: str = "Sorry, that entry is not valid."
    next: str | None = None
    on_fail: str | None = None

    def check(self) -> list[tuple[str, str]]:
        out = []
        if self.validator not in VALIDATORS:
            out.append(
                (
                    "validator",
                    f"unknown validator {self.validator!r}; use one of {sorted(VALIDATORS)}",
                )
            )
        if self.mask not in MASKS:
            out.append(("mask", f"unknown mask {self.mask!r}; use one of {list(MASKS)}"))
        if self.max_digits < 1:
            out.append(("max_digits", "must be >= 1"))
        return out

    async def run(self, ctx: FlowContext) -> str | None:
        check = VALIDATORS[self.validator]
        for _ in range(self.retries + 1):
            await ctx.call.play(ctx.render(self.prompt))
            raw = await ctx.call.collect(
                self.max_digits, self.terminator, self.first_timeout, self.inter_timeout
            )
            value = check(raw) if raw else None
            if value is not None:
                ctx.vars[self.var] = value
                ctx.record(self.var, value, self.mask)
                return self.next
            log.info("ivr %s: invalid %s input %r", ctx.call_id, self.var, mask(raw, self.mask))
            await ctx.call.play(self.invalid_prompt)
        return self.on_fail if self.on_fail is not None else ctx.fallback()


@dataclass(slots=True)
class Lookup(Node):
    """Call the bank: ``op`` with the values of ``args`` (variable names), bounded by ``timeout``.

    The result is stored in ``store``; ``branches`` maps a result to a node
    (else ``next``). A failure or timeout goes to ``on_error`` (required: the
    caller must hear a message and reach an agent, never dead air).
    ``identify`` also sets ``customer_id``, ``customer_name`` and ``tier``.
    """

    kind: ClassVar[str] = "lookup"
    links: ClassVar[tuple[str, ...]] = ("branches", "next", "on_error")
    op: str
    on_error: str
    args: list[str] = field(default_factory=list)
    store: str | None = None
    branches: dict[str, str] = field(default_factory=dict)
    next: str | None = None
    timeout: float = 3.0

    def check(self) -> list[tuple[str, str]]:
        if self.op not in OPERATIONS:
            return [("op", f"unknown bank operation {self.op!r}; use one of {list(OPERATIONS)}")]
        return []

    async def run(self, ctx: FlowContext) -> str | None:
        if ctx.bank is None:
            ctx.error = f"{self.op}: no bank integration"
            return self.on_error
        try:
            args = [
                ctx.vars[a] if a != "caller_number" else ctx.call.caller_number for a in self.args
            ]
            result: Any = await asyncio.wait_for(getattr(ctx.bank, self.op)(*args), self.timeout)
        except TimeoutError:
            ctx.error = f"{self.op}: timed out after {self.timeout} s"
            log.warning("ivr %s: bank %s", ctx.call_id, ctx.error)
            return self.on_error
        except Exception as e:  # any integration failure takes the error branch
            ctx.error = f"{self.op}: {type(e).__name__}: {e}"
            log.warning("ivr %s: bank %s", ctx.call_id, ctx.error)
            return self.on_error
        if self.op == "identify":
            ctx.vars.update(customer_attrs(result if isinstance(result, Customer) else None))
            result = "found" if result is not None else "unknown"
        if self.store:
            ctx.vars[self.store] = result
        return self.branches.get(str(result), self.next)


@dataclass(slots=True)
class Branch(Node):
    """Go to ``cases[str(vars[var])]``, else ``default``."""

    kind: ClassVar[str] = "branch"
    links: ClassVar[tuple[str, ...]] = ("cases", "default")
    var: str
    cases: dict[str, str]
    default: str | None = None

    async def run(self, ctx: FlowContext) -> str | None:
        return self.cases.get(str(ctx.vars.get(self.var, "")), self.default)


@dataclass(slots=True)
class Hours(Node):
    """Branch on a named business-hours schedule: ``open`` or ``closed``.

    Without ``closed`` the schedule's own after-hours action runs: ``message``
    (play its text, hang up), ``forward`` (to its number, e.g. an on-duty
    agent's mobile) or ``voicemail`` (record into its mailbox).
    """

    kind: ClassVar[str] = "hours"
    links: ClassVar[tuple[str, ...]] = ("open", "closed")
    schedule: str
    open: str
    closed: str | None = None

    async def run(self, ctx: FlowContext) -> str | None:
        sched = ctx.hours.get(self.schedule)
        if sched is None:
            ctx.error = f"unknown schedule {self.schedule!r}"
            return ctx.fallback()
        if sched.is_open(ctx.now()):
            return self.open
        if self.closed is not None:
            return self.closed
        act = sched.after_hours
        if act.action == "voicemail":
            return await Voicemail(act.target or self.schedule, say=act.text).run(ctx)
        if act.action == "forward":
            await ctx.call.play(act.text)
            ctx.outcome = f"number:{act.target}"
            await ctx.call.transfer_to_number(act.target)
            return None
        return await Hangup(say=act.text, cause="closed").run(ctx)


@dataclass(slots=True)
class Transfer(Node):
    """Hand the call to a queue, an agent or a number; the flow ends here.

    ``vip_priority`` maps the customer tier to a queue priority.
    """

    kind: ClassVar[str] = "transfer"
    links: ClassVar[tuple[str, ...]] = ()
    queue: str | None = None
    agent: str | None = None
    number: str | None = None
    say: str | None = None
    priority: int = 0
    vip_priority: dict[str, int] = field(default_factory=dict)
    product: str | None = None

    def check(self) -> list[tuple[str, str]]:
        n = sum(x is not None for x in (self.queue, self.agent, self.number))
        return [] if n == 1 else [("queue", "give exactly one of queue, agent, number")]

    async def run(self, ctx: FlowContext) -> str | None:
        if self.say:
            await ctx.call.play(ctx.render(self.say))
        if self.product:
            ctx.vars["product"] = self.product
        if self.queue is not None:
            prio = self.vip_priority.get(str(ctx.vars.get("tier", "")), self.priority)
            ctx.outcome = f"queue:{self.queue}"
            await ctx.call.transfer_to_queue(self.queue, priority=prio, attrs=ctx.screen_attrs())
        elif self.agent is not None:
            ctx.outcome = f"agent:{self.agent}"
            await ctx.call.transfer_to_agent(self.agent)
        else:
            ctx.outcome = f"number:{self.number}"
            await ctx.call.transfer_to_number(str(self.number))
        return None


@dataclass(slots=True)
class Voicemail(Node):
    """Record a message after a beep into ``mailbox`` and store it; then ``next`` (default hang up)."""

    kind: ClassVar[str] = "voicemail"
    mailbox: str
    say: str | None = "Please leave a message after the tone."
    max_length: float = 120.0
    next: str | None = None

    async def run(self, ctx: FlowContext) -> str | None:
        if self.say:
            await ctx.call.play(ctx.render(self.say))
        path = await ctx.call.record_voicemail(self.mailbox, max_length=self.max_length, beep=True)
        ctx.outcome = f"voicemail:{self.mailbox}"
        if path and ctx.voicemail is not None:
            # the SQLite write runs in a thread: never block the event loop
            ctx.vars["voicemail_id"] = await asyncio.to_thread(
                ctx.voicemail.add,
                self.mailbox,
                ctx.call.caller_number,
                path,
                ctx.now(),
                meta=ctx.screen_attrs(),
            )
        return self.next


@dataclass(slots=True)
class Hangup(Node):
    """Optionally say goodbye, then hang up."""

    kind: ClassVar[str] = "hangup"
    links: ClassVar[tuple[str, ...]] = ()
    say: str | None = None
    cause: str = "normal"

    async def run(self, ctx: FlowContext) -> str | None:
        if self.say:
            await ctx.call.play(ctx.render(self.say))
        ctx.outcome = ctx.outcome or f"hangup:{self.cause}"
        await ctx.call.hangup(self.cause)
        return None


NODE_TYPES: dict[str, type[Node]] = {
    cls.kind: cls
    for cls in (Prompt, Menu, Collect, Lookup, Branch, Hours, Transfer, Voicemail, Hangup)
}
