import pytest

from callcore.center.agents import Agent, Device
from callcore.center.events import AgentStatusChanged, CallAbandoned, CallQueued
from callcore.center.queue import Acd, QueueConfig, QueuedCall
from callcore.center.stats import StatsCollector


def scenario():
    acd = Acd()
    stats = StatsCollector(interval=100.0, service_level=20.0)
    acd.subscribe(stats.on_event)
    acd.add_queue(QueueConfig("q", strategy="linear", wrap_up=10.0))
    acd.add_agent(Agent("a", devices=(Device("d"),)), ["q"])
    acd.login("a", 0.0)
    # c1 answered after 5 s, talks 40 s (+10 wrap)
    acd.enqueue("q", QueuedCall("c1"), 0.0)
    acd.answered("c1", "a", 5.0)
    acd.enqueue("q", QueuedCall("c2"), 10.0)  # waits
    acd.enqueue("q", QueuedCall("c3"), 12.0)  # abandons after 8 s
    acd.caller_hangup("c3", 20.0)
    acd.call_ended("c1", 45.0)
    acd.poll(55.0)  # wrap done -> c2 offered at 55
    acd.answered("c2", "a", 60.0)  # waited 50 s
    acd.call_ended("c2", 80.0)
    acd.poll(90.0)
    acd.set_status("a", "not_ready", 140.0, "training")
    acd.enqueue("q", QueuedCall("c4"), 150.0)  # second interval, abandons after 30 s
    return acd, stats


def test_totals_sl_asa_aht_abandon():
    _, stats = scenario()
    c = stats.totals["q"]
    assert (c.offered, c.answered, c.abandoned) == (4, 2, 1)
    assert c.service_level == pytest.approx(0.5)  # c1 within 20 s, c2 not
    assert c.service_level2 == pytest.approx(1 / 3)
    assert c.asa == pytest.approx((5 + 50) / 2)
    assert c.aht == pytest.approx(((40 + 10) + (20 + 10)) / 2)
    assert c.abandon_waits == [8.0]
    assert c.longest_wait == 50.0


def test_intervals_and_live():
    acd, stats = scenario()
    first = stats.bucket("q", 0.0)
    second = stats.bucket("q", 100.0)
    assert (first.offered, second.offered) == (3, 1)
    live = stats.live("q", 170.0)
    assert live.waiting == 1 and live.longest_current_wait == 20.0
    acd.caller_hangup("c4", 180.0)
    assert stats.bucket("q", 100.0).abandoned == 1
    assert [s for s, _ in stats.intervals("q")] == [0.0, 100.0]


def test_occupancy():
    acd, stats = scenario()
    # agent available 0-140; busy (reserved/on call/wrap) 0-55 and 55-90
    assert stats.occupancy() == pytest.approx(90.0 / 140.0)
    acd.set_status("a", "available", 200.0)
    # c4 is offered at 200 and rings until 210
    assert stats.occupancy(now=210.0) == pytest.approx(100.0 / 150.0)
    assert stats.interval_occupancy(100.0) == pytest.approx(0.0)


def test_event_stream_has_every_change():
    _, stats = scenario()
    kinds = {type(e) for e in stats.events}
    assert {AgentStatusChanged, CallQueued, CallAbandoned} <= kinds
    assert all(e.at <= 150.0 for e in stats.events)
