"""Agent-first calls on real SIP: click-to-dial, preview mode and two-leg callbacks.
The agent's phone rings first and shows the customer's number; the customer sees the
company number; the legs are bridged with media anchored in callcore."""

from __future__ import annotations

import asyncio

import pytest
from outbound_helpers import WALL, Center, crowd, records

from callcore.center.agents import AgentStatus
from callcore.outbound.audit import AuditTrail
from callcore.outbound.campaign import Campaign
from callcore.outbound.compliance import DialGate
from callcore.outbound.dialer import Dialer
from callcore.outbound.records import ContactPool
from callcore.outbound.simcallees import CalleeBehaviour, SimulatedCallees
from callcore.outbound.two_leg import two_leg_call
from callcore.pacing import ComplianceRules

pytestmark = pytest.mark.peer

RULES = ComplianceRules(min_ring=4.0)


async def _setup(mode="preview"):
    callees = SimulatedCallees(behaviour=CalleeBehaviour(ring=(0.3, 0.6)))
    await callees.start()
    campaign = Campaign("telesales", queue="sales-out", mode=mode, purpose="service",
                        caller_id="95588", dial_uri=callees.uri_template(), ring_timeout=5.0,
                        rules=RULES)  # fmt: skip
    center = Center(campaign, ["8001"])
    await center.start()
    agents = crowd(center, talk=(3.0, 3.0))  # agents wait for the customer, then talk
    await agents.start()
    return callees, campaign, center, agents


async def _teardown(callees, center, agents):
    await agents.stop()
    await center.stop()
    await callees.stop()


def test_click_to_dial_rings_the_agent_first_then_bridges_the_customer(arun):
    async def main():
        callees, campaign, center, agents = await _setup()
        gate = DialGate(audit=AuditTrail())
        dialer = Dialer(center.runtime, campaign, ContactPool(), gate=gate,
                        wall_clock=lambda: WALL, time_of_day=lambda: 36000.0)  # fmt: skip
        number = SimulatedCallees.number("human", 7)
        try:
            att = await asyncio.wait_for(dialer.click_to_dial("agent8001", number), 30)
            status_after = center.acd.pool.get("agent8001").status
        finally:
            await _teardown(callees, center, agents)
        return att, callees, agents, number, status_after

    att, callees, agents, number, status_after = arun(main())
    assert att.agent_id == "agent8001" and att.result == "answered"
    shown, pai = callees.log.shown[number.lstrip("+")]
    assert shown == "95588" and pai == "tel:95588"  # the customer sees the company number
    assert agents.log["8001"].answered == 1
    assert status_after is AgentStatus.AVAILABLE  # back to taking calls afterwards


def test_click_to_dial_respects_the_do_not_call_list(arun):
    async def main():
        callees, campaign, center, agents = await _setup()
        gate = DialGate(audit=AuditTrail())
        number = SimulatedCallees.number("human", 8)
        gate.dnc.add(number, now=WALL - 1, source="complaint")
        dialer = Dialer(center.runtime, campaign, ContactPool(), gate=gate,
                        wall_clock=lambda: WALL, time_of_day=lambda: 36000.0)  # fmt: skip
        try:
            att = await dialer.click_to_dial("agent8001", number)
        finally:
            await _teardown(callees, center, agents)
        return att, agents, gate, number

    att, agents, gate, number = arun(main())
    assert att.result == "refused:dnc"
    assert agents.log["8001"].offered == 0  # the agent's phone never rang
    assert [e.rule for e in gate.audit.query(number=number)] == ["dnc"]


def test_preview_then_dial_or_skip(arun):
    async def main():
        callees, campaign, center, agents = await _setup()
        pool = ContactPool()
        nums = [SimulatedCallees.number("human", 1), SimulatedCallees.number("busy", 2)]
        pool.add(records(nums, product="platinum card"))
        dialer = Dialer(center.runtime, campaign, pool, wall_clock=lambda: WALL,
                        time_of_day=lambda: 36000.0)  # fmt: skip
        assert dialer.decide() == 0  # preview: the dialer never dials by itself
        try:
            first = dialer.preview("agent8001")
            assert first.fields["product"] == "platinum card"  # what the agent reads
            dialer.skip(first, until=WALL + 600)
            second = dialer.preview("agent8001")
            busy = await asyncio.wait_for(dialer.dial_preview("agent8001", second), 30)
            again = dialer.preview("agent8001")  # the skipped one is not due yet
        finally:
            await _teardown(callees, center, agents)
        return first, second, busy, again, pool

    first, second, busy, again, pool = arun(main())
    assert first.number != second.number
    assert busy.outcome == "busy" and busy.agent_id is None
    assert again is None
    assert pool.state(second.record_id).last_outcome == "busy"


def test_two_leg_call_tells_the_agent_when_the_customer_is_busy(arun):
    async def main():
        callees, _, center, agents = await _setup()
        try:
            res = await asyncio.wait_for(
                two_leg_call(
                    center.endpoint,
                    f"sip:8001@127.0.0.1:{center.port}",
                    f"sip:{SimulatedCallees.number('busy', 3).lstrip('+')}@127.0.0.1:"
                    f"{callees.port}",
                    company_number="95588",
                    customer_timeout=5.0,
                ),
                30,
            )
        finally:
            await _teardown(callees, center, agents)
        return res

    res = arun(main())
    assert res.outcome == "busy" and not res.bridged and res.customer_status == 486
    assert res.agent is not None and res.agent.ended  # the agent leg was released
