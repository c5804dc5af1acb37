"""The outbound half of ``callcore demo``: the collections example beside the hotline.

It runs ``examples/collections_campaign.py`` inside the bank hotline's contact
center while the simulated callers call in: half of the simulated agents also
sit in the ``collections-out`` queue (blended: the ACD never offers them two
calls), the debtors are :class:`~callcore.outbound.simcallees.SimulatedCallees`
(humans, answering machines, fax, busy, no answer, invalid and rejected
numbers), and the wall clock is pinned to 10:00 in Beijing so calling-hour
rules let the demo dial whatever the real time is.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from callcore.center.demo_bank import load_example as load_module
from callcore.pacing import ComplianceRules

from .dialer import campaign_queue
from .simcallees import CalleeBehaviour, SimulatedCallees

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "collections_campaign.py"
BEIJING = ZoneInfo("Asia/Shanghai")


def load_example(path: Path = EXAMPLE) -> ModuleType:
    """Import ``examples/collections_campaign.py``."""
    return load_module(path, "collections_campaign")


def pinned_clock(at: dt.datetime) -> Callable[[], float]:
    """A wall clock that starts at ``at`` and runs at real speed."""
    base, t0 = at.timestamp(), time.monotonic()
    return lambda: base + (time.monotonic() - t0)


async def run_collections_alongside(
    center: Any,
    echo: Callable[[str], None] = print,
    *,
    accounts: int = 60,
    seconds: float = 30.0,
    ring_timeout: float = 15.0,
) -> dict:
    """Run the collections example in ``center`` (a bank hotline) for ``seconds``."""
    ex = load_example()
    campaign_agents = [a for i, a in enumerate(center.acd.pool) if i % 2 == 1]
    rules = ComplianceRules()
    queue = campaign_queue(
        ex.Campaign("collections-agents", queue=ex.AGENT_QUEUE, rules=rules), wrap_up=1.0
    )
    center.acd.add_queue(queue)
    for a in campaign_agents:
        center.acd.add_member(ex.AGENT_QUEUE, a.id)
    now = dt.datetime.now(BEIJING)
    ten = now.replace(hour=10, minute=0, second=0, microsecond=0)
    wall = pinned_clock(ten)
    callees = SimulatedCallees(behaviour=CalleeBehaviour(ring=(1.0, 5.0), patience=12.0))
    await callees.start()
    with tempfile.TemporaryDirectory(prefix="callcore-collections-") as tmp:
        csv_path = ex.write_sample_accounts(Path(tmp) / "accounts.csv", accounts, today=ten.date())
        floor = ex.build_collections(
            center.runtime,
            csv_path,
            today=ten.date(),
            dial_uri=callees.uri_template(),
            wall_clock=wall,
            ring_timeout=ring_timeout,
            rules=rules,
            talk_samples=(2.0, 3.0, 4.0, 5.0, 6.0),  # the simulated agents talk 2-6 s
            truth=lambda rec: SimulatedCallees.behaviour_of(rec.number),
        )
        echo(
            f"collections: {floor.imported.summary()}; {len(floor.plan.reminders)} pre-due "
            f"reminders, {len(floor.plan.agent)} agent calls for "
            f"{len(campaign_agents)} blended agents (queue {ex.AGENT_QUEUE})"
        )
        for note in floor.notes:
            echo(f"collections: {note}")
        try:
            result = await ex.run_collections(floor, max_seconds=seconds)
        finally:
            await callees.stop()
    rem, ag = result["reminders"], result["agents"]
    echo(
        f"collections reminders: {rem['dials']} dials, {rem.get('outcome_human', 0)} heard "
        f"live, {rem.get('outcome_machine', 0)} machines (message left), {result['sms']} SMS"
    )
    echo(
        f"collections agent calls: {ag['dials']} dials, {ag['live']} live answers, "
        f"{ag['connected']} connected to agents, {ag['abandons']} abandoned "
        f"({ag['abandon_rate']:.1%}), AMD accuracy {ag.get('amd_accuracy', 0):.0%}, "
        f"{ag['refused_by_gate']} held back by the compliance gate"
    )
    return result
