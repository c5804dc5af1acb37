import pytest

from callcore.center.agents import (
    Agent,
    AgentPool,
    AgentState,
    AgentStatus,
    AgentTimers,
    AlreadyLoggedIn,
    Device,
    DeviceNotRegistered,
    IllegalTransition,
    NotLoggedIn,
    UnknownAgent,
)
from callcore.center.events import AgentStateChanged, AgentStatusChanged


def make_pool(registered=("sip:alice@127.0.0.1",), **timers):
    events = []
    pool = AgentPool(
        is_registered=lambda aor: aor in registered,
        timers=AgentTimers(**timers),
        sink=events.append,
    )
    pool.add(
        Agent(
            "alice",
            devices=(Device("sip:alice@127.0.0.1"), Device("+8613800000000", "mobile")),
            skills={"cards": 3},
            teams=frozenset({"t1"}),
        )
    )
    return pool, events


def test_login_twice_is_a_clear_error():
    pool, _ = make_pool()
    pool.login("alice", 0.0)
    with pytest.raises(AlreadyLoggedIn, match="already logged in"):
        pool.login("alice", 1.0)


def test_login_from_unregistered_device_refused():
    pool, _ = make_pool(registered=())
    with pytest.raises(DeviceNotRegistered, match="not registered"):
        pool.login("alice", 0.0)
    assert pool.get("alice").status is AgentStatus.LOGGED_OUT
    # a mobile-only login needs no registration
    a = pool.login("alice", 0.0, devices=[Device("+8613800000000", "mobile")])
    assert a.status is AgentStatus.AVAILABLE and a.ready


def test_unknown_agent_and_bad_device_kind():
    pool, _ = make_pool()
    with pytest.raises(UnknownAgent):
        pool.get("bob")
    with pytest.raises(ValueError):
        Device("x", "fax")


def test_status_changes_need_login_and_follow_table():
    pool, events = make_pool()
    with pytest.raises(NotLoggedIn):
        pool.set_status("alice", AgentStatus.AVAILABLE, 0.0)
    pool.login("alice", 0.0)
    pool.set_status("alice", AgentStatus.NOT_READY, 1.0, "lunch")
    a = pool.get("alice")
    assert a.reason == "lunch" and not a.ready
    pool.set_status("alice", AgentStatus.ON_BREAK, 2.0)
    pool.set_status("alice", AgentStatus.AVAILABLE, 3.0)
    assert a.ready
    kinds = [(type(e).__name__, e.new) for e in events]
    assert kinds == [
        ("AgentStatusChanged", "available"),
        ("AgentStatusChanged", "not_ready"),
        ("AgentStatusChanged", "on_break"),
        ("AgentStatusChanged", "available"),
    ]
    assert [h.new for h in a.history] == ["available", "not_ready", "on_break", "available"]


def test_state_table_rejects_illegal_transitions():
    pool, _ = make_pool()
    pool.login("alice", 0.0)
    with pytest.raises(IllegalTransition):
        pool.transition("alice", "answer", 1.0)
    with pytest.raises(IllegalTransition):
        pool.transition("alice", "hangup", 1.0)
    pool.transition("alice", "reserve", 1.0, call_id="c1")
    with pytest.raises(IllegalTransition):
        pool.transition("alice", "reserve", 1.0, call_id="c2")
    pool.transition("alice", "answer", 2.0)
    with pytest.raises(IllegalTransition, match="on a call"):
        pool.set_status("alice", AgentStatus.LOGGED_OUT, 3.0)


def test_counters_talk_time_calls_today_idle_since():
    pool, events = make_pool()
    pool.login("alice", 0.0)
    pool.transition("alice", "reserve", 10.0, call_id="c1")
    pool.transition("alice", "answer", 12.0)
    pool.transition("alice", "hangup", 72.0)
    a = pool.get("alice")
    assert a.state is AgentState.WRAP_UP and not a.ready
    pool.transition("alice", "wrap_done", 80.0)
    assert (a.calls_today, a.talk_time, a.idle_since) == (1, 60.0, 80.0)
    states = [e.new for e in events if isinstance(e, AgentStateChanged)]
    assert states == ["reserved", "on_call", "wrap_up", "idle"]


def test_not_ready_when_reserved_cannot_be_reserved():
    pool, _ = make_pool()
    pool.login("alice", 0.0, available=False)
    with pytest.raises(IllegalTransition, match="not ready"):
        pool.transition("alice", "reserve", 1.0)


def test_max_no_answer_sets_not_ready_with_reason():
    pool, events = make_pool(max_no_answer=2)
    pool.login("alice", 0.0)
    for t in (1.0, 30.0):
        pool.transition("alice", "reserve", t, call_id="c")
        pool.missed("alice", t + 20, "no_answer")
    a = pool.get("alice")
    assert a.status is AgentStatus.NOT_READY and a.reason == "max-no-answer"
    last = [e for e in events if isinstance(e, AgentStatusChanged)][-1]
    assert last.reason == "max-no-answer"


def test_answer_resets_no_answer_count():
    pool, _ = make_pool(max_no_answer=2)
    pool.login("alice", 0.0)
    pool.transition("alice", "reserve", 1.0, call_id="c")
    pool.missed("alice", 2.0, "no_answer")
    pool.transition("alice", "reserve", 3.0, call_id="c")
    pool.transition("alice", "answer", 4.0)
    pool.transition("alice", "hangup", 5.0)
    pool.transition("alice", "wrap_done", 5.0)
    pool.transition("alice", "reserve", 6.0, call_id="c")
    pool.missed("alice", 7.0, "no_answer")
    assert pool.get("alice").status is AgentStatus.AVAILABLE


@pytest.mark.parametrize(("kind", "delay"), [("no_answer", 5.0), ("reject", 7.0), ("busy", 9.0)])
def test_miss_delays(kind, delay):
    pool, _ = make_pool(no_answer_delay=5.0, reject_delay=7.0, busy_delay=9.0, max_no_answer=0)
    pool.login("alice", 0.0)
    pool.transition("alice", "reserve", 1.0, call_id="c")
    pool.missed("alice", 2.0, kind)
    assert not pool.refresh("alice", 2.0 + delay - 0.01)
    assert pool.refresh("alice", 2.0 + delay)
