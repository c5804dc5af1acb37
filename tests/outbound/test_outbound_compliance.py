"""DialGate: windows (DST, holidays, unknown zones), quiet hours, caps, DNC, consent, audit."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from callcore.outbound.audit import AuditTrail
from callcore.outbound.compliance import (
    QUIET_HOURS_CONSENT,
    ComplianceConfig,
    ConsentRegistry,
    DialGate,
    DoNotCallList,
)
from callcore.outbound.regions import (
    PrefixTimezones,
    timezone_for,
    to_e164,
    zones_for,
)
from callcore.pacing.compliance import ComplianceRules

NY, LA, SH = "America/New_York", "America/Los_Angeles", "Asia/Shanghai"
NYC = "+12125550100"  # 212: New York
LAX = "+13105550100"  # 310: Los Angeles
CN = "+8613800138000"
UNKNOWN_US = "+19895550100"  # 989 is not in the default table
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0, tz: str = NY) -> float:
    return dt.datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(tz)).timestamp()


def local(t: float, tz: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, ZoneInfo(tz))


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> float:
    return at(y, m, d, hh, mm, "UTC")


def sweep(start: float, days: int, step: float = 15 * MIN):
    t = start
    while t < start + days * DAY:
        yield t
        t += step


# ----------------------------------------------------------------- regions


def test_region_table_longest_prefix_and_unknowns():
    assert timezone_for(NYC) == NY
    assert timezone_for("+13125550100") == "America/Chicago"
    assert timezone_for("+16025550100") == "America/Phoenix"
    assert timezone_for("+19075550100") == "America/Anchorage"
    assert timezone_for("+18085550100") == "Pacific/Honolulu"
    assert timezone_for(CN) == SH
    assert timezone_for("+85291234567") == "Asia/Hong_Kong"
    assert timezone_for("+85361234567") == "Asia/Macau"
    assert timezone_for("+886912345678") == "Asia/Taipei"
    assert timezone_for("+6591234567") == "Asia/Singapore"
    assert timezone_for("+442079460000") == "Europe/London"
    assert timezone_for("+61298765432") == "Australia/Sydney"
    assert timezone_for("+61398765432") == "Australia/Melbourne"
    assert timezone_for("+61798765432") == "Australia/Brisbane"
    assert timezone_for("+61898765432") == "Australia/Perth"
    assert timezone_for(UNKNOWN_US) is None
    assert zones_for(UNKNOWN_US) == (
        NY,
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        LA,
    )
    assert "Australia/Perth" in zones_for("+61412345678")  # mobile: whole country
    assert zones_for("+99912345678") == ()


def test_injected_prefix_table():
    table = PrefixTimezones({"1989": "America/Detroit", "86": SH}, country_zones={})
    assert table.timezone_for(UNKNOWN_US) == "America/Detroit"
    assert table.zones_for(NYC) == ()  # not in this table, no country fallback
    with pytest.raises(ValueError):
        PrefixTimezones({"+1x": NY})
    with pytest.raises(ValueError):
        PrefixTimezones({"1": "Mars/Olympus_Mons"})


def test_to_e164_forms():
    assert to_e164("+1 (212) 555-0100") == NYC
    assert to_e164("(212) 555-0100", "1") == NYC
    assert to_e164("1-212-555-0100", "1") == NYC
    assert to_e164("011 86 138 0013 8000", "1") == CN
    assert to_e164("0086 13800138000") == CN
    assert to_e164("020 7946 0000", "44") == "+442079460000"
    for bad in ("12", "hello", "+0123456789", "+1234567890123456"):
        with pytest.raises(ValueError):
            to_e164(bad, "1")
    with pytest.raises(ValueError):
        to_e164("2125550100")  # national form without a default country


# ----------------------------------------------------------------- config


def test_config_reads_shared_rules_and_validates():
    c = ComplianceConfig()
    assert (c.min_ring, c.connect_window, c.abandon_cap) == (15.0, 2.0, 0.03)
    assert c.weekly["mon"] == (("08:00", "21:00"),) and c.weekly["sun"] == c.weekly["mon"]
    r = ComplianceRules(min_ring=20.0, calling_hours=((9 * HOUR, 20 * HOUR),))
    c2 = ComplianceConfig(rules=r)
    assert c2.min_ring == 20.0 and c2.weekly["sat"] == (("09:00", "20:00"),)
    assert c.quiet_allowed() == (("08:00", "22:00"),)
    assert ComplianceConfig(quiet_hours=("00:00", "07:00")).quiet_allowed() == (("07:00", "24:00"),)
    bad = [
        {"weekly": {"monday": [("08:00", "21:00")]}},
        {"weekly": {"mon": [("21:00", "08:00")]}},
        {"weekly": {"mon": [("8am", "21:00")]}},
        {"holidays": {"2026-10-01": ()}},
        {"quiet_hours": ("22:00", "22:00")},
        {"consent_required": "telesales"},
        {"max_attempts_7d": 0},
        {"max_attempts_daily": -1},
        {"attempts_window": 0},
        {"after_conversation": -5.0},
        {"abandon_redial_gap": 0},
        {"attempts_scope": "household"},
    ]
    for kw in bad:
        with pytest.raises(ValueError):
            ComplianceConfig(**kw)
    with pytest.raises(ValueError):
        ComplianceConfig(rules=ComplianceRules(calling_hours=((8 * HOUR + 30, 21 * HOUR),)))


# ----------------------------------------------------------------- windows


def test_window_sweep_across_new_york_dst_change():
    gate = DialGate()
    start = utc(2026, 3, 5)  # Thu; clocks go forward Sun 2026-03-08 02:00 EST
    refusals = 0
    for t in sweep(start, 7):
        d = gate.check(NYC, now=t, purpose="service", campaign="sweep")
        expected = 8 <= local(t, NY).hour < 21
        assert d.allowed == expected, local(t, NY)
        if not d.allowed:
            refusals += 1
            assert d.rule == "calling_window"
            assert d.retry_at is not None and 0 < d.retry_at - t <= 11 * HOUR
            assert local(d.retry_at, NY).time() == dt.time(8, 0)
            assert gate.evaluate(NYC, now=d.retry_at, purpose="service").allowed
            assert not gate.evaluate(NYC, now=d.retry_at - 1, purpose="service").allowed
    assert refusals == len(gate.audit.query(rule="calling_window", campaign="sweep"))
    # the opening instant moves by one UTC hour across the change
    assert gate.evaluate(NYC, now=utc(2026, 3, 7, 12, 59), purpose="service").retry_at == utc(
        2026, 3, 7, 13
    )
    assert gate.evaluate(NYC, now=utc(2026, 3, 8, 6), purpose="service").retry_at == utc(
        2026, 3, 8, 12
    )
    assert gate.evaluate(NYC, now=utc(2026, 3, 9, 12), purpose="service").allowed
    assert not gate.evaluate(NYC, now=utc(2026, 3, 9, 11, 59), purpose="service").allowed
    # the same evening, 21:00 local, is 02:00 UTC before and 01:00 UTC after the change
    assert not gate.evaluate(NYC, now=utc(2026, 3, 9, 1), purpose="service").allowed
    assert gate.evaluate(NYC, now=utc(2026, 3, 7, 1, 59), purpose="service").allowed


def test_window_sweep_over_a_chinese_holiday():
    holidays = {
        dt.date(2026, 9, 30): (("08:00", "12:00"),),  # short day before National Day
        dt.date(2026, 10, 1): (),
        dt.date(2026, 10, 2): (),
        dt.date(2026, 10, 3): (),
    }
    gate = DialGate(ComplianceConfig(holidays=holidays))
    for t in sweep(at(2026, 9, 28, tz=SH), 8):
        loc = local(t, SH)
        day = loc.date()
        start_h, end_h = 8, 21
        if day == dt.date(2026, 9, 30):
            end_h = 12
        expected = day not in holidays or bool(holidays[day])
        expected = expected and start_h <= loc.hour < end_h
        d = gate.check(CN, now=t, purpose="collections", customer_id="C1", debt_id="D1")
        assert d.allowed == expected, loc
        if not expected:
            assert d.rule == "calling_window"
            assert local(d.retry_at, SH).time() == dt.time(8, 0)
    d = gate.evaluate(CN, now=at(2026, 9, 30, 13, tz=SH), purpose="collections")
    assert d.retry_at == at(2026, 10, 4, 8, tz=SH)
    d = gate.evaluate(CN, now=at(2026, 10, 2, 10, tz=SH), purpose="service")
    assert "holiday" in d.reason and d.retry_at == at(2026, 10, 4, 8, tz=SH)


def test_per_weekday_windows():
    weekly = {d: [("08:00", "21:00")] for d in ("mon", "tue", "wed", "thu", "fri")}
    weekly["sat"] = [("09:00", "12:00"), ("13:00", "17:00")]
    gate = DialGate(ComplianceConfig(weekly=weekly))
    sat = dt.date(2026, 6, 13)
    assert sat.weekday() == 5
    d = gate.evaluate(NYC, now=at(2026, 6, 13, 8, 30), purpose="service")
    assert d.retry_at == at(2026, 6, 13, 9)
    d = gate.evaluate(NYC, now=at(2026, 6, 13, 12, 15), purpose="service")
    assert d.retry_at == at(2026, 6, 13, 13)
    d = gate.evaluate(NYC, now=at(2026, 6, 14, 12), purpose="service")  # Sunday: no calls
    assert not d.allowed and d.retry_at == at(2026, 6, 15, 8)


def test_unknown_area_code_uses_every_continental_zone():
    gate = DialGate()
    continental = zones_for(UNKNOWN_US)
    for t in sweep(at(2026, 7, 1), 2):
        expected = all(8 <= local(t, z).hour < 21 for z in continental)
        d = gate.check(UNKNOWN_US, now=t, purpose="service")
        assert d.allowed == expected, local(t, NY)
        if not expected:
            assert d.rule == "calling_window" and "all 5 zones" in d.reason
    # 10:30 in New York is 07:30 in Los Angeles: wait for 08:00 Pacific
    d = gate.evaluate(UNKNOWN_US, now=at(2026, 7, 1, 10, 30), purpose="service")
    assert not d.allowed and d.retry_at == at(2026, 7, 1, 8, tz=LA)
    # 21:00 in New York closes the window although Los Angeles is still open
    assert not gate.evaluate(UNKNOWN_US, now=at(2026, 7, 1, 21), purpose="service").allowed
    # an explicit zone wins over the table
    d = gate.evaluate(UNKNOWN_US, now=at(2026, 7, 1, 10, 30), purpose="service", tz=NY)
    assert d.allowed


def test_unknown_country_is_refused_and_australian_mobiles_are_restricted():
    gate = DialGate()
    d = gate.check("+99912345678", now=at(2026, 7, 1, 12), purpose="service")
    assert not d.allowed and d.rule == "calling_window" and d.retry_at is None
    au = "+61412345678"
    # 08:30 Sydney is 06:30 in Perth: wait until 08:00 Perth
    d = gate.evaluate(au, now=at(2026, 7, 1, 8, 30, "Australia/Sydney"), purpose="service")
    assert not d.allowed and d.retry_at == at(2026, 7, 1, 8, tz="Australia/Perth")
    assert gate.evaluate(
        au, now=at(2026, 7, 1, 13, tz="Australia/Sydney"), purpose="service"
    ).allowed


# ----------------------------------------------------------------- quiet hours


def test_quiet_hours_apply_to_collections_only_and_yield_to_consent():
    wide = ComplianceConfig(rules=ComplianceRules(calling_hours=((7 * HOUR, 23 * HOUR),)))
    gate = DialGate(wide)
    gate.consent.grant("telesales", now=0, number=CN)
    late = at(2026, 6, 10, 22, 30, SH)
    early = at(2026, 6, 10, 7, 30, SH)
    d = gate.check(CN, now=late, purpose="collections", customer_id="C1", debt_id="D1")
    assert d.rule == "quiet_hours" and d.retry_at == at(2026, 6, 11, 8, tz=SH)
    d = gate.check(CN, now=early, purpose="collections", customer_id="C1", debt_id="D1")
    assert d.rule == "quiet_hours" and d.retry_at == at(2026, 6, 10, 8, tz=SH)
    assert gate.check(CN, now=late, purpose="service").allowed
    assert gate.check(CN, now=late, purpose="telesales").allowed
    gate.consent.grant(QUIET_HOURS_CONSENT, now=late - HOUR, customer_id="C1", source="ivr")
    assert gate.check(CN, now=late, purpose="collections", customer_id="C1").allowed
    gate.consent.withdraw(QUIET_HOURS_CONSENT, now=late, customer_id="C1")
    assert not gate.check(CN, now=late, purpose="collections", customer_id="C1").allowed
    # with the default 08:00-21:00 window the calling window is reported first
    d = DialGate().check(CN, now=late, purpose="collections")
    assert d.rule == "calling_window"


# ----------------------------------------------------------------- caps


def test_daily_cap_counts_the_callee_local_day_not_utc():
    gate = DialGate()
    day = (2026, 6, 10)
    for i in range(6):  # 15:00-16:40 PDT = 22:00-23:40 UTC on June 10
        gate.record_attempt(LAX, "C1", None, at(*day, 15, 0, LA) + i * 20 * MIN, "no_answer")
    check_t = at(*day, 17, 30, LA)  # 00:30 UTC June 11: a new UTC day, same local day
    assert local(check_t, "UTC").date() == dt.date(2026, 6, 11)
    d = gate.check(LAX, now=check_t, purpose="collections", customer_id="C1", campaign="c")
    assert d.rule == "cap_daily"
    assert d.retry_at == at(2026, 6, 11, 8, tz=LA)  # next local day, once the window opens
    assert gate.evaluate(LAX, now=d.retry_at, purpose="collections", customer_id="C1").allowed
    # another debtor on another number is unaffected; non-collections purposes too
    assert gate.evaluate(NYC, now=check_t, purpose="collections", customer_id="C2").allowed
    assert gate.evaluate(LAX, now=check_t, purpose="service", customer_id="C1").allowed
    # in Shanghai: six attempts in the morning, then the seventh is refused until tomorrow
    for i in range(6):
        gate.record_attempt(CN, "C9", "D9", at(2026, 6, 10, 9 + i, tz=SH), "no_answer")
    d = gate.check(CN, now=at(2026, 6, 10, 16, tz=SH), purpose="collections", customer_id="C9")
    assert d.rule == "cap_daily" and d.retry_at == at(2026, 6, 11, 8, tz=SH)


def test_seven_attempts_in_seven_days_per_debt():
    gate = DialGate()
    for day in range(1, 8):
        gate.record_attempt(NYC, "C1", "D1", at(2026, 6, day, 10), "no_answer")
    d = gate.check(
        NYC, now=at(2026, 6, 7, 15), purpose="collections", customer_id="C1", debt_id="D1"
    )
    assert d.rule == "cap_7d" and d.retry_at == at(2026, 6, 8, 10)
    kw = {"purpose": "collections", "customer_id": "C1", "debt_id": "D1"}
    assert not gate.evaluate(NYC, now=at(2026, 6, 8, 9, 59), **kw).allowed
    assert gate.evaluate(NYC, now=at(2026, 6, 8, 10), **kw).allowed
    # the cap is per debt: the customer's other debt may still be worked
    other = gate.evaluate(
        NYC, now=at(2026, 6, 7, 15), purpose="collections", customer_id="C1", debt_id="D2"
    )
    assert other.allowed
    off = DialGate(ComplianceConfig(max_attempts_7d=None))
    for day in range(1, 8):
        off.record_attempt(NYC, "C1", "D1", at(2026, 6, day, 10), "no_answer")
    assert off.evaluate(NYC, now=at(2026, 6, 7, 15), **kw).allowed


def test_retry_at_satisfies_every_time_rule_together():
    gate = DialGate()
    for day in range(1, 8):  # attempts at 22:00 local expire at night
        gate.record_attempt(NYC, "C1", "D1", at(2026, 6, day, 22), "no_answer")
    kw = {"purpose": "collections", "customer_id": "C1", "debt_id": "D1"}
    d = gate.evaluate(NYC, now=at(2026, 6, 8, 12), **kw)
    assert d.rule == "cap_7d" and d.retry_at == at(2026, 6, 9, 8)
    assert gate.evaluate(NYC, now=d.retry_at, **kw).allowed


def test_no_call_within_seven_days_after_a_conversation():
    gate = DialGate()
    gate.record_attempt(NYC, "C1", "D1", at(2026, 6, 1, 10), "right_party")
    kw = {"purpose": "collections", "customer_id": "C1"}
    d = gate.check(NYC, now=at(2026, 6, 7, 10), debt_id="D1", **kw)
    assert d.rule == "cap_after_conversation" and d.retry_at == at(2026, 6, 8, 10)
    assert gate.evaluate(NYC, now=at(2026, 6, 7, 10), debt_id="D2", **kw).allowed
    assert gate.evaluate(NYC, now=at(2026, 6, 8, 10), debt_id="D1", **kw).allowed
    off = DialGate(ComplianceConfig(after_conversation=None))
    off.record_attempt(NYC, "C1", "D1", at(2026, 6, 1, 10), "right_party")
    assert off.evaluate(NYC, now=at(2026, 6, 2, 10), debt_id="D1", **kw).allowed


def test_no_redial_for_72h_after_an_abandoned_call_unless_agent_reserved():
    gate = DialGate()
    gate.consent.grant("telesales", now=0, number=NYC)
    gate.record_attempt(NYC, None, None, at(2026, 6, 1, 10), "abandoned")
    for purpose in ("telesales", "collections", "service"):
        d = gate.check(NYC, now=at(2026, 6, 4, 9, 59), purpose=purpose)
        assert d.rule == "abandon_72h" and d.retry_at == at(2026, 6, 4, 10)
        assert gate.check(
            NYC, now=at(2026, 6, 4, 9, 59), purpose=purpose, agent_reserved=True
        ).allowed
        assert gate.check(NYC, now=at(2026, 6, 4, 10), purpose=purpose).allowed
    # other numbers are not affected
    assert gate.check(LAX, now=at(2026, 6, 2, 10, tz=LA), purpose="service").allowed


# ----------------------------------------------------------------- DNC, opt-out, consent


def test_dnc_file_load_reports_bad_lines(tmp_path):
    p = tmp_path / "dnc.csv"
    p.write_text(
        "number,source\n"
        "+1 (212) 555-0101\n"
        "# internal list\n"
        "\n"
        "2125550102\n"
        "not-a-number\n"
        "+44 20 7946 0000,complaint\n"
        "12\n"
    )
    dnc = DoNotCallList(default_country="1")
    rep = dnc.load(p, now=100.0, source="national")
    assert rep.added == 3 and len(dnc) == 3
    assert [(line, text) for line, text, _ in rep.errors] == [(6, "not-a-number"), (8, "12")]
    assert "+12125550101" in dnc and dnc.contains("(212) 555-0102")
    entry = dnc.get("+442079460000")
    assert entry is not None and entry.source == "national" and entry.time == 100.0
    assert dnc.remove("212-555-0102") and not dnc.remove("212-555-0102")


def test_dnc_and_opt_out():
    dnc = DoNotCallList(default_country="1")
    dnc.add("212-555-0101", now=0, source="national")
    gate = DialGate(
        ComplianceConfig(dnc_exempt_purposes={"collections"}), dnc=dnc, default_country="1"
    )
    gate.consent.grant("telesales", now=0, number="+12125550101")
    noon = at(2026, 6, 10, 12)
    d = gate.check("(212) 555-0101", now=noon, purpose="telesales", campaign="promo")
    assert (d.allowed, d.rule, d.retry_at) == (False, "dnc", None)
    assert gate.check("(212) 555-0101", now=noon, purpose="collections").allowed
    gate.opt_out("+1 212 555 0101", noon, via="dtmf", campaign="promo", customer_id="C1")
    for purpose in ("collections", "telesales", "service"):
        d = gate.check("+12125550101", now=noon + 60, purpose=purpose)
        assert d.rule == "opted_out" and d.retry_at is None and "dtmf" in d.reason
    rows = gate.audit.query(number="+12125550101", decision="opt_out")
    assert len(rows) == 1 and rows[0].customer_id == "C1" and rows[0].campaign == "promo"
    # opting out a number already on a national list keeps both facts
    assert gate.dnc.get("+12125550101").opt_out
    gate.dnc.add("+12125550101", now=noon + 120, source="national")
    assert gate.dnc.get("+12125550101").opt_out


def test_consent_required_for_telesales_only_by_default():
    gate = DialGate()
    noon = at(2026, 6, 10, 12)
    d = gate.check(NYC, now=noon, purpose="telesales", customer_id="C1")
    assert (d.rule, d.retry_at) == ("no_consent", None)
    assert gate.check(NYC, now=noon, purpose="collections", customer_id="C1").allowed
    assert gate.check(NYC, now=noon, purpose="service").allowed
    gate.consent.grant("telesales", now=noon - DAY, customer_id="C1", source="web form")
    assert gate.check(NYC, now=noon, purpose="telesales", customer_id="C1").allowed
    assert not gate.check(NYC, now=noon, purpose="telesales").allowed  # number unknown
    gate.consent.withdraw("telesales", now=noon + 1, number=NYC)
    assert gate.check(NYC, now=noon + 2, purpose="telesales", customer_id="C1").rule == (
        "no_consent"
    )
    # a consent given later than "now" does not count yet
    reg = ConsentRegistry()
    reg.grant("collections", now=500.0, number=NYC)
    assert not reg.has_consent("collections", at=499.0, number=NYC)
    assert reg.has_consent("collections", at=500.0, number=NYC)
    assert [e.granted for e in reg.history(number=NYC)] == [True]
    strict = DialGate(ComplianceConfig(consent_required={"telesales", "collections"}))
    assert strict.check(NYC, now=noon, purpose="collections").rule == "no_consent"


# ----------------------------------------------------------------- audit, pruning


def test_every_refusal_is_audited_and_survives_reopening(tmp_path):
    path = tmp_path / "audit.sqlite"
    trail = AuditTrail.sqlite(path)
    wide = ComplianceConfig(rules=ComplianceRules(calling_hours=((7 * HOUR, 23 * HOUR),)))
    gate = DialGate(wide, audit=trail)
    gate.dnc.add("+12125550199", now=0, source="national")
    for day in range(1, 8):
        gate.record_attempt(NYC, "C1", "D1", at(2026, 6, day, 10), "no_answer")
    gate.record_attempt(LAX, "C2", "D2", at(2026, 6, 7, 9, tz=LA), "abandoned")
    gate.record_attempt(CN, "C3", "D3", at(2026, 6, 5, 10, tz=SH), "right_party")
    asks = [
        ("+12125550199", at(2026, 6, 8, 12), "collections", "C0", "D0"),
        (NYC, at(2026, 6, 7, 12), "telesales", "C1", None),
        (NYC, at(2026, 6, 8, 5), "collections", "C1", "D1"),
        (NYC, at(2026, 6, 7, 22, 30), "collections", "C1", "D1"),
        (NYC, at(2026, 6, 7, 12), "collections", "C1", "D1"),
        (LAX, at(2026, 6, 9, 12, tz=LA), "service", "C2", "D2"),
        (CN, at(2026, 6, 8, 10, tz=SH), "collections", "C3", "D3"),
        (NYC, at(2026, 6, 8, 12), "service", "C1", None),  # allowed: not audited
    ]
    made = []
    for i, (num, t, purpose, cid, did) in enumerate(asks):
        d = gate.check(
            num,
            now=t,
            purpose=purpose,
            customer_id=cid,
            debt_id=did,
            campaign="spring" if i % 2 else "autumn",
            record_id=f"R{i}",
        )
        if not d.allowed:
            made.append(
                (t, num, cid, did, "spring" if i % 2 else "autumn", f"R{i}", purpose, d.rule)
            )
    gate.audit_pacing_refusal(now=at(2026, 6, 9, 12), campaign="spring", reason="3% in 30 d")
    rules = {m[-1] for m in made}
    assert rules == {
        "dnc",
        "no_consent",
        "calling_window",
        "quiet_hours",
        "cap_7d",
        "abandon_72h",
        "cap_after_conversation",
    }

    def rows(trail_):
        return [
            (e.time, e.number, e.customer_id, e.debt_id, e.campaign, e.record_id, e.purpose, e.rule)
            for e in trail_.query(decision="refused")
            if e.rule != "abandon_rate"
        ]

    assert rows(trail) == sorted(made, key=lambda m: m[0])
    assert len(trail.query(rule="cap_7d")) == 1
    assert {e.record_id for e in trail.query(number=NYC)} == {"R1", "R2", "R3", "R4"}
    assert {e.rule for e in trail.query(campaign="spring")} >= {"abandon_rate"}
    assert trail.counts(None, None)["abandon_rate"] == 1
    trail.close()
    reopened = AuditTrail.sqlite(path)
    assert rows(reopened) == sorted(made, key=lambda m: m[0])
    assert reopened.counts(None, None) == {r: 1 for r in rules} | {"abandon_rate": 1}
    reopened.close()


def test_allowed_decisions_are_audited_when_asked():
    gate = DialGate(audit=AuditTrail(audit_allowed=True))
    d = gate.check(NYC, now=at(2026, 6, 8, 12), purpose="service", campaign="x", record_id=7)
    assert d.allowed
    (e,) = gate.audit.query(decision="allowed")
    assert e.record_id == "7" and e.rule == "" and e.campaign == "x"


def test_attempt_history_is_pruned():
    gate = DialGate()
    t0 = at(2026, 6, 1)
    sizes = []
    for i in range(60 * 48):  # every 30 min for 60 days, two debtors
        t = t0 + i * 30 * MIN
        gate.record_attempt(NYC, "C1", "D1", t, "abandoned" if i % 97 == 0 else "no_answer")
        gate.record_attempt(LAX, "C2", None, t, "right_party" if i % 101 == 0 else "no_answer")
        sizes.append(gate.history_size())
    # 5 keys (number, customer, debt / number, customer) x 7 days of half-hours, plus slack
    bound = 5 * (7 * 48 + 2) + 2 * 48 + 10
    assert max(sizes) <= bound and sizes[-1] > 0
    last = t0 + (60 * 48 - 1) * 30 * MIN
    # the caps still see the last seven days after pruning
    d = gate.evaluate(NYC, now=last + 1, purpose="collections", customer_id="C1", debt_id="D1")
    assert not d.allowed
    gate.prune(last + 30 * DAY)
    assert gate.history_size() == 0
    assert gate.evaluate(
        NYC, now=at(2026, 8, 20, 12), purpose="collections", customer_id="C1", debt_id="D1"
    ).allowed


def test_bad_input_is_a_value_error():
    gate = DialGate()
    with pytest.raises(ValueError):
        gate.check("hello", now=0, purpose="service")
    with pytest.raises(ValueError):
        gate.check(NYC, now=0, purpose="")
    with pytest.raises(ValueError):
        gate.check(NYC, now=0, purpose="service", tz="Mars/Olympus_Mons")
