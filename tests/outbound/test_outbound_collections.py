"""CollectionsStrategy: stage boundaries, monotone priority, plans, SMS hook."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcore.outbound.collections import (
    CollectionsStrategy,
    RecordingSmsHook,
    SmsHook,
    Stage,
    default_stages,
    send_reminder_sms,
)

S = CollectionsStrategy()


@pytest.mark.parametrize(
    ("dpd", "name"),
    [
        (-4, None),
        (-3, "pre_due"),
        (-1, "pre_due"),
        (0, "due_day"),
        (1, "early"),
        (30, "early"),
        (31, "mid"),
        (60, "mid"),
        (61, "late"),
        (1000, "late"),
    ],
)
def test_stage_boundaries(dpd, name):
    stage = S.stage_for(dpd)
    assert (stage.name if stage else None) == name


def test_default_stage_modes():
    by = {s.name: s for s in default_stages()}
    assert by["pre_due"].mode == "reminder" and by["pre_due"].sms
    assert all(by[n].mode == "agent" for n in ("due_day", "early", "mid", "late"))
    assert by["early"].weight < by["mid"].weight < by["late"].weight


amounts = st.floats(min_value=0, max_value=1e7, allow_nan=False)
days = st.integers(min_value=-30, max_value=400)


@settings(max_examples=300, deadline=None)
@given(d1=days, d2=days, amount=amounts)
def test_priority_monotone_in_days(d1, d2, amount):
    lo, hi = sorted((d1, d2))
    assert S.priority(lo, amount) <= S.priority(hi, amount)


@settings(max_examples=300, deadline=None)
@given(a1=amounts, a2=amounts, d=days)
def test_priority_monotone_in_amount(a1, a2, d):
    lo, hi = sorted((a1, a2))
    assert S.priority(d, lo) <= S.priority(d, hi)


def test_priority_formula():
    assert S.priority(-10, 500) == 0.0
    assert S.priority(30, 0) == pytest.approx(1.0 * 2.0 * 1.0)
    assert S.priority(90, 100) > S.priority(45, 100) > S.priority(10, 100)


def test_invalid_stages():
    with pytest.raises(ValueError):
        CollectionsStrategy([Stage("a", 0, 10), Stage("b", 10, 20)])  # overlap
    with pytest.raises(ValueError):
        CollectionsStrategy([Stage("a", 0, 10, weight=2.0), Stage("b", 11, 20, weight=1.0)])
    with pytest.raises(ValueError):
        Stage("x", 0, 10, mode="robot")
    with pytest.raises(ValueError):
        Stage("x", 10, 0)


@dataclass
class Account:
    customer_id: str
    number: str
    amount: float
    days_past_due: int | None = None
    due_date: dt.date | None = None


def test_plan_splits_and_sorts():
    today = dt.date(2026, 6, 10)
    accounts = [
        {"customer_id": "A", "number": "+1", "amount": 50.0, "days_past_due": -2},
        {"customer_id": "B", "number": "+2", "amount": 5000.0, "days_past_due": 75},
        Account("C", "+3", 200.0, days_past_due=5),
        Account("D", "+4", 200.0, due_date=dt.date(2026, 5, 1)),  # 40 days past due
        {"customer_id": "E", "number": "+5", "amount": 10.0, "days_past_due": -20},
        {"customer_id": "F", "number": "+6", "amount": 80.0, "due_date": dt.date(2026, 6, 12)},
    ]
    plan = S.plan(accounts, today)
    assert [c.customer_id for c in plan.reminders] == ["F", "A"]  # both -2: larger amount first
    assert [c.customer_id for c in plan.agent] == ["B", "D", "C"]
    scripts = ["late_delinquency", "mid_delinquency", "early_delinquency"]
    assert [c.script for c in plan.agent] == scripts
    assert plan.agent[1].days_past_due == 40 and plan.agent[1].stage.name == "mid"
    assert [a["customer_id"] for a in plan.skipped] == ["E"]
    assert {c.customer_id for c in plan.sms} == {"A", "F"}


def test_sms_hook_records_reminders():
    hook = RecordingSmsHook()
    assert isinstance(hook, SmsHook)
    plan = S.plan(
        [{"customer_id": "A", "number": "+8613800138000", "amount": 120.0, "days_past_due": -1}],
        dt.date(2026, 6, 10),
    )
    sent = asyncio.run(
        send_reminder_sms(plan, hook, lambda c: f"{c.amount:.0f} due in {-c.days_past_due} day")
    )
    assert sent == 1 and hook.sent == [("+8613800138000", "120 due in 1 day")]
