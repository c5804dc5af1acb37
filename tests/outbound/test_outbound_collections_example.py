"""examples/collections_campaign.py on live SIP: the CSV import reports bad lines and
keeps the rest, pre-due accounts get agentless reminders (machines a message after the
beep, an SMS each), due and past-due accounts get predictive agent calls through the
blended ``collections-out`` queue, agents only ever talk to humans."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest

from callcore.center.crowd import AgentBehaviour, CrowdAgents
from callcore.center.demo_bank import load_example as load_hotline
from callcore.center.live import BeepPrompts
from callcore.outbound.demo_collections import (
    BEIJING,
    load_example,
    pinned_clock,
    run_collections_alongside,
)
from callcore.outbound.simcallees import SimulatedCallees
from callcore.pacing import ComplianceRules

pytestmark = [pytest.mark.peer, pytest.mark.slow]


def test_sample_list_import_reports_bad_lines_and_keeps_the_rest(tmp_path):
    ex = load_example()
    today = dt.date(2026, 12, 1)
    path = ex.write_sample_accounts(tmp_path / "acc.csv", 30, today=today)
    report = ex.import_csv(path, required=("due_date", "amount"),
                           validators={"due_date": ex._valid_date, "amount": float})  # fmt: skip
    assert len(report.records) == 30
    lines = sorted(e.line for e in report.errors)
    assert lines == [32, 33]  # header is line 1: the two bad rows after 30 good ones
    plan = ex.CollectionsStrategy().plan(ex._accounts(report, today), today)
    assert all(c.days_past_due < 0 for c in plan.reminders)
    assert all(c.days_past_due >= 0 for c in plan.agent)
    prios = [c.priority for c in plan.agent]
    assert prios == sorted(prios, reverse=True)


# one event loop: ~30 s of real calls (the dialer runs on both loops in test_outbound_dialer)
@pytest.mark.parametrize("loop_factory", ["uvloop"], indirect=True)
def test_collections_campaign_runs_beside_the_hotline(tmp_path, arun):
    hotline = load_hotline()

    async def main():
        specs = [hotline.AgentSpec(f"agent{i + 1}", str(8201 + i), queues=("collections",))
                 for i in range(4)]  # fmt: skip
        center = hotline.build_bank_hotline(agents=specs, prompts=BeepPrompts(0.05),
                                            recordings_dir=tmp_path, wrap_up=0.5)  # fmt: skip
        await center.start(["udp:127.0.0.1:0"])
        crowd = CrowdAgents(("127.0.0.1", center.port), [(s.extension, s.password) for s in specs],
                            behaviour=AgentBehaviour(answer_delay=(0.05, 0.2),
                                                     talk_time=(1.0, 2.5)),
                            rng=random.Random(4))  # fmt: skip
        await crowd.start()
        lines: list[str] = []
        try:
            run = run_collections_alongside(
                center, lines.append, accounts=24, seconds=25.0, ring_timeout=15.0
            )
            result = await asyncio.wait_for(run, 120)
        finally:
            await crowd.stop()
            await center.stop()
        return result, lines, crowd

    result, lines, crowd = arun(main())
    rem, ag = result["reminders"], result["agents"]
    assert any("2 rejected" in line for line in lines), lines
    assert any("line 26" in line or "line 27" in line for line in lines), lines
    assert rem["dials"] > 0 and ag["dials"] > 0
    assert result["sms"] > 0
    assert rem.get("outcome_human", 0) + rem.get("outcome_machine", 0) > 0
    # agents only ever talk to humans, never two calls at once
    assert ag["connected"] <= ag["live"]
    assert all(log.max_active <= 1 for log in crowd.log.values())
    assert ag.get("amd_accuracy", 1.0) >= 0.9
    assert ag["abandon_rate"] <= 0.5


def test_pinned_clock_reads_ten_in_beijing():
    at = dt.datetime(2026, 12, 1, 10, 0, tzinfo=BEIJING)
    wall = pinned_clock(at)
    assert abs(wall() - at.timestamp()) < 1.0
    assert ComplianceRules().may_call(10 * 3600)
    assert SimulatedCallees.behaviour_of(SimulatedCallees.number("fax", 3)) == "fax"
