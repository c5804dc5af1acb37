"""ACD strategies, routing rules, waiting rules and offering, sans-IO with a fake clock."""

import random
from collections import Counter

import pytest

from callcore.center.agents import Agent, AgentStatus, AgentTimers, Device
from callcore.center.events import (
    Bridge,
    CallAbandoned,
    CancelOffer,
    OfferCall,
    OfferCallbackChoice,
    Overflow,
    PlaceCallback,
    PlayAnnouncement,
)
from callcore.center.queue import Acd, AcdError, OverflowTarget, QueueConfig, QueuedCall
from callcore.center.routing import CallerRouter, PrefixRegionLookup, StickyMemory, VipRule
from callcore.center.strategies import RingProgressively, make_strategy


def build(strategy="longest_idle", n=3, login=True, timers=None, sticky=None, **cfg):
    acd = Acd(timers=timers or AgentTimers(max_no_answer=0), rng=random.Random(7), sticky=sticky)
    cfg.setdefault("music", None)
    acd.add_queue(QueueConfig("q", strategy=strategy, **cfg))
    for i in range(n):
        acd.add_agent(Agent(f"a{i}", devices=(Device(f"sip:a{i}@h"),)), ["q"])
        if login:
            acd.login(f"a{i}", float(i))  # a0 idle longest
    acd.drain()
    return acd


def offers(cmds):
    return [c.agent_id for c in cmds if isinstance(c, OfferCall)]


def serve(acd, call_id, agent_id, t, talk=10.0):
    assert acd.answered(call_id, agent_id, t)
    acd.call_ended(call_id, t + talk)


def test_longest_idle_picks_earliest_idle_and_ties_by_position():
    acd = build("longest_idle")
    acd.enqueue("q", QueuedCall("c1"), 10.0)
    assert offers(acd.drain()) == ["a0"]
    serve(acd, "c1", "a0", 11.0)
    acd.enqueue("q", QueuedCall("c2"), 30.0)
    assert offers(acd.drain()) == ["a1"]


def test_longest_idle_tie_broken_in_member_order():
    acd = Acd()
    acd.add_queue(QueueConfig("q"))
    for name in ("z", "y", "x"):
        acd.add_agent(Agent(name, devices=(Device(name),)), ["q"])
        acd.login(name, 0.0)
    acd.enqueue("q", QueuedCall("c"), 5.0)
    assert offers(acd.drain()) == ["z"]


def test_least_calls_today_ties_in_order():
    acd = build("least_calls")
    t = 10.0
    got = []
    for i in range(6):
        acd.enqueue("q", QueuedCall(f"c{i}"), t)
        (a,) = offers(acd.drain())
        got.append(a)
        serve(acd, f"c{i}", a, t + 1)
        t += 20
    assert got == ["a0", "a1", "a2", "a0", "a1", "a2"]


def test_least_talk_time():
    acd = build("least_talk_time")
    acd.enqueue("q", QueuedCall("c0"), 10.0)
    serve(acd, "c0", "a0", 10.0, talk=100)
    acd.enqueue("q", QueuedCall("c1"), 200.0)
    serve(acd, "c1", "a1", 200.0, talk=50)
    acd.drain()
    acd.enqueue("q", QueuedCall("c2"), 400.0)
    assert offers(acd.drain()) == ["a2"]
    serve(acd, "c2", "a2", 400.0, talk=70)
    acd.enqueue("q", QueuedCall("c3"), 600.0)
    assert offers(acd.drain()) == ["a1"]


def test_linear_always_first_ready_in_position_order():
    acd = build("linear")
    acd.enqueue("q", QueuedCall("c0"), 10.0)
    assert offers(acd.drain()) == ["a0"]
    acd.enqueue("q", QueuedCall("c1"), 10.0)
    assert offers(acd.drain()) == ["a1"]
    serve(acd, "c0", "a0", 11.0)
    acd.enqueue("q", QueuedCall("c2"), 25.0)  # before c1's offer to a1 times out (30)
    assert offers(acd.drain()) == ["a0"]


def test_linear_explicit_positions():
    acd = Acd()
    acd.add_queue(QueueConfig("q", strategy="linear"))
    for name, pos in (("a", 30), ("b", 10), ("c", 20)):
        acd.add_agent(Agent(name, devices=(Device(name),)))
        acd.add_member("q", name, position=pos)
        acd.login(name, 0.0)
    acd.enqueue("q", QueuedCall("x"), 1.0)
    assert offers(acd.drain()) == ["b"]


def test_round_robin_remembers_last():
    acd = build("round_robin")
    got = []
    for i in range(5):
        acd.enqueue("q", QueuedCall(f"c{i}"), 10.0 + i)
        (a,) = offers(acd.drain())
        got.append(a)
        serve(acd, f"c{i}", a, 10.0 + i, talk=0.1)
    assert got == ["a0", "a1", "a2", "a0", "a1"]


def test_round_robin_skips_busy_member():
    acd = build("round_robin")
    acd.enqueue("q", QueuedCall("c0"), 10.0)  # a0, keeps it
    acd.enqueue("q", QueuedCall("c1"), 10.0)  # a1
    serve(acd, "c1", "a1", 10.0, talk=0.1)
    acd.drain()
    acd.enqueue("q", QueuedCall("c2"), 20.0)
    assert offers(acd.drain()) == ["a2"]
    acd.enqueue("q", QueuedCall("c3"), 20.0)
    assert offers(acd.drain()) == ["a1"]  # wraps past busy a0


def test_random_uses_injected_generator_and_covers_all():
    def run(seed):
        acd = Acd(rng=random.Random(seed))
        acd.add_queue(QueueConfig("q", strategy="random"))
        for i in range(4):
            acd.add_agent(Agent(f"a{i}", devices=(Device("d"),)), ["q"])
            acd.login(f"a{i}", 0.0)
        got = []
        for i in range(200):
            acd.enqueue("q", QueuedCall(f"c{i}"), 1.0 + i)
            (a,) = offers(acd.drain())
            got.append(a)
            serve(acd, f"c{i}", a, 1.0 + i, talk=0.1)
        return got

    a, b = run(1), run(1)
    assert a == b  # reproducible
    assert set(Counter(a)) == {"a0", "a1", "a2", "a3"}
    assert a != run(2)


def test_weighted_random_follows_weights():
    acd = Acd(rng=random.Random(3))
    acd.add_queue(QueueConfig("q", strategy="weighted_random"))
    for name, w in (("heavy", 8.0), ("light", 2.0), ("never", 0.0)):
        acd.add_agent(Agent(name, devices=(Device("d"),)))
        acd.add_member("q", name, weight=w)
        acd.login(name, 0.0)
    got = Counter()
    for i in range(1000):
        acd.enqueue("q", QueuedCall(f"c{i}"), 1.0 + i)
        (a,) = offers(acd.drain())
        got[a] += 1
        serve(acd, f"c{i}", a, 1.0 + i, talk=0.1)
    assert got["never"] == 0
    assert 0.72 < got["heavy"] / 1000 < 0.88


def test_random_strategy_needs_rng():
    with pytest.raises(ValueError, match=r"random\.Random"):
        make_strategy("random")
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("telepathy")


def test_ring_all_first_answer_wins_others_cancelled():
    acd = build("ring_all")
    acd.enqueue("q", QueuedCall("c1"), 10.0)
    assert sorted(offers(acd.drain())) == ["a0", "a1", "a2"]
    assert acd.answered("c1", "a1", 12.0)
    cmds = acd.drain()
    assert sorted(c.agent_id for c in cmds if isinstance(c, CancelOffer)) == ["a0", "a2"]
    assert [c for c in cmds if isinstance(c, Bridge)] == [Bridge("c1", "a1", "q")]
    # a late answer from a cancelled agent is refused
    assert not acd.answered("c1", "a0", 12.1)
    # the others are free again for the next caller
    acd.enqueue("q", QueuedCall("c2"), 13.0)
    assert sorted(offers(acd.drain())) == ["a0", "a2"]


def test_ring_progressively_adds_one_member_per_interval():
    acd = build(RingProgressively(interval=5.0), n=3)
    acd.enqueue("q", QueuedCall("c1"), 10.0)
    assert offers(acd.drain()) == ["a0"]
    acd.poll(14.9)
    assert offers(acd.drain()) == []
    acd.poll(15.0)
    assert offers(acd.drain()) == ["a1"]
    acd.poll(20.0)
    assert offers(acd.drain()) == ["a2"]
    assert acd.answered("c1", "a0", 21.0)  # the first still rings and can answer
    cancelled = sorted(c.agent_id for c in acd.drain() if isinstance(c, CancelOffer))
    assert cancelled == ["a1", "a2"]


def test_no_answer_moves_to_next_agent_after_accept_timeout():
    acd = build("linear", offer_timeout=15.0)
    acd.enqueue("q", QueuedCall("c1"), 10.0)
    assert offers(acd.drain()) == ["a0"]
    assert acd.next_deadline() == 25.0
    acd.poll(25.0)
    cmds = acd.drain()
    assert CancelOffer("c1", "a0", "no answer") in cmds
    assert offers(cmds) == ["a1"]
    acd.rejected("c1", "a1", 26.0)
    assert offers(acd.drain()) == ["a2"]


def test_whisper_text_for_agent():
    acd = build("linear", whisper="{queue} call, {tier} customer")
    acd.enqueue("q", QueuedCall("c1", tier="gold"), 10.0)
    (offer,) = [c for c in acd.drain() if isinstance(c, OfferCall)]
    assert offer.whisper == "q call, gold customer"
    assert offer.devices == ("sip:a0@h",)


def test_agent_logout_mid_offer_goes_to_next_agent():
    acd = build("linear")
    acd.enqueue("q", QueuedCall("c1"), 10.0)
    assert offers(acd.drain()) == ["a0"]
    acd.logout("a0", 11.0)
    cmds = acd.drain()
    assert CancelOffer("c1", "a0", "agent logged out") in cmds
    assert offers(cmds) == ["a1"]
    assert acd.pool.get("a0").status is AgentStatus.LOGGED_OUT
    assert not acd.answered("c1", "a0", 12.0)


def test_call_waits_then_goes_to_first_agent_freed():
    acd = build("linear", n=1)
    acd.enqueue("q", QueuedCall("c1"), 10.0)
    acd.enqueue("q", QueuedCall("c2"), 11.0)
    acd.enqueue("q", QueuedCall("c3"), 12.0)
    assert offers(acd.drain()) == ["a0"]
    serve(acd, "c1", "a0", 13.0)
    assert [(c.call_id, c.agent_id) for c in acd.drain() if isinstance(c, OfferCall)] == [
        ("c2", "a0")
    ]


def test_wrap_up_delays_next_offer():
    acd = build("linear", n=1, wrap_up=30.0)
    acd.enqueue("q", QueuedCall("c1"), 10.0)
    acd.enqueue("q", QueuedCall("c2"), 11.0)
    acd.drain()
    serve(acd, "c1", "a0", 12.0, talk=8.0)  # ends at 20
    assert offers(acd.drain()) == []
    acd.poll(49.9)
    assert offers(acd.drain()) == []
    acd.poll(50.0)
    assert offers(acd.drain()) == ["a0"]


def test_vip_priority_overtakes_and_score_grows_with_wait():
    acd = build("linear", n=1)
    acd.enqueue("q", QueuedCall("busy"), 0.0)  # occupies a0
    acd.enqueue("q", QueuedCall("old"), 1.0)
    acd.enqueue("q", QueuedCall("scored", base_score=60.0), 30.0)  # counts as since -30
    acd.enqueue("q", QueuedCall("vip", priority=5), 100.0)
    acd.enqueue("q", QueuedCall("new"), 101.0)
    line = [c.call_id for c in acd.waiting("q") if c.call_id != "busy"]
    assert line == ["vip", "scored", "old", "new"]
    order = []
    cur = "busy"
    t = 110.0
    acd.drain()
    for _ in range(4):
        serve(acd, cur, "a0", t)
        (o,) = [c for c in acd.drain() if isinstance(c, OfferCall)]
        order.append(o.call_id)
        cur = o.call_id
        t += 20
    assert order == ["vip", "scored", "old", "new"]


def test_join_empty_refused_and_leave_when_empty():
    acd = build("linear", n=1, login=False, join_empty=False)
    assert not acd.enqueue("q", QueuedCall("c1"), 1.0)
    assert acd.drain() == [Overflow("c1", "q", "voicemail", "", "empty")]
    acd2 = build("linear", n=1, leave_when_empty=True, on_empty=OverflowTarget("voicemail", "mb1"))
    acd2.enqueue("q", QueuedCall("c1"), 1.0)
    acd2.enqueue("q", QueuedCall("c2"), 2.0)
    acd2.drain()
    acd2.logout("a0", 3.0)
    cmds = acd2.drain()
    assert Overflow("c2", "q", "voicemail", "mb1", "empty") in cmds
    assert Overflow("c1", "q", "voicemail", "mb1", "empty") in cmds


def test_max_length():
    acd = build("linear", n=0, max_length=2, on_full=OverflowTarget("number", "+861234"))
    assert acd.enqueue("q", QueuedCall("c1"), 1.0)
    assert acd.enqueue("q", QueuedCall("c2"), 1.0)
    assert not acd.enqueue("q", QueuedCall("c3"), 1.0)
    assert acd.drain() == [Overflow("c3", "q", "number", "+861234", "full")]


def test_max_wait_overflow_to_other_queue():
    acd = build("linear", n=0, max_wait=60.0, on_max_wait=OverflowTarget("queue", "backup"))
    acd.add_queue(QueueConfig("backup", strategy="linear"))
    acd.add_agent(Agent("b0", devices=(Device("sip:b0"),)), ["backup"])
    acd.enqueue("q", QueuedCall("c1"), 0.0)
    acd.poll(59.0)
    assert acd.drain() == []
    acd.login("b0", 59.5)  # backup agent arrives, but c1 is still in q
    assert acd.drain() == []
    acd.poll(60.0)
    cmds = acd.drain()
    assert [(c.call_id, c.agent_id, c.queue) for c in cmds if isinstance(c, OfferCall)] == [
        ("c1", "b0", "backup")
    ]


def test_max_wait_to_voicemail():
    acd = build("linear", n=0, max_wait=30.0, on_max_wait=OverflowTarget("voicemail", "cards"))
    acd.enqueue("q", QueuedCall("c1"), 0.0)
    acd.poll(30.0)
    assert acd.drain() == [Overflow("c1", "q", "voicemail", "cards", "max wait")]
    with pytest.raises(AcdError):
        acd.call("c1")


def test_callback_offer_keeps_place_and_is_placed_when_agent_frees():
    acd = build("linear", n=1, max_wait=30.0, on_max_wait=OverflowTarget("callback"))
    acd.enqueue("q", QueuedCall("c0"), 0.0)  # takes a0
    acd.enqueue("q", QueuedCall("c1", number="+8613900000001"), 1.0)
    acd.enqueue("q", QueuedCall("c2"), 2.0)
    acd.drain()
    acd.poll(31.0)
    assert OfferCallbackChoice("c1", "q", 2) in acd.drain()
    acd.accept_callback("c1", 31.5)
    acd.poll(40.0)  # c2's offer (ignored)
    acd.drain()
    serve(acd, "c0", "a0", 45.0, talk=5.0)
    cmds = acd.drain()
    assert PlaceCallback("c1", "a0", "+8613900000001", "q", ("sip:a0@h",)) in cmds
    assert acd.answered("c1", "a0", 60.0)


def test_position_and_periodic_announcements():
    acd = build("linear", n=1, announce_position=True, announce_every=30.0)
    acd.enqueue("q", QueuedCall("c0"), 0.0)
    acd.enqueue("q", QueuedCall("c1"), 1.0)
    ann = [c for c in acd.drain() if isinstance(c, PlayAnnouncement)]
    assert [(a.call_id, a.kind, a.position) for a in ann] == [
        ("c0", "position", 1),
        ("c1", "position", 2),
    ]
    assert ann[1].expected_wait is not None and ann[1].expected_wait > 0
    acd.answered("c0", "a0", 5.0)
    acd.poll(31.0)
    ann = [c for c in acd.drain() if isinstance(c, PlayAnnouncement)]
    assert [(a.call_id, a.kind, a.position) for a in ann] == [("c1", "periodic", 1)]


def test_abandon_while_ringing_releases_agent():
    acd = build("linear", n=1)
    acd.enqueue("q", QueuedCall("c1"), 0.0)
    events = []
    acd.subscribe(events.append)
    acd.caller_hangup("c1", 4.0)
    assert CancelOffer("c1", "a0", "caller hung up") in acd.drain()
    assert any(isinstance(e, CallAbandoned) and e.wait == 4.0 for e in events)
    assert acd.pool.get("a0").ready


def test_skills_tiers_widen_with_wait():
    acd = Acd()
    acd.add_queue(
        QueueConfig(
            "cards", strategy="linear", skills={"cards": 1}, tiers=((0, 5), (20, 3), (40, 1))
        )
    )
    for name, lv in (("expert", 5), ("mid", 3), ("junior", 1), ("none", 0)):
        acd.add_agent(Agent(name, devices=(Device(name),), skills={"cards": lv} if lv else {}))
    assert [m.agent.id for m in acd.members("cards")] == ["expert", "mid", "junior"]
    for name in ("mid", "junior"):
        acd.login(name, 0.0)
    acd.enqueue("cards", QueuedCall("c"), 0.0)
    acd.poll(19.9)
    assert offers(acd.drain()) == []
    acd.poll(20.0)
    assert offers(acd.drain()) == ["mid"]
    acd.rejected("c", "mid", 21.0)
    acd.drain()
    # mid rejected; junior is tier 3 (after 40 s); mid is offered again meanwhile
    acd.logout("mid", 22.0)
    assert offers(acd.drain()) == []
    acd.poll(40.0)
    assert offers(acd.drain()) == ["junior"]


def test_explicit_tier_levels_with_tier_wait():
    acd = build("linear", n=0, tier_wait=30.0)
    acd.add_agent(Agent("t1", devices=(Device("d"),)), {"q": 1})
    acd.login("t1", 0.0)
    acd.enqueue("q", QueuedCall("c"), 0.0)
    assert offers(acd.drain()) == []
    acd.poll(30.0)
    assert offers(acd.drain()) == ["t1"]


def test_region_and_product_routing_with_relax():
    router = CallerRouter(
        regions=PrefixRegionLookup(),
        region_skills={"south": "cantonese"},
        product_skills={"loans": "loans"},
    )
    acd = Acd()
    acd.add_queue(QueueConfig("q", strategy="linear", attribute_relax=45.0))
    acd.add_agent(Agent("north", devices=(Device("n"),), skills={"loans": 1}), ["q"])
    acd.add_agent(Agent("south", devices=(Device("s"),), skills={"cantonese": 2}), ["q"])
    for a in ("north", "south"):
        acd.login(a, 0.0)
    h = router.hints("+86755 1234 5678", 1.0)
    assert h["region"] == "south" and h["skills"] == {"cantonese": 1}
    acd.enqueue("q", QueuedCall("c1", number="+8675512345678", **h), 1.0)
    assert offers(acd.drain()) == ["south"]
    assert acd.answered("c1", "south", 2.0)
    h2 = router.hints("02012345678", 2.0, product="loans")
    assert h2["skills"] == {"cantonese": 1, "loans": 1}
    acd.enqueue("q", QueuedCall("c2", **h2), 2.0)
    assert offers(acd.drain()) == []  # nobody speaks cantonese AND does loans
    acd.poll(47.0)
    assert offers(acd.drain()) == ["north"]  # requirement relaxed


def test_sticky_last_agent_with_timeout():
    sticky = StickyMemory(timeout=3600)
    router = CallerRouter(sticky=sticky)
    acd = build("linear", sticky=sticky)
    acd.enqueue("q", QueuedCall("c1", number="555"), 10.0)
    acd.drain()
    acd.rejected("c1", "a0", 11.0)
    acd.drain()
    serve(acd, "c1", "a1", 12.0)
    acd.enqueue("q", QueuedCall("c2", number="555", **router.hints("555", 100.0)), 100.0)
    assert offers(acd.drain()) == ["a1"]
    serve(acd, "c2", "a1", 101.0)
    acd.enqueue("q", QueuedCall("c3", number="555", **router.hints("555", 5000.0)), 5000.0)
    assert offers(acd.drain()) == ["a0"]  # memory expired, linear again


def test_vip_dedicated_agent_exclusive_then_falls_back():
    router = CallerRouter(
        vip={"private": VipRule(priority=9, dedicated_agent="a2", dedicated_wait=30)}
    )
    assert router.direct_agent("private") == "a2"
    acd = build("linear")
    acd.enqueue("q", QueuedCall("busy"), 0.0)  # a0... leave a2 busy instead:
    acd.drain()
    acd.caller_hangup("busy", 0.5)
    acd.set_status("a2", AgentStatus.NOT_READY, 0.6)
    acd.drain()
    acd.enqueue("q", QueuedCall("v", **router.hints("1", 1.0, tier="private")), 1.0)
    assert offers(acd.drain()) == []  # a0, a1 free but the dedicated agent is awaited
    acd.set_status("a2", AgentStatus.AVAILABLE, 5.0)
    assert offers(acd.drain()) == ["a2"]
    assert acd.answered("v", "a2", 5.5)
    # a second VIP: dedicated agent busy for 30 s, then anyone
    acd.enqueue("q", QueuedCall("v2", **router.hints("2", 6.0, tier="private")), 6.0)
    assert offers(acd.drain()) == []
    acd.poll(36.0)
    assert offers(acd.drain()) == ["a0"]


def test_queue_weight_decides_between_queues_for_shared_agent():
    acd = Acd()
    acd.add_queue(QueueConfig("low", strategy="linear"))
    acd.add_queue(QueueConfig("high", strategy="linear", weight=5))
    acd.add_agent(Agent("a", devices=(Device("d"),)), ["low", "high"])
    acd.enqueue("low", QueuedCall("l1"), 0.0)
    acd.enqueue("high", QueuedCall("h1"), 10.0)
    acd.login("a", 11.0)
    (o,) = [c for c in acd.drain() if isinstance(c, OfferCall)]
    assert o.call_id == "h1"


def test_api_errors():
    acd = build()
    with pytest.raises(AcdError, match="unknown queue"):
        acd.enqueue("nope", QueuedCall("x"), 0.0)
    acd.enqueue("q", QueuedCall("x"), 0.0)
    with pytest.raises(AcdError, match="already queued"):
        acd.enqueue("q", QueuedCall("x"), 0.0)
    with pytest.raises(AcdError, match="not bridged"):
        acd.call_ended("x", 1.0)
    with pytest.raises(AcdError, match="already exists"):
        acd.add_queue(QueueConfig("q"))


def test_hold_music_on_join_and_screen_pop_for_offer():
    from callcore.center.events import HoldMusic
    from callcore.center.screenpop import pop_for_offer

    sticky = StickyMemory()
    acd = build("linear", n=1, music="bank-jazz", sticky=sticky)
    acd.enqueue("q", QueuedCall("c0", number="555"), 0.0)
    serve(acd, "c0", "a0", 1.0)
    acd.drain()
    call = QueuedCall(
        "c1", number="555", tier="gold", attrs={"ivr_path": ["main"], "ivr_inputs": {"menu": "1"}}
    )
    acd.enqueue("q", call, 20.0)
    cmds = acd.drain()
    assert cmds[0] == HoldMusic("c1", "q", "bank-jazz")
    (offer,) = [c for c in cmds if isinstance(c, OfferCall)]
    pop = pop_for_offer(offer, acd.call("c1"), 20.0, sticky)
    assert (pop.agent_id, pop.previous_calls, pop.last_agent, pop.tier) == ("a0", 1, "a0", "gold")
    assert pop.ivr_path == ("main",) and dict(pop.ivr_inputs) == {"menu": "1"}


def test_max_wait_during_unanswered_offer_overflows_when_offer_fails():
    acd = build("linear", n=1, max_wait=30.0, offer_timeout=20.0)
    acd.enqueue("q", QueuedCall("c0"), 0.0)
    acd.drain()
    acd.caller_hangup("c0", 1.0)  # a0 free again
    acd.set_status("a0", AgentStatus.NOT_READY, 1.5)
    acd.enqueue("q", QueuedCall("c1"), 2.0)
    acd.set_status("a0", AgentStatus.AVAILABLE, 20.0)  # offer at 20, times out at 40
    assert offers(acd.drain()) == ["a0"]
    acd.poll(32.0)  # max wait passes while ringing: keep ringing
    assert acd.drain() == []
    acd.poll(40.0)
    cmds = acd.drain()
    assert Overflow("c1", "q", "voicemail", "", "max wait") in cmds
    assert offers(cmds) == []


def test_queued_call_from_ivr_attrs_and_router():
    router = CallerRouter(
        regions=PrefixRegionLookup(),
        region_skills={"east": "shanghainese"},
        product_skills={"cards": "cards"},
        vip={"gold": VipRule(priority=5, base_score=30)},
    )
    attrs = {"tier": "gold", "product": "cards", "customer_id": "C1", "ivr_path": ["main"]}
    c = QueuedCall.from_ivr("x", "+862112345678", 0.0, attrs=attrs, priority=2, router=router)
    assert c.skills == {"shanghainese": 1, "cards": 1}
    assert (c.priority, c.base_score, c.customer_id, c.region) == (5, 30, "C1", "east")
    assert c.attrs["ivr_path"] == ["main"]


def test_reset_daily_counters():
    acd = build("least_calls")
    acd.enqueue("q", QueuedCall("c"), 10.0)
    serve(acd, "c", "a0", 10.0)
    assert acd.pool.get("a0").calls_today == 1
    acd.pool.reset_daily()
    assert acd.pool.get("a0").calls_today == 0 and acd.pool.get("a0").talk_time == 0.0


def test_tier_boundary_with_float_drift_terminates_and_offers():
    # 247.91 + 40 - 247.91 < 40 in floating point: the widen step must still fire once
    assert (247.91 + 40.0) - 247.91 < 40.0
    acd = build("linear", n=0, tier_wait=40.0)
    acd.add_agent(Agent("t1", devices=(Device("d"),)), {"q": 1})
    acd.login("t1", 0.0)
    acd.enqueue("q", QueuedCall("c"), 247.91)
    acd.poll(247.91 + 40.0)
    assert offers(acd.drain()) == ["t1"]
    assert acd.next_deadline() == pytest.approx(247.91 + 40.0 + 20.0)  # only the offer timer


def test_inputs_run_due_timers_first():
    acd = build("linear", n=2, offer_timeout=10.0)
    acd.enqueue("q", QueuedCall("c1"), 0.0)
    assert offers(acd.drain()) == ["a0"]
    # no explicit poll: the answer arrives after the accept timeout and is refused
    assert not acd.answered("c1", "a0", 10.5)
    cmds = acd.drain()
    assert CancelOffer("c1", "a0", "no answer") in cmds and offers(cmds) == ["a1"]
    assert acd.answered("c1", "a1", 11.0)
