"""A simulated crowd for the contact center: agents and callers made of real SIP.

* **Agents** are SIP accounts on one callcore :class:`Endpoint` (one UDP
  socket serves every agent of the crowd, as a multi-line phone would): each
  agent REGISTERs with the center (digest auth), answers the calls the ACD
  offers after a random delay, talks for a random time and hangs up.
* **Callers** dial the hotline from another endpoint, walk the IVR by sending
  RFC 4733 telephone-events in RTP, wait in the queue, and hang up when an
  agent is done with them — or give up after their patience runs out.

Every random choice comes from the injected ``random.Random``. Outcomes are
counted per caller (:class:`CallerOutcome`) so a load run can prove that no
call was lost: each call either ended in self-service, reached an agent,
went to voicemail, or was abandoned on purpose by its caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callcore.rtp.dtmf_event import TelephoneEvent, digit_to_event
from callcore.sip.auth import DigestClient
from callcore.sip.dialog import new_branch, new_call_id, new_tag
from callcore.sip.message import Headers, Request
from callcore.sip.transaction import Peer
from callcore.switch.app import App
from callcore.switch.endpoint import Endpoint

from .runtime import CALLER_CALL_ID_HEADER

if TYPE_CHECKING:
    from callcore.switch.call import Call


# ------------------------------------------------------------------ REGISTER
async def register(
    endpoint: Endpoint,
    registrar: tuple[str, int],
    user: str,
    password: str,
    *,
    expires: int = 600,
    transport: str = "udp",
) -> int:
    """REGISTER ``user`` (Contact on ``endpoint``) with the registrar at
    ``registrar``; answer a digest challenge with ``password``. Returns the
    final status (200 when bound). ``expires=0`` unregisters."""
    host, port = registrar
    local_host, local_port = endpoint.local_address(transport)
    uri = f"sip:{host}:{port}"
    peer = Peer(transport, host, port)
    call_id = new_call_id(local_host)
    tag = new_tag()
    client = DigestClient(user, password)
    auth: tuple[str, str] | None = None
    resp = None
    for cseq in (1, 2):
        h = Headers()
        tp = ";rport" if transport == "udp" else ""
        h.add(
            "Via",
            f"SIP/2.0/{transport.upper()} {local_host}:{local_port}{tp};branch={new_branch()}",
        )
        h.add("Max-Forwards", "70")
        h.add("From", f"<sip:{user}@{host}>;tag={tag}")
        h.add("To", f"<sip:{user}@{host}>")
        h.add("Call-ID", call_id)
        h.add("CSeq", f"{cseq} REGISTER")
        h.add("Contact", f"<sip:{user}@{local_host}:{local_port}>")
        h.add("Expires", str(expires))
        h.add("User-Agent", "callcore-crowd")
        if auth is not None:
            h.add(*auth)
        h.add("Content-Length", "0")
        resp = await endpoint._send_request(Request("REGISTER", uri, h), peer)
        if resp.status not in (401, 407):
            return resp.status
        name = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
        value = client.authorize(resp.headers.get_all(name), "REGISTER", uri)
        auth = ("Authorization" if resp.status == 401 else "Proxy-Authorization", value)
    assert resp is not None
    return resp.status


# --------------------------------------------------------------------- DTMF
async def send_digits(
    call: Call, digits: str, *, duration: float = 0.08, gap: float = 0.08
) -> None:
    """Send ``digits`` as RFC 4733 telephone-events on ``call``'s RTP session."""
    session = call.session
    if session is None or session.closed or session.endpoint.remote_addr is None:
        raise RuntimeError("no RTP towards the far end")
    pt = session.te_pt if session.te_pt is not None else 101
    ts = random.getrandbits(31)
    step = 160
    for digit in digits:
        event = digit_to_event(digit)
        ts = (ts + 8000) & 0xFFFFFFFF
        n = max(1, round(duration / 0.02))
        for k in range(n):
            if call.ended:
                return
            payload = TelephoneEvent(event, False, 10, (k + 1) * step).serialize()
            session.endpoint.send(payload, payload_type=pt, timestamp=ts, marker=k == 0)
            await asyncio.sleep(0.02)
        end = TelephoneEvent(event, True, 10, n * step).serialize()
        for _ in range(3):
            if call.ended:
                return
            session.endpoint.send(end, payload_type=pt, timestamp=ts)
        await asyncio.sleep(gap)


# ------------------------------------------------------------------- agents
@dataclass(slots=True)
class AgentBehaviour:
    """How simulated agents act: seconds drawn uniformly from the ranges."""

    answer_delay: tuple[float, float] = (0.2, 0.6)
    talk_time: tuple[float, float] = (2.0, 5.0)
    #: probability that an agent lets an offer ring out (tests the no-answer path)
    no_answer: float = 0.0


@dataclass(slots=True)
class AgentLog:
    offered: int = 0
    answered: int = 0
    let_ring: int = 0
    active: int = 0  # calls ringing or connected on this agent's phone now
    max_active: int = 0  # the most at any moment (the ACD must keep it at 1)
    callers: list[str] = field(default_factory=list)


class CrowdAgents:
    """Simulated agents: SIP accounts registered from one endpoint."""

    def __init__(
        self,
        center: tuple[str, int],
        accounts: Sequence[tuple[str, str]],
        *,
        behaviour: AgentBehaviour | None = None,
        rng: random.Random | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.center = center
        self.accounts = list(accounts)
        self.behaviour = behaviour or AgentBehaviour()
        self.rng = rng or random.Random(1)
        self.app = App("crowd-agents")
        self.app.route(re.compile(r".*"), public=True)(self._on_offer)
        self.endpoint = Endpoint(self.app, host=host, rtp_ports=(40000, 50000))
        self.host = host
        self.log: dict[str, AgentLog] = {ext: AgentLog() for ext, _ in self.accounts}
        #: caller Call-ID -> (agent extension, time answered)
        self.connected: dict[str, tuple[str, float]] = {}
        self._waiters: dict[str, asyncio.Future[str]] = {}

    async def start(self) -> None:
        await self.endpoint.start([f"udp:{self.host}:0"])
        results = await asyncio.gather(
            *(register(self.endpoint, self.center, ext, pw) for ext, pw in self.accounts)
        )
        bad = [ext for (ext, _), st in zip(self.accounts, results, strict=True) if st != 200]
        if bad:
            raise RuntimeError(f"agents could not register: {bad}")

    async def stop(self, *, unregister: bool = True) -> None:
        if unregister:
            with contextlib.suppress(Exception):
                await asyncio.gather(
                    *(
                        register(self.endpoint, self.center, e, p, expires=0)
                        for e, p in self.accounts
                    )
                )
        await self.endpoint.stop()

    def wait_connected(self, caller_call_id: str) -> asyncio.Future[str]:
        """Resolves with the agent extension when an agent answers that caller."""
        fut = self._waiters.get(caller_call_id)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._waiters[caller_call_id] = fut
            if caller_call_id in self.connected:
                fut.set_result(self.connected[caller_call_id][0])
        return fut

    async def _on_offer(self, call: Call) -> None:
        ext = call.dialed
        log = self.log.setdefault(ext, AgentLog())
        log.offered += 1
        log.active += 1
        log.max_active = max(log.max_active, log.active)
        try:
            await self._handle(call, log)
        finally:
            log.active -= 1

    async def _handle(self, call: Call, log: AgentLog) -> None:
        ext = call.dialed
        b = self.behaviour
        await call.ring()
        if self.rng.random() < b.no_answer:
            log.let_ring += 1
            await call.wait_hangup()  # the center cancels the offer
            return
        ended = asyncio.ensure_future(call.wait_hangup())
        try:
            await asyncio.wait([ended], timeout=self.rng.uniform(*b.answer_delay))
        finally:
            ended.cancel()
        if call.ended:
            return
        await call.answer()
        log.answered += 1
        caller = call.invite.headers.get(CALLER_CALL_ID_HEADER.lower()) or ""
        if caller:
            log.callers.append(caller)
            self.connected[caller] = (ext, time.monotonic())
            fut = self._waiters.get(caller)
            if fut is not None and not fut.done():
                fut.set_result(ext)
        talk = self.rng.uniform(*b.talk_time)
        ended = asyncio.ensure_future(call.wait_hangup())
        try:
            await asyncio.wait([ended], timeout=talk)
        finally:
            ended.cancel()
        if not call.ended:
            await call.hangup()


# ------------------------------------------------------------------ callers
@dataclass(frozen=True, slots=True)
class CallerScript:
    """What one caller does: number, digits to press (with pauses), what they expect.

    ``steps`` are ``(pause_before, digits)``; ``expect`` is ``agent``,
    ``self_service`` or ``voicemail``; ``patience`` seconds of waiting after
    the last digit before the caller gives up (``None``: never).
    """

    number: str
    steps: tuple[tuple[float, str], ...] = ()
    expect: str = "agent"
    patience: float | None = None
    label: str = ""


@dataclass(slots=True)
class CallerOutcome:
    script: CallerScript
    outcome: str  # agent / self_service / voicemail / abandoned / failed / lost
    call_id: str = ""
    agent: str | None = None
    detail: str = ""
    setup: float = 0.0
    duration: float = 0.0


#: sample card numbers and PINs of :meth:`InMemoryBank.sample`
CARD = "4111111111111111"
PIN = "2580"
INACTIVE_CARD = "4012888888881881"
INACTIVE_PIN = "4826"


def bank_scripts(rng: random.Random, *, abandon: float = 0.0, patience=(3.0, 8.0)) -> CallerScript:
    """One random caller of the bank hotline (see ``samples/bank_hotline.yaml``)."""
    kind = rng.choices(
        ["agent", "collections", "lost_card", "balance", "vip", "gold"],
        weights=[30, 15, 20, 20, 5, 10],
    )[0]
    number = f"+86139{rng.randrange(10**8):08d}"
    pat = rng.uniform(*patience) if rng.random() < abandon else None
    d = 0.3
    if kind == "agent":
        return CallerScript(number, ((d, "0"),), "agent", pat, kind)
    if kind == "collections":
        return CallerScript(number, ((d, "4"),), "agent", pat, kind)
    if kind == "lost_card":
        return CallerScript(number, ((d, "2"), (d, CARD + "#")), "agent", pat, kind)
    if kind == "balance":
        return CallerScript(number, ((d, "1"), (d, CARD + "#"), (d, PIN + "#")), "self_service",
                            None, kind)  # fmt: skip
    if kind == "vip":  # a private-banking customer: straight to the VIP line
        return CallerScript("+8613800000002", (), "agent", pat, kind)
    return CallerScript("+8613800000004", ((d, "0"),), "agent", pat, kind)  # gold


class CrowdCallers:
    """Callers dialing ``target`` (the hotline URI) from one endpoint."""

    def __init__(
        self,
        target: str,
        agents: CrowdAgents | None = None,
        *,
        host: str = "127.0.0.1",
        dial_timeout: float = 10.0,
        max_call: float = 120.0,
    ) -> None:
        self.target = target
        self.agents = agents
        self.endpoint = Endpoint(App("crowd-callers"), host=host, rtp_ports=(50000, 60000))
        self.host = host
        self.dial_timeout = dial_timeout
        self.max_call = max_call
        self.outcomes: list[CallerOutcome] = []

    async def start(self) -> None:
        await self.endpoint.start([f"udp:{self.host}:0"])

    async def stop(self) -> None:
        await self.endpoint.stop()

    def summary(self) -> Counter[str]:
        return Counter(o.outcome for o in self.outcomes)

    async def call(self, script: CallerScript) -> CallerOutcome:
        t0 = time.monotonic()
        res = await self.endpoint.dial(self.target, caller=script.number, timeout=self.dial_timeout)
        if not res.answered or res.call is None:
            out = CallerOutcome(script, "failed", detail=f"{res.outcome} {res.status}")
            self.outcomes.append(out)
            return out
        call = res.call
        setup = time.monotonic() - t0
        connected = self.agents.wait_connected(call.call_id) if self.agents else None
        ended = asyncio.ensure_future(call.wait_hangup())
        outcome, agent, detail = "lost", None, ""
        try:
            for pause, digits in script.steps:
                await asyncio.wait([ended], timeout=pause)
                if call.ended:
                    break
                await send_digits(call, digits)
            waits: list[asyncio.Future] = [ended] + ([connected] if connected else [])
            await asyncio.wait(
                waits, timeout=script.patience or self.max_call, return_when="FIRST_COMPLETED"
            )
            if connected is not None and connected.done():
                agent = connected.result()
                await asyncio.wait([ended], timeout=self.max_call)
                outcome = "agent"
            elif ended.done():
                outcome = script.expect if script.expect != "agent" else "lost"
                detail = f"ended by center: {call.hangup_info}"
            elif script.patience is not None:
                outcome = "abandoned"
            else:
                detail = "no agent within max_call"
        finally:
            if not call.ended:
                await call.hangup()
            ended.cancel()
            if connected is not None and not connected.done():
                connected.cancel()
        out = CallerOutcome(
            script, outcome, call.call_id, agent, detail, setup, time.monotonic() - t0
        )
        self.outcomes.append(out)
        return out

    async def run(
        self,
        scripts: Sequence[CallerScript],
        *,
        rate: float,
        max_concurrent: int | None = None,
    ) -> list[CallerOutcome]:
        """Start one call per script, ``rate`` new calls per second (bounded by
        ``max_concurrent`` calls in progress); return when all are over."""
        sem = asyncio.Semaphore(max_concurrent) if max_concurrent else None
        tasks = []

        async def one(s: CallerScript) -> CallerOutcome:
            if sem is None:
                return await self.call(s)
            async with sem:
                return await self.call(s)

        for s in scripts:
            tasks.append(asyncio.ensure_future(one(s)))
            await asyncio.sleep(1.0 / rate)
        return list(await asyncio.gather(*tasks))


__all__ = [
    "AgentBehaviour",
    "CallerOutcome",
    "CallerScript",
    "CrowdAgents",
    "CrowdCallers",
    "bank_scripts",
    "register",
    "send_digits",
]
