"""Agentless campaign flows end to end: callcore dials real SIPp callees that press keys
(RFC 4733, replayed from the pcaps Debian's sip-tester ships), and the flows do what
the keys ask: hear more, reach an agent, answer a survey, pick a menu branch, opt out.

These run on one event loop (the default one): the dialer's behaviour on both loops
is covered by test_outbound_dialer.py, and each case here starts a SIPp process."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import pytest
from outbound_helpers import WALL, Center, crowd, records

from callcore.outbound.audit import AuditTrail
from callcore.outbound.broadcast import (
    DtmfSurvey,
    ListenThenAgent,
    MenuBroadcast,
    Notification,
    NumberValidation,
    PressOneToAgent,
    VoiceBroadcast,
)
from callcore.outbound.campaign import Campaign
from callcore.outbound.compliance import DialGate
from callcore.outbound.dialer import Dialer, campaign_queue
from callcore.outbound.records import ContactPool
from callcore.pacing import ComplianceRules

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "switch"))
from sip_peers import free_port, need

pytestmark = [pytest.mark.peer, pytest.mark.slow]

SCENARIO = Path(__file__).parent / "scenarios" / "callee_dtmf.xml"
PCAPS = Path("/usr/share/sip-tester")
RULES = ComplianceRules(min_ring=4.0)
DIGIT_LINES = """  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <pause milliseconds="{gap_ms}"/>
"""


def _scenario(tmp: Path, name: str, digits: str, *, pre_ms=1200, gap_ms=1500, hold_ms=30000):
    text = SCENARIO.read_text()
    for k, v in {"ring_ms": 300, "pre_ms": pre_ms, "hold_ms": hold_ms}.items():
        text = text.replace(f"[{k}]", str(v))
    lines = "".join(
        DIGIT_LINES.format(pcap=PCAPS / f"dtmf_2833_{d}.pcap", gap_ms=gap_ms) for d in digits
    )
    path = tmp / f"{name}.xml"
    path.write_text(text.replace("  <!-- DIGIT -->\n", lines))
    return path


@contextlib.asynccontextmanager
async def callee(tmp: Path, name: str, digits: str = "", **kw):
    """One SIPp callee (one call) pressing ``digits``; yields its URI."""
    need("sipp")
    if digits and not (PCAPS / "dtmf_2833_1.pcap").exists():
        pytest.skip("sip-tester's dtmf pcaps are missing")
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(_scenario(tmp, name, digits, **kw)), "-i", "127.0.0.1",
        "-p", str(port), "-mp", str(free_port()), "-m", "1", "-timeout", "60s", "-nostdin",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.3)  # let it bind
    try:
        yield f"sip:{name}@127.0.0.1:{port}"
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()


async def _run(tmp, flow, digits: str = "", *, agents=(), queues=(), gate=None, **kw):
    """Dial one SIPp callee with ``flow``; returns (attempt, dialer, crowd log)."""
    campaign = Campaign("broadcast", mode="agentless", purpose="service", amd=False,
                        ring_timeout=6.0, rules=RULES, decide_every=0.2)  # fmt: skip
    extra = [campaign_queue(Campaign("x", queue=q, rules=RULES), wrap_up=0.2) for q in queues]
    center = Center(Campaign("agents", queue="unused", rules=RULES), agents, extra_queues=extra)
    await center.start()
    agent_crowd = crowd(center, talk=(1.0, 1.0)) if agents else None
    if agent_crowd is not None:
        await agent_crowd.start()
    try:
        async with callee(tmp, "c1", digits, **kw) as uri:
            pool = ContactPool()
            pool.add(records(["+8613900000001"], amount="1200.50", name="Li Wei"))
            dialer = Dialer(center.runtime, campaign, pool, flow=flow, gate=gate,
                            wall_clock=lambda: WALL, time_of_day=lambda: 36000.0,
                            uri_for=lambda rec: uri)  # fmt: skip
            await asyncio.wait_for(dialer.run(), 60)
    finally:
        if agent_crowd is not None:
            await agent_crowd.stop()
        await center.stop()
    assert len(dialer.attempts) == 1
    return dialer.attempts[0], dialer, (agent_crowd.log if agent_crowd else {})


def test_voice_broadcast_plays_and_hangs_up(tmp_path):
    att, _, _ = asyncio.run(_run(tmp_path, VoiceBroadcast("Your payment of {amount} is due.")))
    assert att.outcome == "human" and att.result == "played"


def test_notification_press_one_to_hear_more(tmp_path):
    flow = Notification("A notice for {name}.", "The details.")
    att, _, _ = asyncio.run(_run(tmp_path, flow, "1"))
    assert att.result == "heard_more"


def test_notification_without_a_key_is_just_played(tmp_path):
    flow = Notification("A notice.", "The details.", timeout=2.0)
    att, _, _ = asyncio.run(_run(tmp_path, flow, ""))
    assert att.result == "played"


def test_press_one_reaches_an_agent(tmp_path):
    flow = PressOneToAgent("Press 1 to talk to us.", queue="reminders-desk")
    att, _, log = asyncio.run(_run(tmp_path, flow, "1", agents=["8101"], queues=["reminders-desk"]))
    assert att.agent_id == "agent8101" and att.result == "answered"
    assert log["8101"].answered == 1


def test_dtmf_survey_stores_each_answer(tmp_path):
    survey = DtmfSurvey([("satisfied", "How satisfied were you, 1 to 5?", "12345"),
                         ("recommend", "Would you recommend us? 1 yes, 2 no.", "12")])  # fmt: skip
    att, _, _ = asyncio.run(_run(tmp_path, survey, "42"))
    assert att.result == "complete"
    answers = [(q, a) for _, _, q, a, _ in survey.answers.rows()]
    assert answers == [("satisfied", "4"), ("recommend", "2")]


def test_listen_then_agent_after_n_seconds(tmp_path):
    flow = ListenThenAgent("Your card payment is overdue.", queue="late-desk", seconds=2.0)
    att, _, _ = asyncio.run(_run(tmp_path, flow, "", agents=["8102"], queues=["late-desk"]))
    assert att.agent_id == "agent8102" and att.result == "answered"


def test_number_validation_hangs_up_on_answer(tmp_path):
    att, _, _ = asyncio.run(_run(tmp_path, NumberValidation()))
    assert att.result == "valid" and att.answered_at is not None


def test_menu_broadcast_routes_the_digit_to_its_agent_group(tmp_path):
    flow = MenuBroadcast("For cards press 1, for loans press 2.",
                         {"1": "cards-team", "2": "loans-team"})  # fmt: skip
    att, _, _log = asyncio.run(
        _run(tmp_path, flow, "2", agents=["8103"], queues=["loans-team", "cards-team"])
    )
    assert att.result == "answered" and att.agent_id == "agent8103"


def test_opt_out_digit_during_a_broadcast_puts_the_number_on_dnc(tmp_path):
    gate = DialGate(audit=AuditTrail())
    flow = Notification("A notice. To stop these calls, press 9.", "Details.", timeout=6.0)
    att, _, _ = asyncio.run(_run(tmp_path, flow, "9", gate=gate))
    assert att.opted_out
    assert gate.dnc.contains("+8613900000001")
    rows = gate.audit.query(number="+8613900000001", rule="opted_out")
    assert len(rows) == 1 and rows[0].decision == "opt_out" and rows[0].campaign == "broadcast"
    assert not gate.evaluate("+8613900000001", now=WALL + 60, purpose="service").allowed
