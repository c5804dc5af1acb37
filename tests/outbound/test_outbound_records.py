"""Retry policy, contact pool ordering, reservations and owned callbacks (fake clock)."""

from __future__ import annotations

import pytest

from callcore.outbound.lists import ContactRecord
from callcore.outbound.numbers import normalize
from callcore.outbound.records import (
    DEFAULT_RULES,
    ContactPool,
    Disposition,
    RecordState,
    RetryPolicy,
    RetryRule,
)

PHONE = normalize("13800138000")
MIN, HOUR = 60.0, 3600.0


def rec(rid: str, line: int | None = None, **fields: object) -> ContactRecord:
    line = int(rid.lstrip("r")) if line is None else line
    return ContactRecord(rid, PHONE.e164, PHONE, line=line, fields=fields)


def pool_of(n: int, **kw) -> ContactPool:
    pool = ContactPool(**kw)
    pool.add(rec(f"r{i}") for i in range(1, n + 1))
    return pool


def drain(pool: ContactPool, now: float, **who: str) -> list[str]:
    out = []
    while (r := pool.next_ready(now, **who)) is not None:
        out.append(r.record_id)
    return out


# --- dispositions and the retry policy --------------------------------------------------


def test_final_dispositions() -> None:
    final = {d.value for d in Disposition if d.final}
    assert {"paid", "sale", "wrong_number", "invalid_number", "do_not_call", "deceased"} <= final
    assert {"refused", "not_interested", "fax", "dispute"} <= final
    for code in ("busy", "no_answer", "machine", "callback", "abandoned", "promise_to_pay"):
        assert not Disposition(code).final


def _run(policy: RetryPolicy, outcomes: list[str]) -> list[float | None]:
    """Feed outcomes one by one at t=0; return each next-attempt delay."""
    st = RecordState(rec("r1"))
    out = []
    for code in outcomes:
        st.attempts += 1
        st.history.append((0.0, Disposition(code)))
        out.append(policy.next_attempt(st, code, 0.0))
    return out


def test_busy_backs_off_doubling_and_retires_on_the_fifth() -> None:
    assert _run(RetryPolicy(), ["busy"] * 5) == [300, 600, 1200, 2400, None]


def test_no_answer_backs_off_by_half_and_retires_on_the_sixth() -> None:
    got = _run(RetryPolicy(), ["no_answer"] * 6)
    assert got == [3600, 5400, 8100, 12150, 18225, None]


def test_other_default_rules() -> None:
    assert _run(RetryPolicy(), ["machine"] * 4) == [7200] * 3 + [None]
    assert _run(RetryPolicy(), ["network_failure"] * 3) == [120, 120, None]
    assert _run(RetryPolicy(), ["abandoned"] * 3) == [72 * HOUR, 72 * HOUR, None]


def test_backoff_counts_each_outcome_separately() -> None:
    assert _run(RetryPolicy(), ["busy", "no_answer", "busy", "no_answer"]) == [
        300,
        3600,
        600,
        5400,
    ]


def test_overall_cap_and_final_outcomes_retire() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert _run(policy, ["busy", "no_answer", "machine"]) == [300, 3600, None]
    assert _run(RetryPolicy(), ["busy", "paid"]) == [300, None]
    assert _run(RetryPolicy(), ["wrong_number"]) == [None]


def test_custom_rules_default_rule_and_custom_codes() -> None:
    policy = RetryPolicy(
        rules={**DEFAULT_RULES, "busy": RetryRule(60, 3.0, 3)},
        default=RetryRule(10 * MIN),
        extra_final=frozenset({"legal_hold"}),
    )
    assert _run(policy, ["busy"] * 3) == [60, 180, None]
    st = RecordState(rec("r1"), attempts=1, history=[(0.0, "rang_out")])
    assert policy.next_attempt(st, "rang_out", 100.0) == 700.0  # unknown code: default rule
    assert policy.next_attempt(st, "legal_hold", 100.0) is None
    with pytest.raises(ValueError):
        RetryRule(-1)
    with pytest.raises(ValueError):
        RetryRule(60, max_attempts=0)


# --- the pool: order, eligibility, retirement -------------------------------------------


def test_fifo_by_line_then_insertion_order() -> None:
    pool = ContactPool()
    pool.add([rec("a", 5), rec("b", 2), rec("c", 5), rec("d", 2)])
    pool.add([rec("e", 1)])  # a second list, its own line numbers
    assert drain(pool, 0.0) == ["e", "b", "d", "a", "c"]


def test_priority_function_higher_first_ties_by_line() -> None:
    pool = ContactPool(priority=lambda r, s: float(r.fields["balance"]))
    pool.add(
        [
            rec("r1", balance=10),
            rec("r2", balance=500),
            rec("r3", balance=10),
            rec("r4", balance=900),
            rec("r5", balance=500),
        ]
    )
    assert drain(pool, 0.0) == ["r4", "r2", "r5", "r1", "r3"]


def test_priority_can_use_the_state_fresh_records_first() -> None:
    pool = pool_of(3, priority=lambda r, s: -s.attempts)
    assert pool.next_ready(0.0).record_id == "r1"
    pool.report("r1", "network_failure", 0.0)  # back in 2 minutes
    assert drain(pool, 500.0) == ["r2", "r3", "r1"]


def test_retry_is_not_offered_before_its_time() -> None:
    pool = pool_of(1)
    assert pool.next_ready(0.0).record_id == "r1"
    assert pool.next_ready(1.0) is None  # being dialed
    assert pool.report("r1", "busy", 10.0) == 310.0
    assert pool.next_ready(309.9) is None
    assert pool.next_ready(310.0).record_id == "r1"
    assert pool.report("r1", "busy", 320.0) == 920.0
    st = pool.state("r1")
    assert st.attempts == 2 and st.last_outcome == "busy" and st.last_attempt == 320.0
    assert st.history == [(10.0, "busy"), (320.0, "busy")]


def test_final_disposition_and_exhausted_retries_retire() -> None:
    pool = pool_of(2)
    pool.next_ready(0.0)
    assert pool.report("r1", "completed", 5.0, disposition="promise_to_pay") == 5.0 + 72 * HOUR
    assert pool.state("r1").disposition == "promise_to_pay"
    pool.next_ready(0.0)
    assert pool.report("r2", "completed", 5.0, disposition=Disposition.PAID) is None
    assert pool.remaining() == 1
    t = 72 * HOUR
    for _ in range(5):
        t += 10 * HOUR
        assert pool.next_ready(t).record_id == "r1"
        nxt = pool.report("r1", "busy", t)
    assert nxt is None and pool.remaining() == 0
    assert pool.next_ready(t + 100 * HOUR) is None
    assert pool.state("r1").status == "retired"


def test_the_disposition_decides_when_given() -> None:
    pool = pool_of(2)
    pool.next_ready(0.0)
    assert pool.report("r1", "completed", 0.0) is None  # a finished call, no wrap-up code
    pool.next_ready(0.0)
    assert pool.report("r2", "completed", 0.0, disposition="callback") == HOUR
    st = pool.state("r2")
    assert (st.last_outcome, st.disposition, st.history) == (
        "completed",
        "callback",
        [(0.0, "callback")],
    )


def test_unknown_outcome_codes_are_booked_not_refused() -> None:
    pool = pool_of(1)
    pool.next_ready(0.0)
    assert pool.report("r1", "rang_out", 0.0) == HOUR
    assert pool.stats().dispositions == {"rang_out": 1}


def test_put_back_keeps_the_place_in_line_and_defer_delays() -> None:
    pool = pool_of(3)
    assert pool.next_ready(0.0).record_id == "r1"
    pool.put_back("r1", 1.0)
    assert pool.next_ready(1.0).record_id == "r1"
    pool.defer("r1", 100.0)  # e.g. outside the callee's calling hours
    assert drain(pool, 2.0) == ["r2", "r3"]
    assert pool.next_ready(100.0).record_id == "r1"
    assert pool.state("r1").attempts == 0
    pool.put_back("r1", 100.0, not_before=200.0)
    assert pool.next_ready(199.0) is None
    with pytest.raises(ValueError, match="not being dialed"):
        pool.put_back("r1", 300.0)


def test_add_rejects_repeated_ids_atomically() -> None:
    pool = pool_of(2)
    with pytest.raises(ValueError, match="'r2'"):
        pool.add([rec("r3"), rec("r2")])
    assert "r3" not in pool and len(pool) == 2
    with pytest.raises(ValueError, match="'r9'"):
        pool.add([rec("r9"), rec("r9")])
    with pytest.raises(KeyError, match="r77"):
        pool.report("r77", "busy", 0.0)


def test_not_before_on_add() -> None:
    pool = ContactPool()
    pool.add([rec("r1")], not_before=1000.0)
    assert pool.next_ready(999.0) is None
    assert pool.next_ready(1000.0).record_id == "r1"


def test_retire_without_an_attempt() -> None:
    pool = pool_of(2)
    pool.retire("r1")
    assert drain(pool, 0.0) == ["r2"]
    assert pool.state("r1").disposition == "do_not_call" and pool.state("r1").attempts == 0


def test_stats_follow_the_clock() -> None:
    pool = pool_of(4)
    pool.next_ready(0.0)
    pool.report("r1", "busy", 0.0)
    pool.next_ready(0.0)
    pool.report("r2", "sale", 0.0)
    pool.next_ready(0.0)
    s = pool.stats()
    assert (s.total, s.ready, s.waiting, s.dialing, s.retired) == (4, 1, 1, 1, 1)
    assert s.attempts == 2 and s.dispositions == {"busy": 1, "sale": 1}
    s = pool.stats(now=300.0)
    assert (s.ready, s.waiting) == (2, 0)
    assert pool.remaining() == 3


# --- reservations (number pools per agent or team) --------------------------------------


def test_reserved_records_go_only_to_their_agent_until_the_hold_expires() -> None:
    pool = pool_of(4)
    assert pool.assign(["r1", "r2"], agent_id="amy", hold_s=600.0, now=0.0) == 2
    assert drain(pool, 10.0, agent_id="bob") == ["r3", "r4"]
    assert pool.next_ready(599.0, agent_id="bob") is None
    assert pool.next_ready(599.0, agent_id="amy").record_id == "r1"
    # r2 was not taken in time: recycled to the common pool at t=600
    assert pool.next_ready(600.0, agent_id="bob").record_id == "r2"
    assert pool.state("r2").reserved_agent is None


def test_agent_works_own_pool_before_the_common_one() -> None:
    pool = pool_of(4, priority=lambda r, s: r.line)  # r4 has the highest priority
    pool.assign(["r1"], agent_id="amy", now=0.0)
    assert pool.next_ready(0.0, agent_id="amy").record_id == "r1"
    assert pool.next_ready(0.0, agent_id="amy").record_id == "r4"


def test_reservation_carries_over_to_retries() -> None:
    pool = pool_of(2)
    pool.assign(["r1"], agent_id="amy", hold_s=600.0, now=0.0)
    assert pool.next_ready(5.0, agent_id="amy").record_id == "r1"
    pool.report("r1", "busy", 10.0)  # retry at 310, held for amy until 910
    assert pool.next_ready(400.0, agent_id="bob").record_id == "r2"
    assert pool.next_ready(400.0, agent_id="bob") is None
    assert pool.next_ready(909.0, agent_id="bob") is None
    assert pool.next_ready(910.0, agent_id="bob").record_id == "r1"


def test_team_reservation() -> None:
    pool = pool_of(3)
    pool.assign(["r2", "r3"], team="cantonese", hold_s=HOUR, now=0.0)
    assert drain(pool, 0.0, agent_id="amy", team="mandarin") == ["r1"]
    assert pool.next_ready(0.0, agent_id="ken", team="cantonese").record_id == "r2"
    assert pool.next_ready(0.0, agent_id="lau", team="cantonese").record_id == "r3"


def test_assign_argument_checks_and_retired_records_skipped() -> None:
    pool = pool_of(2)
    with pytest.raises(ValueError, match="exactly one"):
        pool.assign(["r1"])
    with pytest.raises(ValueError, match="exactly one"):
        pool.assign(["r1"], agent_id="a", team="t")
    pool.retire("r1")
    assert pool.assign(["r1", "r2"], agent_id="amy", now=0.0) == 1


def test_assign_while_dialing_applies_after_the_attempt() -> None:
    pool = pool_of(2)
    assert pool.next_ready(0.0).record_id == "r1"
    pool.assign(["r1"], agent_id="amy", hold_s=HOUR, now=1.0)
    pool.report("r1", "network_failure", 2.0)
    assert drain(pool, 200.0, agent_id="bob") == ["r2"]
    assert pool.next_ready(200.0, agent_id="amy").record_id == "r1"


# --- owned callbacks --------------------------------------------------------------------


def test_owned_callback_reaches_only_its_owner_until_grace_ends() -> None:
    pool = pool_of(3)
    assert pool.next_ready(0.0, agent_id="amy").record_id == "r1"
    pool.report("r1", "completed", 60.0, disposition="callback")
    pool.schedule_callback("r1", at=1000.0, agent_id="amy", grace_s=300.0)
    assert pool.next_ready(999.0, agent_id="amy").record_id == "r2"  # not due yet
    assert pool.next_ready(1000.0, agent_id="bob").record_id == "r3"
    assert pool.next_ready(1200.0, agent_id="bob") is None
    assert pool.next_ready(1299.0, agent_id="bob") is None
    assert pool.next_ready(1300.0, agent_id="bob").record_id == "r1"


def test_due_callback_comes_before_ordinary_records_for_its_owner() -> None:
    pool = pool_of(3)
    pool.next_ready(0.0)
    pool.report("r1", "completed", 0.0, disposition="callback")
    pool.schedule_callback("r1", at=50.0, agent_id="amy")
    assert pool.next_ready(10.0, agent_id="amy").record_id == "r2"
    assert pool.next_ready(50.0, agent_id="amy").record_id == "r1"
    st = pool.state("r1")
    pool.report("r1", "completed", 60.0, disposition="sale")
    assert st.callback_at is None and st.status == "retired"


def test_expired_callback_goes_to_the_team_ahead_of_its_other_records() -> None:
    pool = pool_of(4)
    pool.assign(["r1", "r2", "r3"], team="t1", hold_s=10 * HOUR, now=0.0)
    assert pool.next_ready(0.0, agent_id="amy", team="t1").record_id == "r1"
    pool.report("r1", "completed", 0.0, disposition="callback")
    pool.schedule_callback("r1", at=100.0, agent_id="amy", grace_s=100.0)
    assert pool.next_ready(200.0, agent_id="zed", team="t9").record_id == "r4"
    assert pool.next_ready(200.0, agent_id="zed", team="t9") is None  # r1 is t1's
    assert pool.next_ready(200.0, agent_id="ken", team="t1").record_id == "r1"


def test_unowned_callback_is_for_anyone_at_its_time_and_first_in_line() -> None:
    pool = pool_of(3)
    pool.next_ready(0.0)
    pool.report("r1", "completed", 0.0, disposition="callback")
    pool.schedule_callback("r1", at=500.0)
    assert pool.next_ready(10.0).record_id == "r2"
    assert pool.next_ready(500.0).record_id == "r1"


def test_callbacks_ordered_by_time_and_refused_when_closed_or_dialing() -> None:
    pool = pool_of(3)
    for rid in ("r1", "r2"):
        pool.next_ready(0.0)
        pool.report(rid, "completed", 0.0, disposition="callback")
    pool.schedule_callback("r1", at=300.0, agent_id="amy")
    pool.schedule_callback("r2", at=200.0, agent_id="amy")
    assert drain(pool, 400.0, agent_id="amy") == ["r2", "r1", "r3"]
    pool.report("r3", "completed", 400.0, disposition="paid")
    with pytest.raises(ValueError, match="closed"):
        pool.schedule_callback("r3", at=900.0, agent_id="amy")
    with pytest.raises(ValueError, match="report the attempt first"):
        pool.schedule_callback("r1", at=900.0, agent_id="amy")


def test_callback_revives_a_record_retired_by_attempt_caps() -> None:
    pool = pool_of(1, policy=RetryPolicy(max_attempts=1))
    pool.next_ready(0.0)
    assert pool.report("r1", "no_answer", 0.0) is None
    pool.schedule_callback("r1", at=100.0, agent_id="amy")  # the customer asked for it
    assert pool.remaining() == 1
    assert pool.next_ready(100.0, agent_id="amy").record_id == "r1"


# --- scale and determinism --------------------------------------------------------------


def _session(n: int) -> tuple[list[str], ContactPool]:
    """Pull every record of a big pool: priorities, an agent's reserved share, retries
    due later than the session, and owned callbacks due within it."""
    pool = ContactPool(priority=lambda r, s: float(r.fields["score"]))
    pool.add(rec(f"r{i}", line=i + 2, score=(i * 7919) % 97) for i in range(n))
    pool.assign([f"r{i}" for i in range(0, n, 50)], agent_id="amy", hold_s=30.0, now=0.0)
    outcomes = ("no_answer", "no_answer", "sale", "paid", "machine", "wrong_number")
    order: list[str] = []
    t = 0.0
    while (r := pool.next_ready(t, agent_id=("amy", "bob")[len(order) % 2])) is not None:
        t += 0.001
        order.append(r.record_id)
        i = int(r.record_id[1:])
        if i % 1000 == 999 and pool.state(r.record_id).attempts == 0:
            pool.report(r.record_id, "completed", t, disposition="callback")
            pool.schedule_callback(r.record_id, at=t + 5.0, agent_id="bob")
        else:
            pool.report(r.record_id, outcomes[i % 6], t)
    # the last callbacks fall due after the list ran dry
    while (r := pool.next_ready(t + 10.0, agent_id="bob")) is not None:
        order.append(r.record_id)
        pool.report(r.record_id, outcomes[int(r.record_id[1:]) % 6], t + 10.0)
    return order, pool


def test_big_pool_is_drained_in_a_reproducible_order() -> None:
    n = 200_000
    order, pool = _session(n)
    callbacks = n // 1000
    assert len(order) == n + callbacks and len(set(order)) == n
    s = pool.stats()
    assert s.total == n and s.attempts == n + callbacks and s.dialing == 0
    assert s.retired == sum(1 for i in range(n) if i % 6 in (2, 3, 5))
    assert s.waiting == n - s.retired  # the retries are due after the session
    # amy's reserved share went to amy; the rest by priority, ties by line
    amys = {f"r{i}" for i in range(0, n, 50)}
    assert set(order[0 : 2 * len(amys) : 2]) == amys
    head = [rid for rid in order[:1000] if rid not in amys]
    keys = [(-(int(rid[1:]) * 7919 % 97), int(rid[1:])) for rid in head]
    assert keys == sorted(keys)
    # a callback came back to its owner (bob) a few seconds later
    first, second = (k for k, rid in enumerate(order) if rid == "r999")
    assert second > first and second % 2 == 1


def test_same_inputs_same_order() -> None:
    assert _session(5_000)[0] == _session(5_000)[0]
