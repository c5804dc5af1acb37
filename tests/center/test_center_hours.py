import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from callcore.center.hours import AfterHours, BusinessHours

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")


def at(tz, *a):
    return dt.datetime(*a, tzinfo=tz)


def hotline():
    return BusinessHours(
        tz="Asia/Shanghai",
        weekly={
            d: [("08:00", "12:00"), ("13:00", "20:00")] for d in ("mon", "tue", "wed", "thu", "fri")
        }
        | {"sat": [("09:00", "17:00")]},
        holidays={dt.date(2026, 10, 1)},
        special={dt.date(2026, 10, 10): [("09:00", "12:00")]},  # a working Saturday, short
        after_hours=AfterHours("forward", "+8613800009999"),
    )


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        (at(SH, 2026, 11, 23, 7, 59), False),
        (at(SH, 2026, 11, 23, 8, 0), True),
        (at(SH, 2026, 11, 23, 12, 30), False),  # lunch
        (at(SH, 2026, 11, 23, 19, 59), True),
        (at(SH, 2026, 11, 23, 20, 0), False),
        (at(SH, 2026, 11, 28, 16, 0), True),  # Saturday
        (at(SH, 2026, 11, 29, 10, 0), False),  # Sunday
        (at(SH, 2026, 10, 1, 10, 0), False),  # national holiday (a Thursday)
        (at(SH, 2026, 10, 10, 11, 0), True),  # special day
        (at(SH, 2026, 10, 10, 13, 0), False),
    ],
)
def test_open_closed(when, open_):
    assert hotline().is_open(when) is open_
    assert hotline().is_open(when.timestamp()) is open_


def test_time_zone_conversion():
    # 20:30 Sunday in New York = 09:30 Monday in Shanghai
    ny = at(NY, 2026, 11, 22, 20, 30)
    assert hotline().is_open(ny)
    assert not BusinessHours.weekdays("08:00", "20:00", tz="America/New_York").is_open(ny)


def test_dst_shift_handled_by_zoneinfo():
    h = BusinessHours.weekdays("09:00", "17:00", tz="America/New_York")
    # 13:30 UTC is 09:30 EDT in October but 08:30 EST in November
    assert h.is_open(at(dt.UTC, 2026, 10, 30, 13, 30))
    assert not h.is_open(at(dt.UTC, 2026, 11, 2, 13, 30))


def test_after_hours_action_and_next_open():
    h = hotline()
    assert h.decide(at(SH, 2026, 11, 23, 10)) is None
    assert h.decide(at(SH, 2026, 11, 23, 22)) == AfterHours("forward", "+8613800009999")
    nxt = h.next_open(at(SH, 2026, 11, 28, 18))  # Saturday evening -> Monday 08:00
    assert nxt == at(SH, 2026, 11, 30, 8, 0)
    assert h.next_open(at(SH, 2026, 11, 23, 12, 15)) == at(SH, 2026, 11, 23, 13, 0)


def test_bad_schedules():
    with pytest.raises(ValueError, match="weekday"):
        BusinessHours(weekly={"funday": [("08:00", "09:00")]})
    with pytest.raises(ValueError, match="empty"):
        BusinessHours(weekly={"mon": [("10:00", "09:00")]})
    with pytest.raises(ValueError):
        AfterHours("dance")
    with pytest.raises(ValueError, match="naive"):
        hotline().is_open(dt.datetime(2026, 1, 1))
