"""The live dialer on real SIP (loopback): simulated callees of every kind, simulated
agents that register and answer, the ACD in between, the compliance gate in front."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from outbound_helpers import FAST_RULES, WALL, Center, records, scene

from callcore.center.events import CallAnswered
from callcore.outbound.audit import AuditTrail
from callcore.outbound.campaign import Campaign, CampaignError
from callcore.outbound.compliance import DialGate
from callcore.outbound.dialer import Dialer, DialerError
from callcore.outbound.records import ContactPool
from callcore.outbound.simcallees import SimulatedCallees
from callcore.pacing import Progressive

pytestmark = pytest.mark.peer


def test_every_kind_of_callee_is_classified_and_only_humans_reach_agents(arun):
    mix = {"human": 4, "machine": 2, "fax": 1, "busy": 2, "no_answer": 1, "invalid": 1,
           "rejected": 1}  # fmt: skip
    numbers = [SimulatedCallees.number(k, i) for k, n in mix.items() for i in range(n)]

    async def main():
        async with scene(["8001", "8002"]) as sc:
            pool = ContactPool()
            pool.add(records(numbers))
            dialer = Dialer(sc.center.runtime, sc.campaign, pool, policy=Progressive(1.5),
                            wall_clock=lambda: WALL, time_of_day=lambda: 10 * 3600.0,
                            truth=lambda r: SimulatedCallees.behaviour_of(r.number))  # fmt: skip
            summary = await asyncio.wait_for(dialer.run(), 120)
        return dialer, summary, sc.agents, pool

    dialer, summary, agents, pool = arun(main())
    want = {"human": "human", "machine": "machine", "fax": "fax", "busy": "busy",
            "no_answer": "no_answer", "invalid": "invalid_number", "rejected": "rejected"}  # fmt: skip
    got = Counter()
    for att in dialer.attempts:
        kind = SimulatedCallees.behaviour_of(att.number)
        got[(kind, att.outcome)] += 1
        assert att.outcome == want[kind], (kind, att)
        if att.agent_id is not None:
            assert kind == "human", f"an agent was connected to a {kind}: {att}"
    assert len(dialer.attempts) == len(numbers)  # each record once: no retry is due yet
    connected = [a for a in dialer.attempts if a.agent_id is not None]
    abandoned = [a for a in dialer.attempts if a.abandoned]
    assert len(connected) + len(abandoned) == mix["human"]
    assert all(log.max_active <= 1 for log in agents.log.values())  # never two calls at once
    assert summary["live"] == mix["human"] and summary["dials"] == len(numbers)
    assert summary["amd_accuracy"] == 1.0
    assert summary["answers"] == mix["human"] + mix["machine"] + mix["fax"]
    # every connected human is a completed record; the others wait for their retry
    st = pool.stats(WALL)
    assert st.dialing == 0 and st.attempts == len(numbers)


def test_a_human_no_agent_can_take_hears_the_compliance_message_and_counts_abandoned(arun):
    """Two humans answer at once, one agent: the second waits past the 2 s window."""

    async def main():
        async with scene(talk=(6.0, 6.0), max_lines=2) as sc:
            pool = ContactPool()
            pool.add(records([SimulatedCallees.number("human", i) for i in range(2)]))
            gate = DialGate(audit=AuditTrail())
            dialer = Dialer(sc.center.runtime, sc.campaign, pool, policy=Progressive(2.0),
                            gate=gate, wall_clock=lambda: WALL,
                            time_of_day=lambda: 10 * 3600.0)  # fmt: skip
            heard: list[str] = []
            sc.center.runtime.prompts.render = _spy(sc.center.runtime.prompts.render, heard)
            summary = await asyncio.wait_for(dialer.run(), 90)
        return dialer, summary, heard, gate, pool

    dialer, summary, heard, gate, pool = arun(main())
    abandoned = [a for a in dialer.attempts if a.abandoned]
    connected = [a for a in dialer.attempts if a.agent_id is not None]
    assert len(connected) == 1 and len(abandoned) == 1
    assert summary["abandons"] == 1 and summary["abandon_rate"] == 0.5
    assert any("call us back on 95588" in text for text in heard)
    # the abandoned number may not be called again for 72 hours (Ofcom)
    number = abandoned[0].number
    later = gate.evaluate(number, now=WALL + 3600, purpose="collections")
    assert not later.allowed and later.rule == "abandon_72h"
    assert pool.state(abandoned[0].record_id).disposition == "abandoned"


def test_gate_refusals_are_never_dialed_and_are_audited(arun):
    async def main():
        blocked = SimulatedCallees.number("human", 1)
        ok = SimulatedCallees.number("busy", 2)
        gate = DialGate(audit=AuditTrail())
        gate.dnc.add(blocked, now=WALL - 10, source="customer request")
        async with scene() as sc:
            pool = ContactPool()
            pool.add(records([blocked, ok]))
            dialer = Dialer(sc.center.runtime, sc.campaign, pool, gate=gate,
                            wall_clock=lambda: WALL, time_of_day=lambda: 10 * 3600.0)  # fmt: skip
            await asyncio.wait_for(dialer.run(), 60)
        return dialer, gate, blocked, ok, sc.callees

    dialer, gate, blocked, ok, callees = arun(main())
    assert [a.number for a in dialer.attempts] == [ok]
    assert blocked.lstrip("+") not in callees.log.by_number  # never reached the far end
    rows = gate.audit.query(number=blocked)
    assert len(rows) == 1 and rows[0].rule == "dnc" and rows[0].campaign == "cards-collect"
    assert dialer.refusals == 1


def test_outside_calling_hours_nothing_is_dialed(arun):
    async def main():
        async with scene(["8001", "8002"]) as sc:
            await _agents_ready(sc.center, 2)
            pool = ContactPool()
            pool.add(records([SimulatedCallees.number("busy", i) for i in range(4)]))
            clock = {"tod": 22 * 3600.0}
            dialer = Dialer(sc.center.runtime, sc.campaign, pool, policy=Progressive(1.0),
                            wall_clock=lambda: WALL, time_of_day=lambda: clock["tod"])  # fmt: skip
            at_night = [dialer.decide() for _ in range(4)]
            clock["tod"] = 10 * 3600.0  # the control: the same dialer in the morning
            morning = dialer.decide()
            await dialer.drain()
        return at_night, morning

    at_night, morning = arun(main())
    assert at_night == [0, 0, 0, 0]
    assert morning == 2  # one per idle agent


def test_campaign_settings_are_validated():
    with pytest.raises(CampaignError, match="minimum ring"):
        Campaign("c", queue="q", ring_timeout=10)  # default min ring is 15 s
    with pytest.raises(CampaignError, match="queue"):
        Campaign("c", mode="predictive")
    with pytest.raises(CampaignError, match="machine_message"):
        Campaign("c", queue="q", machine_action="message")
    Campaign("c", mode="agentless")  # needs no queue


def test_dialer_refuses_a_campaign_whose_queue_is_missing(arun):
    async def main():
        campaign = Campaign("c", queue="outbound", rules=FAST_RULES, ring_timeout=4.0)
        center = Center(campaign, [])
        other = Campaign("other", queue="nowhere")
        with pytest.raises(DialerError, match="nowhere"):
            Dialer(center.runtime, other, ContactPool())
        with pytest.raises(DialerError, match="flow"):
            Dialer(center.runtime, Campaign("b", mode="agentless"), ContactPool())

    arun(main())


def _spy(render, heard: list[str]):
    async def wrapped(text: str) -> bytes:
        heard.append(text)
        return await render(text)

    return wrapped


def test_agent_disposition_books_an_owned_callback(arun):
    async def main():
        async with scene(talk=(1.5, 1.5)) as sc:
            pool = ContactPool()
            recs = records([SimulatedCallees.number("human", 1)])
            pool.add(recs)
            gate = DialGate(audit=AuditTrail())
            dialer = Dialer(sc.center.runtime, sc.campaign, pool, gate=gate,
                            disposition_wait=5.0, wall_clock=lambda: WALL,
                            time_of_day=lambda: 10 * 3600.0)  # fmt: skip
            await _with_disposition(sc, dialer, recs)
        return pool, gate, recs[0]

    pool, gate, rec = arun(main())
    _check_callback(pool, gate, rec)


async def _with_disposition(sc, dialer, recs):
    """The agent's desktop sends the wrap-up code once the call is connected."""

    def desktop(ev) -> None:
        if isinstance(ev, CallAnswered):
            dialer.dispose(recs[0].record_id, "callback", callback_at=WALL + 7200,
                           agent_id="agent8001")  # fmt: skip

    sc.center.acd.subscribe(desktop)
    await asyncio.wait_for(dialer.run(), 60)


async def _agents_ready(center, n: int) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + 10
    while sum(a.status.value == "available" for a in center.acd.pool) < n:
        assert loop.time() < end, "agents did not log in"
        await asyncio.sleep(0.05)


def _check_callback(pool, gate, rec):
    st = pool.state(rec.record_id)
    assert st.disposition == "callback" and st.owner_agent == "agent8001"
    assert st.callback_at == WALL + 7200
    # only the owner gets it when it is due; nobody gets it before
    assert pool.next_ready(WALL + 3600) is None
    assert pool.next_ready(WALL + 7300, agent_id="agent9999") is None
    assert pool.next_ready(WALL + 7300, agent_id="agent8001").record_id == rec.record_id
    # a callback the debtor asked for starts no 7-day quiet week
    assert gate.evaluate(rec.number, now=WALL + 7300, purpose="collections").allowed


def test_retries_move_to_the_best_hour_learned_for_the_segment(arun):
    from callcore.outbound.besttime import ContactTimeModel

    model = ContactTimeModel()
    for how in range(8, 21):  # Monday 08:00-20:00: people answer at 19:00
        for i in range(40):
            model.observe(None, "retail", how, contacted=(how == 19 and i % 2 == 0))

    async def main():
        async with scene(agents=False) as sc:
            pool = ContactPool()
            pool.add(records([SimulatedCallees.number("busy", 1)]))
            dialer = Dialer(sc.center.runtime, sc.campaign, pool,
                            gate=DialGate(audit=AuditTrail()), best_time=model,
                            segment_of=lambda r: "retail", wall_clock=lambda: WALL,
                            time_of_day=lambda: 10 * 3600.0)  # fmt: skip
            rec = pool.next_ready(WALL)
            att = await asyncio.wait_for(dialer.launch(rec), 30)
        return att, pool, rec

    att, pool, rec = arun(main())
    assert att.outcome == "busy"
    # busy retries after 5 minutes by default; the model moves it to Monday 19:00 local
    assert pool.state(rec.record_id).next_eligible == WALL + 9 * 3600
    assert model.observations(None, "retail") == 13 * 40 + 1  # the busy attempt was learned


def test_machines_get_the_message_after_the_beep(arun):
    async def main():
        message = "Please call your bank on 95588."
        async with scene(agents=False, machine_action="message", machine_message=message) as sc:
            pool = ContactPool()
            pool.add(records([SimulatedCallees.number("machine", 1)]))
            heard: list[str] = []
            sc.center.runtime.prompts.render = _spy(sc.center.runtime.prompts.render, heard)
            dialer = Dialer(sc.center.runtime, sc.campaign, pool, wall_clock=lambda: WALL,
                            time_of_day=lambda: 10 * 3600.0)  # fmt: skip
            att = await asyncio.wait_for(dialer.launch(pool.next_ready(WALL)), 60)
        return att, heard, pool

    att, heard, pool = arun(main())
    assert att.outcome == "machine" and att.result == "message_left"
    assert att.verdict is not None and att.verdict.beep_at_ms is not None
    # the simulated greeting is 12 words of 450 ms, then the beep: the message came after
    assert att.verdict.beep_at_ms >= 12 * 450
    assert heard == ["Please call your bank on 95588."]
    assert pool.state(att.record_id).disposition == "left_message"


def test_pacing_refusals_at_the_abandon_cap_are_audited(arun):
    async def main():
        async with scene(["8001", "8002"]) as sc:
            await _agents_ready(sc.center, 2)
            pool = ContactPool()
            pool.add(records([SimulatedCallees.number("busy", i) for i in range(8)]))
            gate = DialGate(audit=AuditTrail())
            dialer = Dialer(sc.center.runtime, sc.campaign, pool, gate=gate,
                            policy=Progressive(3.0), wall_clock=lambda: WALL,
                            time_of_day=lambda: 10 * 3600.0)  # fmt: skip
            dialer.tally.live, dialer.tally.abandons = 40, 20  # 50 % abandoned: over the cap
            launched = dialer.decide()
            await dialer.drain()
        return launched, gate

    launched, gate = arun(main())
    assert launched == 2  # one per idle agent, not the policy's three per agent
    rows = gate.audit.query(rule="abandon_rate")
    assert len(rows) == 1 and rows[0].campaign == "cards-collect" and rows[0].decision == "refused"
