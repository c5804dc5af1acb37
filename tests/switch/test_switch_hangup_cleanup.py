"""A caller who hangs up at an awkward moment leaves nothing behind.

Real SIP on loopback between callcore endpoints (and SIPp callers): the caller
hangs up while a long prompt plays, while the switch rings an agent (a B2BUA
dial, and the contact center's ACD offering to a registered agent), while a
blind-transfer target rings, and CANCELs before answer — on the 180, on the 100
Trying the switch sends for a slow handler, or right behind the INVITE while the
switch is still binding the leg's RTP port. After
each case the switch has no live leg, every RTP port it took is back in the
pool, and every leg — the agent legs included — has a complete CDR row with the
right cause, status and who hung up (``billsec`` 0 for legs never answered).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from confhelp import until
from sip_peers import free_port, need, run_sipp

from callcore import App, Call, CallError, Endpoint, Hangup
from callcore.center import Acd, QueueConfig
from callcore.center.crowd import register
from callcore.center.live import LiveCallPort
from callcore.center.runtime import CenterRuntime
from callcore.media.tones import ToneSequence
from callcore.store.cdr import CdrRecord, CdrWriter
from callcore.switch.bridge import bridge

ROOT = Path(__file__).resolve().parents[2]
#: a 10 s prompt: the caller always hangs up long before it ends
LONG_PROMPT = ToneSequence.of([((425.0,), 10_000, 0)], name="ten-second-prompt")

# A SIPp caller that CANCELs once it hears 180 Ringing (the CANCEL and the ACK of
# the 487 reuse the INVITE's branch, as RFC 3261 §9.1 and §17.1.1.3 require).
SIPP_CANCEL = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac that cancels while ringing">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK[pid]c[call_number]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <send>
    <![CDATA[
      CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK[pid]c[call_number]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
  <recv response="487"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK[pid]c[call_number]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
</scenario>
"""


def cancel_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "uac_cancel_after_180.xml"
    path.write_text(SIPP_CANCEL)
    return path


# ------------------------------------------------------------------ helpers
async def started(app: App | None = None, **kw: object) -> Endpoint:
    ep = Endpoint(app or App(), **kw)  # type: ignore[arg-type]
    await ep.start(["udp:127.0.0.1:0"])
    return ep


def port_of(ep: Endpoint) -> int:
    return ep.local_address("udp")[1]


async def ringing_agent(rang: list[Call], ended: list[Hangup]) -> Endpoint:
    """An agent phone that rings (180) and never answers; it records how each call ended."""
    app = App()

    @app.route("_!", public=True)
    async def ring_forever(call: Call) -> None:
        await call.ring()
        rang.append(call)
        ended.append(await call.wait_hangup())

    return await started(app)


async def answering_agent(answered: list[Call]) -> Endpoint:
    app = App()

    @app.route("_!", public=True)
    async def pick_up(call: Call) -> None:
        await call.answer()
        answered.append(call)
        await call.wait_hangup()

    return await started(app)


async def released(*endpoints: Endpoint, ports_before: dict[Endpoint, int]) -> None:
    """Until no endpoint holds a live leg and every RTP port went back to its pool."""

    def clean() -> bool:
        return all(not ep.calls and ep.media.ports_in_use == ports_before[ep] for ep in endpoints)

    with contextlib.suppress(TimeoutError):
        await until(clean, timeout=10)
    for ep in endpoints:
        assert not ep.calls, f"stuck legs: {list(ep.calls.values())}"
        assert ep.media.ports_in_use == ports_before[ep], "leaked RTP ports"


async def stop_all(*endpoints: Endpoint) -> None:
    for ep in endpoints:
        await ep.stop()


def by_direction(rows: list[CdrRecord]) -> dict[str, list[CdrRecord]]:
    out: dict[str, list[CdrRecord]] = {"inbound": [], "outbound": []}
    for r in rows:
        out[r.direction].append(r)
    return out


def assert_row(
    row: CdrRecord,
    *,
    cause: str,
    hung_up_by: str,
    answered: bool,
    status: int | None = None,
) -> None:
    assert row.complete and row.state == "ended", row
    assert row.ended_at is not None and row.duration is not None and row.duration >= 0, row
    assert row.cause == cause, row
    assert row.hung_up_by == hung_up_by, row
    if status is not None:
        assert row.status == status, row
    if answered:
        assert row.answered_at is not None and row.billsec is not None and row.billsec > 0, row
    else:
        assert row.answered_at is None and row.billsec == 0.0, row


def load_b2bua_example(target_port: int) -> ModuleType:
    """examples/b2bua.py, its outbound target pointed at ``target_port``."""
    spec = importlib.util.spec_from_file_location("b2bua_example", ROOT / "examples" / "b2bua.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.TARGET = f"127.0.0.1:{target_port}"  # read by the handler on every call
    return module


# ----------------------------------------------- 1. hang up while a prompt plays
def prompt_app(outcome: list[str], playing: asyncio.Event) -> App:
    app = App()

    @app.route("prompt", public=True)
    async def long_prompt(call: Call) -> None:
        await call.answer()
        playing.set()
        try:
            outcome.append(f"returned {await call.play(LONG_PROMPT)}")
        except CallError:
            outcome.append("raised CallError")

    return app


def test_caller_hangs_up_mid_prompt(arun, tmp_path):
    async def main() -> tuple[list[str], list[CdrRecord], Hangup]:
        outcome: list[str] = []
        playing = asyncio.Event()
        switch = await started(prompt_app(outcome, playing))
        caller = await started()
        before = {switch: switch.media.ports_in_use, caller: caller.media.ports_in_use}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        try:
            res = await caller.dial(f"sip:prompt@127.0.0.1:{port_of(switch)}", timeout=10)
            assert res.answered and res.call is not None
            await asyncio.wait_for(playing.wait(), 10)
            session = res.call.session
            assert session is not None
            await until(lambda: session.received > 0, timeout=10)  # the prompt reaches us
            mine = await res.call.hangup()
            await until(lambda: bool(outcome), timeout=10)
            await released(switch, caller, ports_before=before)
            rows = await cdrs.query()
        finally:
            await cdrs.aclose()
            await stop_all(switch, caller)
        return outcome, rows, mine

    outcome, rows, mine = arun(main())
    assert mine.by == "local" and mine.cause == "normal_clearing"
    assert outcome == ["raised CallError"]  # play() gave up with the call, not after 10 s
    legs = by_direction(rows)
    assert len(legs["inbound"]) == 1 and not legs["outbound"]
    assert_row(legs["inbound"][0], cause="normal_clearing", hung_up_by="caller", answered=True)
    assert legs["inbound"][0].hangup_by == "remote"


@pytest.mark.peer
def test_sipp_caller_byes_mid_prompt(arun, tmp_path):
    need("sipp")

    async def main() -> tuple[list[str], list[CdrRecord], int, int]:
        outcome: list[str] = []
        playing = asyncio.Event()
        switch = await started(prompt_app(outcome, playing))
        before = {switch: switch.media.ports_in_use}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        try:
            # SIPp's built-in uac: INVITE, ACK the 200, BYE 800 ms later (mid-prompt)
            sipp = await asyncio.to_thread(
                run_sipp,
                ["-sn", "uac", f"127.0.0.1:{port_of(switch)}", "-s", "prompt",
                 "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
                 "-m", "1", "-d", "800", "-timeout", "20"],
                40,
            )  # fmt: skip
            await until(lambda: bool(outcome), timeout=10)
            await released(switch, ports_before=before)
            rows = await cdrs.query()
        finally:
            await cdrs.aclose()
            await stop_all(switch)
        return outcome, rows, sipp.successful, sipp.failed

    outcome, rows, ok, failed = arun(main())
    assert (ok, failed) == (1, 0)
    assert outcome == ["raised CallError"]
    legs = by_direction(rows)
    assert len(legs["inbound"]) == 1 and not legs["outbound"]
    assert_row(legs["inbound"][0], cause="normal_clearing", hung_up_by="caller", answered=True)


# ------------------------------------- 2. hang up while the switch rings an agent
def test_caller_cancels_while_b2bua_rings_agent(arun, tmp_path):
    """examples/b2bua.py: the caller gives up while the agent's phone rings; the
    B2BUA CANCELs the agent's INVITE."""

    async def main() -> tuple[list[Hangup], list[CdrRecord]]:
        rang: list[Call] = []
        agent_ended: list[Hangup] = []
        agent = await ringing_agent(rang, agent_ended)
        switch = await started(load_b2bua_example(port_of(agent)).app)
        caller = await started()
        eps = (switch, agent, caller)
        before = {ep: ep.media.ports_in_use for ep in eps}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        try:
            dialing = asyncio.ensure_future(
                caller.dial(f"sip:agent@127.0.0.1:{port_of(switch)}", caller="5551234", timeout=20)
            )
            await until(lambda: bool(rang), timeout=10)
            dialing.cancel()  # the caller hangs up: CANCEL
            with contextlib.suppress(asyncio.CancelledError):
                await dialing
            await until(lambda: bool(agent_ended), timeout=10)
            await released(*eps, ports_before=before)
            rows = await cdrs.query()
        finally:
            await cdrs.aclose()
            await stop_all(*eps)
        return agent_ended, rows

    agent_ended, rows = arun(main())
    assert agent_ended == [Hangup("cancelled", 487, by="remote")]  # the agent saw the CANCEL
    legs = by_direction(rows)
    assert len(legs["inbound"]) == 1 and len(legs["outbound"]) == 1
    assert_row(
        legs["inbound"][0], cause="cancelled", status=487, hung_up_by="caller", answered=False
    )
    agent_row = legs["outbound"][0]
    assert agent_row.callee == "agent" and agent_row.caller == "5551234"
    assert_row(agent_row, cause="cancelled", hung_up_by="switch", answered=False)


@pytest.mark.peer
def test_sipp_caller_cancels_while_switch_rings_agent(arun, tmp_path):
    """A B2BUA that passes the agent's ringing on (180 to the caller once the agent
    rings); the SIPp caller CANCELs on that 180."""
    need("sipp")
    scenario = cancel_scenario(tmp_path)

    async def main() -> tuple[list[Hangup], list[CdrRecord], int, int]:
        rang: list[Call] = []
        agent_ended: list[Hangup] = []
        agent = await ringing_agent(rang, agent_ended)
        app = App()

        @app.route("_!", public=True)
        async def b2bua_relaying_ringing(call: Call) -> None:
            dialing = asyncio.ensure_future(
                call.endpoint.dial(f"sip:{call.dialed}@127.0.0.1:{port_of(agent)}", timeout=20)
            )
            caller_gone = asyncio.ensure_future(call.wait_hangup())
            try:
                await until(lambda: bool(rang) or caller_gone.done(), timeout=10)
                if not call.ended:
                    await call.ring()
                await asyncio.wait([dialing, caller_gone], return_when=asyncio.FIRST_COMPLETED)
            finally:
                caller_gone.cancel()
            if not dialing.done():
                dialing.cancel()  # CANCEL towards the agent

        switch = await started(app)
        eps = (switch, agent)
        before = {ep: ep.media.ports_in_use for ep in eps}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        try:
            sipp = await asyncio.to_thread(
                run_sipp,
                ["-sf", str(scenario), f"127.0.0.1:{port_of(switch)}", "-s", "agent",
                 "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
                 "-m", "1", "-timeout", "20"],
                40,
            )  # fmt: skip
            await until(lambda: bool(agent_ended), timeout=10)
            await released(*eps, ports_before=before)
            rows = await cdrs.query()
        finally:
            await cdrs.aclose()
            await stop_all(*eps)
        return agent_ended, rows, sipp.successful, sipp.failed

    agent_ended, rows, ok, failed = arun(main())
    assert (ok, failed) == (1, 0)
    assert agent_ended == [Hangup("cancelled", 487, by="remote")]
    legs = by_direction(rows)
    assert len(legs["inbound"]) == 1 and len(legs["outbound"]) == 1
    assert_row(
        legs["inbound"][0], cause="cancelled", status=487, hung_up_by="caller", answered=False
    )
    assert_row(legs["outbound"][0], cause="cancelled", hung_up_by="switch", answered=False)


def test_caller_hangs_up_while_acd_offers_to_registered_agent(arun, tmp_path):
    """The contact center: the caller waits in a queue (answered, music on hold), the
    ACD rings the registered agent, the caller hangs up: the offer is CANCELled."""

    async def main() -> tuple[list[Hangup], list[str], list[CdrRecord], int]:
        rang: list[Call] = []
        agent_ended: list[Hangup] = []
        agent = await ringing_agent(rang, agent_ended)
        outcomes: list[str] = []
        center_box: list[CenterRuntime] = []
        app = App()

        @app.route("4000", public=True)
        async def queue_line(call: Call) -> None:
            await call.answer()
            center = center_box[0]
            outcomes.append(await center.queue_call(LiveCallPort(call, center), "sales"))

        switch = await started(app, open_registration=True)
        caller = await started()
        eps = (switch, agent, caller)
        before = {ep: ep.media.ports_in_use for ep in eps}
        acd = Acd()
        acd.add_queue(QueueConfig("sales", offer_timeout=20.0, whisper=""))
        center = CenterRuntime(switch, acd, recordings_dir=tmp_path)
        center_box.append(center)
        center.add_agent("alice", "1001", queues=["sales"])
        await center.start()
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        try:
            status = await register(agent, ("127.0.0.1", port_of(switch)), "1001", "unused")
            assert status == 200
            await until(lambda: center.snapshot()["agents_logged_in"] == 1, timeout=10)
            res = await caller.dial(f"sip:4000@127.0.0.1:{port_of(switch)}", caller="5550000")
            assert res.answered and res.call is not None
            await until(lambda: bool(rang), timeout=10)
            await res.call.hangup()
            await until(lambda: bool(agent_ended) and bool(outcomes), timeout=10)
            await released(*eps, ports_before=before)
            rows = await cdrs.query()
            abandoned = center.counters.abandoned
        finally:
            await cdrs.aclose()
            await center.stop()
            await stop_all(*eps)
        return agent_ended, outcomes, rows, abandoned

    agent_ended, outcomes, rows, abandoned = arun(main())
    assert agent_ended == [Hangup("cancelled", 487, by="remote")]
    assert outcomes == ["abandoned"] and abandoned == 1
    legs = by_direction(rows)
    assert len(legs["inbound"]) == 1 and len(legs["outbound"]) == 1
    assert_row(legs["inbound"][0], cause="normal_clearing", hung_up_by="caller", answered=True)
    agent_row = legs["outbound"][0]
    assert agent_row.callee == "1001"
    assert_row(agent_row, cause="cancelled", hung_up_by="switch", answered=False)


# ----------------------------------------------------- 3. hang up mid-transfer
def test_caller_hangs_up_while_blind_transfer_target_rings(arun, tmp_path):
    """Caller ↔ agent 1 bridged by the switch; agent 1 REFERs the caller to agent 2,
    whose phone rings; the caller hangs up. Agent 2's INVITE is CANCELled at once
    (not left ringing until the transfer's dial times out) and agent 1 is released."""

    async def main() -> tuple[int, list[Hangup], Hangup, list[CdrRecord]]:
        agent1_calls: list[Call] = []
        agent1 = await answering_agent(agent1_calls)
        rang: list[Call] = []
        agent2_ended: list[Hangup] = []
        agent2 = await ringing_agent(rang, agent2_ended)
        app = App()

        @app.route("_!", public=True)
        async def b2b(call: Call) -> None:
            out = await call.endpoint.dial(f"sip:agent1@127.0.0.1:{port_of(agent1)}", timeout=10)
            assert out.call is not None
            await call.answer()
            await bridge(call, out.call)

        switch = await started(app)
        caller = await started()
        eps = (switch, agent1, agent2, caller)
        before = {ep: ep.media.ports_in_use for ep in eps}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        try:
            res = await caller.dial(f"sip:100@127.0.0.1:{port_of(switch)}", timeout=10)
            assert res.answered and res.call is not None
            await until(lambda: bool(agent1_calls), timeout=10)
            a1 = agent1_calls[0]
            status = await a1.refer(f"sip:agent2@127.0.0.1:{port_of(agent2)}")
            await until(lambda: bool(rang), timeout=10)
            await res.call.hangup()
            # well before the transfer's 30 s dial timeout
            await until(lambda: bool(agent2_ended), timeout=10)
            a1_end = await asyncio.wait_for(a1.wait_hangup(), 10)
            await released(*eps, ports_before=before)
            rows = await cdrs.query()
        finally:
            await cdrs.aclose()
            await stop_all(*eps)
        return status, agent2_ended, a1_end, rows

    status, agent2_ended, a1_end, rows = arun(main())
    assert status == 202
    assert agent2_ended == [Hangup("cancelled", 487, by="remote")]
    assert a1_end.by == "remote"  # the switch BYE'd agent 1
    legs = by_direction(rows)
    assert len(legs["inbound"]) == 1 and len(legs["outbound"]) == 2
    assert_row(legs["inbound"][0], cause="normal_clearing", hung_up_by="caller", answered=True)
    out = {r.callee: r for r in legs["outbound"]}
    assert_row(out["agent1"], cause="normal_clearing", hung_up_by="switch", answered=True)
    assert_row(out["agent2"], cause="cancelled", hung_up_by="switch", answered=False)


# ------------------------------------------------- 4. CANCEL before the answer
def ringing_app(rang: list[Call]) -> App:
    app = App()

    @app.route("ring", public=True)
    async def ring_only(call: Call) -> None:
        await call.ring()
        rang.append(call)
        await call.wait_hangup()

    return app


def test_caller_cancels_while_ringing(arun, tmp_path):
    async def main() -> tuple[Hangup, list[CdrRecord], list[CdrRecord]]:
        rang: list[Call] = []
        switch = await started(ringing_app(rang))
        caller = await started()
        eps = (switch, caller)
        before = {ep: ep.media.ports_in_use for ep in eps}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        caller_cdrs = CdrWriter(tmp_path / "caller-cdr.sqlite")
        caller_cdrs.attach(caller)
        try:
            dialing = asyncio.ensure_future(
                caller.dial(f"sip:ring@127.0.0.1:{port_of(switch)}", timeout=20)
            )
            # the caller has heard the 180
            await until(lambda: any(c.state == "ringing" for c in caller.calls.values()))
            dialing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dialing
            end = await asyncio.wait_for(rang[0].wait_hangup(), 10)
            await released(*eps, ports_before=before)
            rows = await cdrs.query()
            caller_rows = await caller_cdrs.query()
        finally:
            await cdrs.aclose()
            await caller_cdrs.aclose()
            await stop_all(*eps)
        return end, rows, caller_rows

    end, rows, caller_rows = arun(main())
    assert end == Hangup("cancelled", 487, by="remote")
    assert len(rows) == 1 and rows[0].direction == "inbound"
    assert_row(rows[0], cause="cancelled", status=487, hung_up_by="caller", answered=False)
    assert len(caller_rows) == 1  # the caller's own leg: it gave up
    assert_row(caller_rows[0], cause="cancelled", hung_up_by="switch", answered=False)


@pytest.mark.peer
def test_sipp_caller_cancels_while_ringing(arun, tmp_path):
    need("sipp")
    scenario = cancel_scenario(tmp_path)

    async def main() -> tuple[list[CdrRecord], int, int]:
        rang: list[Call] = []
        switch = await started(ringing_app(rang))
        before = {switch: switch.media.ports_in_use}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        try:
            sipp = await asyncio.to_thread(
                run_sipp,
                ["-sf", str(scenario), f"127.0.0.1:{port_of(switch)}", "-s", "ring",
                 "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
                 "-m", "1", "-timeout", "20"],
                40,
            )  # fmt: skip
            await released(switch, ports_before=before)
            rows = await cdrs.query()
        finally:
            await cdrs.aclose()
            await stop_all(switch)
        return rows, sipp.successful, sipp.failed

    rows, ok, failed = arun(main())
    assert (ok, failed) == (1, 0)
    assert len(rows) == 1
    assert_row(rows[0], cause="cancelled", status=487, hung_up_by="caller", answered=False)


# A caller as plain datagrams, so the CANCEL can follow the INVITE at once: it reaches
# the switch while the new leg's RTP port is still being bound, before any handler runs.
RAW_SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def raw_request(
    method: str, switch_port: int, my_port: int, n: int, body: str = "", user: str = "ring"
) -> bytes:
    head = (
        f"{method} sip:{user}@127.0.0.1:{switch_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{my_port};branch=z9hG4bKraw{n}\r\n"
        f"From: <sip:5557777@127.0.0.1:{my_port}>;tag=raw{n}\r\n"
        f"To: <sip:{user}@127.0.0.1:{switch_port}>\r\n"
        f"Call-ID: raw-cancel-{n}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
    )
    if method == "INVITE":
        head += f"Contact: <sip:5557777@127.0.0.1:{my_port}>\r\nContent-Type: application/sdp\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n{body}".encode()


class _Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.first_lines: list[str] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.first_lines.append(data.split(b"\r\n", 1)[0].decode())


def test_cancel_right_behind_the_invite(arun, tmp_path):
    async def main() -> tuple[list[str], list[CdrRecord]]:
        rang: list[Call] = []
        switch = await started(ringing_app(rang))
        before = {switch: switch.media.ports_in_use}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            _Collect, local_addr=("127.0.0.1", 0)
        )
        sp, mine = port_of(switch), transport.get_extra_info("sockname")[1]
        try:
            for n in range(3):
                transport.sendto(raw_request("INVITE", sp, mine, n, RAW_SDP), ("127.0.0.1", sp))
                transport.sendto(raw_request("CANCEL", sp, mine, n), ("127.0.0.1", sp))
            await until(lambda: proto.first_lines.count("SIP/2.0 487 Request Terminated") >= 3)
            for n in range(3):  # ACK the 487s (same branch as the INVITE)
                transport.sendto(raw_request("ACK", sp, mine, n), ("127.0.0.1", sp))
            await released(switch, ports_before=before)
            rows = await cdrs.query()
        finally:
            transport.close()
            await cdrs.aclose()
            await stop_all(switch)
        return proto.first_lines, rows

    lines, rows = arun(main())
    assert lines.count("SIP/2.0 200 OK") == 3  # each CANCEL accepted
    assert len(rows) == 3
    for row in rows:
        assert_row(row, cause="cancelled", status=487, hung_up_by="caller", answered=False)


def test_dial_given_up_at_any_point_of_its_start(arun, tmp_path):
    """The switch starts ringing an agent and gives up at once (its caller hung up the
    moment the dial began): whichever await of the dial's start the cancellation hits
    (binding the RTP port, sending the INVITE, ringing), no port and no leg is left."""

    async def main() -> tuple[list[Hangup], list[CdrRecord], int]:
        rang: list[Call] = []
        agent_ended: list[Hangup] = []
        agent = await ringing_agent(rang, agent_ended)
        switch = await started()
        eps = (switch, agent)
        before = {ep: ep.media.ports_in_use for ep in eps}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        try:
            for spins in range(8):
                dialing = asyncio.ensure_future(
                    switch.dial(f"sip:agent@127.0.0.1:{port_of(agent)}", timeout=20)
                )
                for _ in range(spins):
                    await asyncio.sleep(0)
                dialing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await dialing
            await until(lambda: len(agent_ended) == len(rang))
            await released(*eps, ports_before=before)
            rows = await cdrs.query()
        finally:
            await cdrs.aclose()
            await stop_all(*eps)
        return agent_ended, rows, len(rang)

    agent_ended, rows, rung = arun(main())
    assert all(h == Hangup("cancelled", 487, by="remote") for h in agent_ended)
    assert len(rows) <= 8 and len(rows) >= rung  # a row for every leg that existed
    for row in rows:
        assert_row(row, cause="cancelled", hung_up_by="switch", answered=False)


def test_cancel_after_100_trying_from_a_slow_handler(arun, tmp_path):
    """A handler that neither rings nor answers (a B2BUA still waiting for its far end):
    the switch sends 100 Trying on its own (RFC 3261 §17.2.1), so the caller stops
    retransmitting; the caller then CANCELs and the leg is released."""

    async def main() -> tuple[list[str], list[CdrRecord], list[Hangup]]:
        ended: list[Hangup] = []
        app = App()

        @app.route("slow", public=True)
        async def thinking(call: Call) -> None:
            ended.append(await call.wait_hangup())

        switch = await started(app)
        before = {switch: switch.media.ports_in_use}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            _Collect, local_addr=("127.0.0.1", 0)
        )
        sp, mine = port_of(switch), transport.get_extra_info("sockname")[1]
        try:
            invite = raw_request("INVITE", sp, mine, 9, RAW_SDP, user="slow")
            transport.sendto(invite, ("127.0.0.1", sp))
            await until(lambda: "SIP/2.0 100 Trying" in proto.first_lines, timeout=10)
            transport.sendto(raw_request("CANCEL", sp, mine, 9, user="slow"), ("127.0.0.1", sp))
            await until(lambda: "SIP/2.0 487 Request Terminated" in proto.first_lines)
            transport.sendto(raw_request("ACK", sp, mine, 9, user="slow"), ("127.0.0.1", sp))
            await until(lambda: bool(ended))
            await released(switch, ports_before=before)
            rows = await cdrs.query()
        finally:
            transport.close()
            await cdrs.aclose()
            await stop_all(switch)
        return proto.first_lines, rows, ended

    lines, rows, ended = arun(main())
    assert lines[0] == "SIP/2.0 100 Trying"  # before any other response
    assert ended == [Hangup("cancelled", 487, by="remote")]
    assert len(rows) == 1
    assert_row(rows[0], cause="cancelled", status=487, hung_up_by="caller", answered=False)


def test_a_handler_sends_100_trying_at_once_before_dialling_on(arun):
    """``call.trying()`` answers the INVITE with 100 Trying itself (the switch's own timer
    is pushed out of reach), only once, and a later 180 and 200 still follow."""

    async def main() -> list[str]:
        app = App()

        @app.route("b2bua", public=True)
        async def b2bua(call: Call) -> None:
            call.trying()
            call.trying()  # a second one sends nothing
            await asyncio.sleep(0.5)  # "the far end rings"
            await call.ring()
            await call.answer()
            await call.wait_hangup()

        switch = await started(app)
        switch.trying_after = 3600.0  # the switch's own 100 Trying never comes in this test
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            _Collect, local_addr=("127.0.0.1", 0)
        )
        sp, mine = port_of(switch), transport.get_extra_info("sockname")[1]
        try:
            transport.sendto(raw_request("INVITE", sp, mine, 11, RAW_SDP, user="b2bua"),
                             ("127.0.0.1", sp))  # fmt: skip
            await until(lambda: "SIP/2.0 200 OK" in proto.first_lines, timeout=10)
        finally:
            transport.close()
            await stop_all(switch)
        return proto.first_lines

    lines = arun(main())
    assert lines[:3] == ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK"]


# ------------------------------------------- 5. caller leaves during an attended transfer
def test_caller_hangs_up_during_the_consult_call_of_an_attended_transfer(arun, tmp_path):
    """Caller ↔ agent 1 bridged by the switch; agent 1 holds the caller and consults agent 2
    through the switch; the held caller hangs up before agent 1 completes the transfer. The
    caller's legs end, the consult call goes on untouched (agent 1 can tell agent 2), and
    when it ends nothing is left behind."""

    async def main():
        agent1_calls: list[Call] = []
        agent1 = await answering_agent(agent1_calls)
        agent2_calls: list[Call] = []
        agent2 = await answering_agent(agent2_calls)
        app = App()

        @app.route("100", public=True)
        async def to_agent1(call: Call) -> None:
            out = await call.endpoint.dial(f"sip:agent1@127.0.0.1:{port_of(agent1)}", timeout=10)
            assert out.call is not None
            await call.answer()
            await bridge(call, out.call)

        @app.route("200", public=True)
        async def consult(call: Call) -> None:
            out = await call.endpoint.dial(f"sip:agent2@127.0.0.1:{port_of(agent2)}", timeout=10)
            assert out.call is not None
            await call.answer()
            await bridge(call, out.call)

        switch = await started(app)
        caller = await started()
        eps = (switch, agent1, agent2, caller)
        before = {ep: ep.media.ports_in_use for ep in eps}
        cdrs = CdrWriter(tmp_path / "cdr.sqlite")
        cdrs.attach(switch)
        try:
            res = await caller.dial(f"sip:100@127.0.0.1:{port_of(switch)}", timeout=10)
            assert res.answered and res.call is not None
            await until(lambda: bool(agent1_calls), timeout=10)
            customer_leg = agent1_calls[0]  # agent 1's side of the customer call
            await customer_leg.hold()
            consult_res = await agent1.dial(f"sip:200@127.0.0.1:{port_of(switch)}", timeout=10)
            assert consult_res.answered and consult_res.call is not None
            await until(lambda: bool(agent2_calls), timeout=10)
            await res.call.hangup()  # the held customer gives up
            customer_end = await asyncio.wait_for(customer_leg.wait_hangup(), 10)
            consult_alive = not consult_res.call.ended and not agent2_calls[0].ended
            await consult_res.call.hangup()  # agent 1 tells agent 2, hangs up
            await asyncio.wait_for(agent2_calls[0].wait_hangup(), 10)
            await released(*eps, ports_before=before)
            rows = await cdrs.query()
        finally:
            await cdrs.aclose()
            await stop_all(*eps)
        return customer_end, consult_alive, rows

    customer_end, consult_alive, rows = arun(main())
    assert customer_end.by == "remote"  # the switch released agent 1's customer leg
    assert consult_alive  # the caller leaving did not tear down the consult call
    legs = by_direction(rows)
    assert len(legs["inbound"]) == 2 and len(legs["outbound"]) == 2
    inbound = {r.callee: r for r in legs["inbound"]}
    assert_row(inbound["100"], cause="normal_clearing", hung_up_by="caller", answered=True)
    assert_row(inbound["200"], cause="normal_clearing", hung_up_by="caller", answered=True)
    out = {r.callee: r for r in legs["outbound"]}
    assert_row(out["agent1"], cause="normal_clearing", hung_up_by="switch", answered=True)
    assert_row(out["agent2"], cause="normal_clearing", hung_up_by="switch", answered=True)
