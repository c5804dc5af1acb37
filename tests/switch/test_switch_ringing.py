"""Ring groups, forwarding, pickup and caller identity against real callcore UAs on loopback."""

from __future__ import annotations

import asyncio

from callcore import App, Endpoint
from callcore.switch.ringing import PickupGroup, dial_forwarding, ring_group


async def phone(behaviour: str, log: list, delay: float = 0.2) -> tuple[Endpoint, str]:
    """A UA that answers (after ``delay``), rejects busy, or rings forever."""
    app = App()

    @app.route("_!", public=True)
    async def handle(call):
        log.append((behaviour, call))
        await call.ring()
        if behaviour == "busy":
            await call.reject(486)
        elif behaviour == "answer":
            await asyncio.sleep(delay)
            await call.answer()
            await call.wait_hangup()
        else:
            await call.wait_hangup()  # rings until cancelled

    ep = Endpoint(app)
    await ep.start(["udp:127.0.0.1:0"])
    return ep, f"sip:{behaviour}@127.0.0.1:{ep.local_address('udp')[1]}"


def test_simultaneous_ring_group_first_answer_wins_others_cancelled(arun):
    async def main():
        log: list = []
        phones = [await phone(b, log) for b in ("busy", "ring", "answer")]
        caller = Endpoint(App())
        await caller.start(["udp:127.0.0.1:0"])
        res = await ring_group(
            caller, [uri for _, uri in phones], strategy="simultaneous", timeout=5
        )
        await asyncio.sleep(0.3)
        ringer = next(c for b, c in log if b == "ring")
        outcome = (res.outcome, ringer.hangup_info.cause if ringer.hangup_info else None)
        await res.call.hangup()
        for ep, _ in phones:
            await ep.stop()
        await caller.stop()
        return outcome, [b for b, _ in log]

    outcome, reached = arun(main())
    assert outcome == ("answered", "cancelled")
    assert sorted(reached) == ["answer", "busy", "ring"]


def test_sequential_ring_group_moves_on_after_per_target_timeout(arun):
    async def main():
        log: list = []
        first = await phone("ring", log)
        second = await phone("answer", log)
        caller = Endpoint(App())
        await caller.start(["udp:127.0.0.1:0"])
        res = await ring_group(
            caller, [first[1], second[1]], strategy="sequential", per_target=0.6, timeout=5
        )
        order = [b for b, _ in log]
        await res.call.hangup()
        for ep in (first[0], second[0], caller):
            await ep.stop()
        return res.outcome, order

    assert arun(main()) == ("answered", ["ring", "answer"])


def test_forwarding_on_busy_and_on_no_answer_reaches_the_mobile(arun):
    async def main():
        log: list = []
        busy = await phone("busy", log)
        ringing = await phone("ring", log)
        mobile = await phone("answer", log)
        caller = Endpoint(App())
        await caller.start(["udp:127.0.0.1:0"])
        r1 = await dial_forwarding(caller, busy[1], on_busy=mobile[1], timeout=3)
        await r1.call.hangup()
        r2 = await dial_forwarding(caller, ringing[1], on_no_answer=mobile[1], timeout=0.8)
        await r2.call.hangup()
        r3 = await dial_forwarding(caller, ringing[1], unconditional=mobile[1], timeout=3)
        await r3.call.hangup()
        for ep in (busy[0], ringing[0], mobile[0], caller):
            await ep.stop()
        return [r.outcome for r in (r1, r2, r3)], [b for b, _ in log]

    outcomes, reached = arun(main())
    assert outcomes == ["answered"] * 3
    assert reached == ["busy", "answer", "ring", "answer", "answer"]


def test_pickup_takes_a_ringing_group_call(arun):
    async def main():
        log: list = []
        desk = await phone("ring", log)
        group = PickupGroup()
        caller = Endpoint(App())
        await caller.start(["udp:127.0.0.1:0"])
        ringing = asyncio.ensure_future(ring_group(caller, [desk[1]], timeout=10, pickup=group))
        while group.ringing == 0 or not log:
            await asyncio.sleep(0.05)
        picker = object()  # stands for the picking agent's answered leg
        assert group.pickup(picker)  # type: ignore[arg-type]
        res = await ringing
        await asyncio.sleep(0.3)
        cause = log[0][1].hangup_info.cause
        for ep in (desk[0], caller):
            await ep.stop()
        return res.outcome, res.call is picker, cause, group.pickup(picker)  # type: ignore[arg-type]

    assert arun(main()) == ("picked_up", True, "cancelled", False)


def test_caller_identity_display_name_and_asserted_identity(arun):
    seen = {}
    app = App()

    @app.route("_!", public=True)
    async def handle(call):
        seen.update(
            number=call.caller_number, display=call.caller_display, pai=call.asserted_identity
        )
        await call.reject(486)

    async def main():
        ep = Endpoint(app)
        await ep.start(["udp:127.0.0.1:0"])
        caller = Endpoint(App())
        await caller.start(["udp:127.0.0.1:0"])
        await caller.dial(
            f"sip:1@127.0.0.1:{ep.local_address('udp')[1]}", caller="95588", display_name="Bank Hotline",
            asserted_identity="tel:+8695588",
        )  # fmt: skip
        for e in (ep, caller):
            await e.stop()

    arun(main())
    assert seen == {"number": "95588", "display": "Bank Hotline", "pai": "tel:+8695588"}
