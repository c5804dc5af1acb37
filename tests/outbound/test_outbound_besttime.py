"""ContactTimeModel: learns a planted hour-of-week curve, shrinks sparse customers."""

from __future__ import annotations

import copy
import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from callcore.outbound.besttime import HOURS_PER_WEEK, ContactTimeModel, hour_of_week

NY = "America/New_York"
PEAKS = {h for d in range(5) for h in (d * 24 + 10, d * 24 + 16)}  # weekdays 10-11, 16-17


def planted(how: int) -> float:
    if how in PEAKS:
        return 0.30
    if 8 <= how % 24 < 21:
        return 0.10
    return 0.02


def business(how: int) -> bool:
    return how // 24 < 5 and 8 <= how % 24 < 21


@pytest.fixture(scope="module")
def learned() -> ContactTimeModel:
    rng = random.Random(20260610)
    model = ContactTimeModel()
    for i in range(60_000):
        how = rng.randrange(HOURS_PER_WEEK)
        model.observe(f"cust{i % 3000}", "cards", how, rng.random() < planted(how))
    return model


def at(y, m, d, hh=0, mm=0, tz=NY) -> float:
    return dt.datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(tz)).timestamp()


def test_hour_of_week_is_callee_local():
    assert hour_of_week(at(2026, 6, 8, 0), NY) == 0  # Monday 00:00
    assert hour_of_week(at(2026, 6, 14, 23, 30), NY) == 167  # Sunday 23:30
    assert hour_of_week(at(2026, 6, 8, 10), "Asia/Shanghai") == 22  # 22:00 Monday there


def test_learns_the_planted_curve(learned):
    curve = learned.curve(None, "cards")
    truth = [planted(h) for h in range(HOURS_PER_WEEK)]
    assert max(abs(curve[h] - truth[h]) for h in range(HOURS_PER_WEEK)) < 0.08
    best = learned.best_slots(None, "cards", allowed=business, n=len(PEAKS))
    assert {h for h, _ in best} == PEAKS
    assert [p for _, p in best] == sorted((p for _, p in best), reverse=True)
    night_only = learned.best_slots(None, "cards", allowed=lambda h: h % 24 < 6, n=3)
    assert all(h % 24 < 6 for h, _ in night_only) and len(night_only) == 3


def test_sparse_customers_shrink_toward_their_segment(learned):
    model = copy.deepcopy(learned)
    seg = model.probability(None, "cards", 3)  # 03:00 Monday: ~0.02
    model.observe("newbie", "cards", 3, True)
    model.observe("newbie", "cards", 3, True)
    p_new = model.probability("newbie", "cards", 3)
    assert seg < p_new < 0.25  # moved a little, nowhere near the raw 2/2
    # a customer with a long record at that hour is believed
    for _ in range(200):
        model.observe("nightowl", "cards", 3, True)
    assert model.probability("nightowl", "cards", 3) > 0.9
    # other hours of a customer stay at the segment value
    assert model.probability("newbie", "cards", 10) == pytest.approx(
        model.probability(None, "cards", 10)
    )
    model.forget("nightowl")
    assert model.observations("nightowl") == 0
    # its contacts stay in the segment, which moves a little; the customer is back to it
    assert model.probability("nightowl", "cards", 3) == model.probability(None, "cards", 3)


def test_unknown_segment_falls_back_to_global_and_empty_model_is_flat():
    empty = ContactTimeModel()
    assert {empty.probability(None, None, h) for h in range(HOURS_PER_WEEK)} == {0.5}
    m = ContactTimeModel()
    for _ in range(500):
        m.observe(None, "a", 10, True)
        m.observe(None, "a", 11, False)
    assert m.probability(None, "b", 10) > 0.9 > 0.1 > m.probability(None, "b", 11)
    with pytest.raises(ValueError):
        m.observe(None, None, 168, True)
    with pytest.raises(ValueError):
        ContactTimeModel(segment_strength=0)


def test_next_best_time_picks_the_peak_hour_in_local_time(learned):
    now = at(2026, 6, 8, 6, 20)  # Monday 06:20 New York
    open_ = lambda t: 8 <= dt.datetime.fromtimestamp(t, ZoneInfo(NY)).hour < 21  # noqa: E731
    best = learned.next_best_time(None, "cards", now, NY, allowed=open_, horizon_h=24)
    assert best in (at(2026, 6, 8, 10), at(2026, 6, 8, 16))
    # outside the horizon nothing qualifies
    assert learned.next_best_time(None, "cards", now, NY, horizon_h=1, allowed=open_) is None
    # a flat model: ties go to the earliest allowed instant, "now" for the current hour
    flat = ContactTimeModel()
    assert flat.next_best_time("x", "y", now, NY) == now
    assert flat.next_best_time("x", "y", now, NY, allowed=open_) == at(2026, 6, 8, 8)


def test_next_best_time_across_dst_change():
    m = ContactTimeModel()
    for _ in range(100):  # Sunday 09:00 local is the only good hour
        m.observe(None, "s", 6 * 24 + 9, True)
    now = at(2026, 3, 7, 12)  # Saturday before clocks go forward
    assert m.next_best_time(None, "s", now, NY) == at(2026, 3, 8, 9)
    assert (
        m.next_best_time(None, "s", now, NY)
        == dt.datetime(2026, 3, 8, 13, tzinfo=dt.UTC).timestamp()
    )


def test_deterministic():
    def build() -> list:
        rng = random.Random(7)
        m = ContactTimeModel()
        for _ in range(2000):
            h = rng.randrange(HOURS_PER_WEEK)
            m.observe(rng.choice("abc"), "s", h, rng.random() < planted(h))
        return m.best_slots("a", "s", allowed=business, n=5)

    assert build() == build()
