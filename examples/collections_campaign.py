"""A bank's collections floor on live SIP: pre-due reminders, then agent calls by stage.

The day's work comes from a CSV export of the card system (one row per
delinquent or soon-due account: number, customer, debt, due date, amount). It
is imported with per-line error reporting, then split by delinquency stage
(:class:`~callcore.outbound.collections.CollectionsStrategy`):

* **before the due date** — an agentless voice reminder ("your payment of
  {amount} is due on {due_date}"), answering machines get the message after
  the beep, and an SMS goes out through the SMS hook;
* **on the due date and after** — agent calls, highest priority first
  (days past due × amount), dialed predictively by callcore's abandon-budget
  policy (the one the pacing lab measured) for the agents of the
  ``collections-out`` queue, who also take inbound collections calls.

Every attempt passes the compliance gate first: the do-not-call list,
calling windows in the debtor's local time (08:00–21:00, no collection calls
22:00–08:00), at most 6 attempts a day and 7 in 7 days per debt, no redial
within 72 hours after an abandoned call; every refusal lands in the audit trail.

``callcore demo`` runs this beside the inbound hotline against simulated
debtors (:class:`~callcore.outbound.simcallees.SimulatedCallees`) and the
simulated agents. To run it yourself, build a :class:`CenterRuntime` with
agents in a queue made by :func:`callcore.outbound.dialer.campaign_queue`,
then ``floor = build_collections(runtime, "accounts.csv", today=...)`` and
``await run_collections(floor)``.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callcore.center.runtime import CenterRuntime
from callcore.outbound.audit import AuditTrail
from callcore.outbound.broadcast import VoiceBroadcast
from callcore.outbound.campaign import Campaign
from callcore.outbound.collections import (
    CollectionsStrategy,
    Plan,
    RecordingSmsHook,
    send_reminder_sms,
)
from callcore.outbound.compliance import DialGate
from callcore.outbound.dialer import Dialer
from callcore.outbound.lists import ImportReport, import_csv
from callcore.outbound.records import ContactPool
from callcore.outbound.simcallees import SimulatedCallees
from callcore.pacing import AbandonBudget, ComplianceRules, HandleTimeModel

AGENT_QUEUE = "collections-out"
BANK_NUMBER = "95588"
REMINDER = (
    "This is a reminder from your bank. Your card payment of {amount} yuan "
    "is due on {due_date}. Thank you."
)
MACHINE_MESSAGE = "This is your bank. Please call us back on 95588 about your card account."


@dataclass
class CollectionsFloor:
    """The two campaigns of a collections day and what they share."""

    plan: Plan
    imported: ImportReport
    reminders: Dialer
    agents: Dialer
    gate: DialGate
    sms: RecordingSmsHook
    notes: list[str] = field(default_factory=list)


def _accounts(report: ImportReport, today: dt.date) -> list[dict[str, Any]]:
    out = []
    for rec in report.records:
        f = rec.fields
        out.append(
            {
                "customer_id": rec.customer_id,
                "number": rec.number,
                "amount": float(f.get("amount") or 0),
                "due_date": dt.date.fromisoformat(f["due_date"]),
                "record": rec,
            }
        )
    return out


def _valid_date(value: str) -> None:
    dt.date.fromisoformat(value)


def build_collections(
    center: CenterRuntime,
    csv_path: str | Path,
    *,
    today: dt.date,
    uri_for: Callable[[Any], str] | None = None,
    dial_uri: str = "sip:{number}@127.0.0.1",
    gate: DialGate | None = None,
    rules: ComplianceRules | None = None,
    talk_samples: tuple[float, ...] = (60.0, 120.0, 180.0, 300.0),
    wall_clock: Callable[[], float] | None = None,
    time_of_day: Callable[[], float] | None = None,
    ring_timeout: float = 25.0,
    truth: Callable[[Any], str | None] | None = None,
) -> CollectionsFloor:
    """Import the accounts, plan the day and build both dialers on ``center``
    (whose ACD must have the ``collections-out`` queue with its agents)."""
    imported = import_csv(
        csv_path,
        required=("due_date", "amount"),
        validators={"due_date": _valid_date, "amount": float},
    )
    strategy = CollectionsStrategy()
    plan = strategy.plan(_accounts(imported, today), today)
    rules = rules or ComplianceRules()
    gate = gate or DialGate(audit=AuditTrail())
    sms = RecordingSmsHook()
    clock = {"wall_clock": wall_clock} if wall_clock is not None else {}
    common: dict[str, Any] = {"gate": gate, "uri_for": uri_for, "truth": truth, **clock}
    if time_of_day is not None:
        common["time_of_day"] = time_of_day

    reminder_pool = ContactPool()
    reminder_pool.add(c.account["record"] for c in plan.reminders)
    reminders = Dialer(
        center,
        Campaign(
            "pre-due-reminders",
            mode="agentless",
            purpose="reminder",
            caller_id=BANK_NUMBER,
            dial_uri=dial_uri,
            ring_timeout=ring_timeout,
            machine_action="message",
            machine_message=MACHINE_MESSAGE,
            max_lines=10,
            rules=rules,
        ),
        reminder_pool,
        flow=VoiceBroadcast(REMINDER),
        **common,
    )
    priority = {c.account["record"].record_id: c.priority for c in plan.agent}
    agent_pool = ContactPool(priority=lambda rec, st: priority.get(rec.record_id, 0.0))
    agent_pool.add(c.account["record"] for c in plan.agent)
    handle = HandleTimeModel(list(talk_samples), [3.0])
    agents = Dialer(
        center,
        Campaign(
            "collections-agents",
            queue=AGENT_QUEUE,
            purpose="collections",
            caller_id=BANK_NUMBER,
            dial_uri=dial_uri,
            ring_timeout=ring_timeout,
            rules=rules,
            max_lines=20,
        ),
        agent_pool,
        policy=AbandonBudget(
            handle, cap=rules.abandon_cap, route_delays=(3.0,), resolve_time=ring_timeout
        ),
        **common,
    )
    floor = CollectionsFloor(plan, imported, reminders, agents, gate, sms)
    for err in imported.errors:
        floor.notes.append(f"list: {err}")
    return floor


async def run_collections(floor: CollectionsFloor, *, max_seconds: float | None = None) -> dict:
    """Send the reminder SMSs, then run both campaigns side by side until done."""
    await send_reminder_sms(floor.plan, floor.sms, lambda call: REMINDER.format(**_fields(call)))
    reminders, agents = await asyncio.gather(
        floor.reminders.run(max_seconds=max_seconds),
        floor.agents.run(max_seconds=max_seconds),
    )
    return {"reminders": reminders, "agents": agents, "sms": len(floor.sms.sent)}


def _fields(call) -> dict[str, Any]:
    rec = call.account["record"]
    return {"amount": rec.fields.get("amount", ""), "due_date": rec.fields.get("due_date", "")}


# ------------------------------------------------------------------ sample data
MIX = {"human": 0.45, "machine": 0.2, "fax": 0.03, "busy": 0.1, "no_answer": 0.12,
       "invalid": 0.06, "rejected": 0.04}  # fmt: skip


def write_sample_accounts(path: str | Path, n: int, *, today: dt.date, seed: int = 7) -> Path:
    """A CSV of ``n`` accounts whose numbers reach :class:`SimulatedCallees` with the
    behaviours of :data:`MIX`, due dates from 3 days ahead to 90 days past, and
    two deliberately bad rows (a malformed number, a bad date) to show the report."""
    rng = random.Random(seed)
    kinds, weights = zip(*MIX.items(), strict=True)
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "number", "customer_id", "debt_id", "name", "due_date", "amount"])
        for i in range(n):
            kind = rng.choices(kinds, weights)[0]
            due = today + dt.timedelta(days=rng.choice([3, 2, 1, 0, -5, -20, -45, -90]))
            w.writerow([f"acc{i:04d}", SimulatedCallees.number(kind, i), f"cust{i:04d}",
                        f"debt{i:04d}", f"Customer {i}", due.isoformat(),
                        f"{rng.uniform(500, 50000):.2f}"])  # fmt: skip
        w.writerow(["bad1", "12345", "custX", "debtX", "Typo", today.isoformat(), "100"])
        w.writerow(["bad2", SimulatedCallees.number("human", 99_999), "custY", "debtY", "Bad date",
                    "2026-13-45", "100"])  # fmt: skip
    return path
