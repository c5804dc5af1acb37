"""IVR flows run against an in-memory scripted call (no SIP peer exists at this layer)."""

import asyncio
import datetime as dt
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcore.center.bank import InMemoryBank
from callcore.center.hours import BusinessHours
from callcore.center.ivr import (
    Collect,
    Flow,
    FlowError,
    FlowRunner,
    Hangup,
    Lookup,
    Menu,
    Prompt,
    ScriptedCall,
    Transfer,
    load_flow,
)
from callcore.center.ivr.validators import amount, card_number, date, expiry, luhn_ok, mask, pin
from callcore.center.voicemail import VoicemailStore

SH = "Asia/Shanghai"


def shanghai(y, m, d, h, mi=0):
    from zoneinfo import ZoneInfo

    return dt.datetime(y, m, d, h, mi, tzinfo=ZoneInfo(SH)).timestamp()


def sample():
    return load_flow(resources.files("callcore.center") / "samples" / "bank_hotline.yaml")


def runner(bank=None, when=None, vm=None):
    hours = {"hotline": BusinessHours.weekdays("08:00", "20:00", tz=SH)}
    t = when if when is not None else shanghai(2026, 11, 23, 10)  # a Monday
    return FlowRunner(
        sample(), bank=bank or InMemoryBank.sample(), hours=hours, voicemail=vm, clock=lambda: t
    )


# ---------------------------------------------------------------- validators
def test_luhn_and_card_number():
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112") and not luhn_ok("41x1")
    assert card_number("4111111111111111") == "4111111111111111"
    assert card_number("411111111111") is None  # too short
    assert card_number("4111111111111112") is None


@pytest.mark.parametrize(
    ("digits", "ok"),
    [
        ("2580", True),
        ("739146", True),
        ("1111", False),
        ("1234", False),
        ("6543", False),
        ("123", False),
        ("1234567", False),
        ("12a4", False),
        ("9012", False),
    ],
)
def test_pin(digits, ok):
    assert (pin(digits) is not None) is ok


def test_date_expiry_amount():
    assert date("20240229") == "2024-02-29"
    assert date("20230229") is None and date("2023011") is None
    assert expiry("1227") == "12/27" and expiry("1327") is None
    assert amount("125*5") == "125.50" and amount("300") == "300.00"
    assert amount("1*234") is None and amount("*5") is None and amount("0") is None
    assert amount("1**2") is None


def test_mask():
    assert mask("4111111111111111", "last4") == "************1111"
    assert mask("2580", "all") == "****"
    assert mask("12", "none") == "12"


# ---------------------------------------------------------------- flows
def test_balance_inquiry_masks_card_and_pin(arun, caplog):
    caplog.set_level("INFO", logger="callcore.center.ivr")
    call = ScriptedCall(["1", "4111111111111111", "2580"], caller_number="+8613900000009")
    res = arun(runner().run(call))
    assert "Your balance is 1523.40 yuan." in call.played()
    assert res.inputs == {"menu": "1", "card": "************1111", "pin": "****"}
    assert res.outcome == "hangup:normal"
    assert res.path[:4] == ["hours", "identify", "welcome", "main"]
    assert "4111111111111111" not in caplog.text and "2580" not in caplog.text
    assert "************1111" in caplog.text


def test_invalid_card_retries_then_agent(arun):
    call = ScriptedCall(["1", "4111111111111112", "123", "4111"])
    res = arun(runner().run(call))
    assert call.played().count("Sorry, that entry is not valid.") == 3
    assert res.outcome == "queue:general"
    q = next(e for e in call.log if e[0] == "queue")
    assert q[1] == "general" and q[3]["ivr_path"][-1] == "agent"


def test_menu_timeout_and_invalid_branches(arun):
    call = ScriptedCall([None, "9", None])
    res = arun(runner().run(call))
    played = call.played()
    assert "Sorry, we did not receive your choice." in played
    assert "Sorry, that is not a valid choice." in played
    assert res.outcome == "queue:general"


def test_card_loss_blocks_card(arun):
    bank = InMemoryBank.sample()
    call = ScriptedCall(["2", "4111111111111111"])
    res = arun(runner(bank).run(call))
    assert bank.cards["4111111111111111"].status == "lost"
    assert res.outcome == "queue:cards"
    assert "Your card is blocked. An agent will help you order a replacement." in call.played()


def test_card_activation(arun):
    bank = InMemoryBank.sample()
    res = arun(runner(bank).run(ScriptedCall(["3", "4012888888881881", "4826"])))
    assert bank.cards["4012888888881881"].status == "active"
    assert "activated_ok" in res.path
    res = arun(runner(bank).run(ScriptedCall(["3", "4012888888881881", "4826"])))
    assert res.outcome == "queue:cards"  # already active -> agent


def test_vip_line_skips_menu(arun):
    call = ScriptedCall([], caller_number="+8613800000002")
    res = arun(runner().run(call))
    assert res.outcome == "queue:vip"
    (q,) = [e for e in call.log if e[0] == "queue"]
    assert q[2] == 10 and q[3]["tier"] == "private" and q[3]["customer_id"] == "C2"
    assert "Welcome back, Zhang Min. Connecting you to your private banker." in call.played()


def test_collections_desk(arun):
    res = arun(runner().run(ScriptedCall(["4"])))
    assert res.outcome == "queue:collections" and res.vars["product"] == "collections"


def test_bank_timeout_takes_error_branch_no_dead_air(arun):
    bank = InMemoryBank.sample()
    bank.delay = 5.0  # identify has a 2 s timeout in the sample, balance 3 s
    flow = Flow(
        "t",
        "ask",
        {
            "ask": Lookup(
                op="balance", args=["card"], store="b", next="say", on_error="sorry", timeout=0.05
            ),
            "say": Prompt("Balance {b}"),
            "sorry": Transfer(
                queue="cards", say="Our systems are slow. Connecting you to an agent."
            ),
        },
        fallback_queue="general",
    )
    call = ScriptedCall(attributes={"vars": {"card": "4111111111111111"}})
    res = arun(FlowRunner(flow, bank=bank).run(call))
    assert res.outcome == "queue:cards" and "timed out" in res.error
    assert call.played() == ["Our systems are slow. Connecting you to an agent."]


def test_bank_failure_and_missing_branch_fallback(arun):
    bank = InMemoryBank.sample()
    bank.fail = True
    call = ScriptedCall(["1", "4111111111111111", "2580"])
    res = arun(runner(bank).run(call))
    assert res.outcome == "queue:general" and "BankError" in res.error


def test_node_crash_falls_back_to_agent(arun):
    class Boom(Prompt):
        async def run(self, ctx):
            raise RuntimeError("tts engine down")

    flow = Flow("t", "a", {"a": Boom("x")}, fallback_queue="general")
    call = ScriptedCall()
    res = arun(FlowRunner(flow).run(call))
    assert res.outcome == "queue:general"
    assert call.played() == [flow.error_prompt]


def test_loop_guard():
    flow = Flow("t", "a", {"a": Prompt("x", next="a")}, fallback_queue="q", max_steps=10)
    call = ScriptedCall()
    res = asyncio.run(FlowRunner(flow).run(call))
    assert res.outcome == "queue:q" and "steps" in res.error


def test_after_hours_goes_to_voicemail_and_stores_message(arun):
    vm = VoicemailStore()
    sat = shanghai(2026, 11, 28, 10)  # Saturday
    call = ScriptedCall(caller_number="+8613900000077", recording_path="/var/vm/1.wav")
    res = arun(runner(vm=vm, when=sat).run(call))
    assert res.outcome == "voicemail:hotline"
    (msg,) = vm.list("hotline")
    assert (msg.caller, msg.path, msg.created) == ("+8613900000077", "/var/vm/1.wav", sat)
    assert ("voicemail", "hotline", 120, True) in call.log


def test_python_flow_definition_and_validation():
    flow = Flow(
        "py",
        "m",
        {
            "m": Menu("Press 1", {"1": "c"}),
            "c": Collect("Amount", var="amt", validator="amount", next="bye"),
            "bye": Hangup("Bye"),
        },
        fallback_queue="general",
    ).validate()
    call = ScriptedCall(["1", "99*5"])
    res = asyncio.run(FlowRunner(flow).run(call))
    assert res.vars["amt"] == "99.50" and res.outcome == "hangup:normal"
    with pytest.raises(FlowError, match="undefined node 'nowhere'"):
        Flow("bad", "m", {"m": Menu("p", {"1": "nowhere"})}, fallback_queue="g").validate()


@pytest.mark.parametrize(
    ("action", "target", "outcome"),
    [
        ("message", "", "hangup:closed"),
        ("forward", "+8613800009999", "number:+8613800009999"),
        ("voicemail", "night", "voicemail:night"),
    ],
)
def test_hours_node_runs_schedule_after_hours_action(arun, action, target, outcome):
    from callcore.center.hours import AfterHours
    from callcore.center.ivr import Hours

    sched = BusinessHours.weekdays(
        "08:00", "20:00", tz=SH, after_hours=AfterHours(action, target, "We are closed.")
    )
    flow = Flow("t", "h", {"h": Hours("hotline", open="m"), "m": Hangup()}, fallback_queue="g")
    vm = VoicemailStore()
    night = shanghai(2026, 11, 23, 23)
    call = ScriptedCall()
    res = arun(
        FlowRunner(flow, hours={"hotline": sched}, voicemail=vm, clock=lambda: night).run(call)
    )
    assert res.outcome == outcome
    assert "We are closed." in call.played()
    assert len(vm.list()) == (1 if action == "voicemail" else 0)


def _luhn_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_ok(body + d):
            return d
    raise AssertionError


@given(st.text(alphabet="0123456789", min_size=12, max_size=18), st.data())
def test_luhn_property_single_digit_errors_detected(body, data):
    full = body + _luhn_digit(body)
    assert card_number(full) == full
    i = data.draw(st.integers(0, len(full) - 1))
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != full[i]]))
    assert not luhn_ok(full[:i] + new + full[i + 1 :])  # any single-digit change is caught


@given(st.integers(1, 99999999), st.integers(0, 99))
def test_amount_property(units, cents):
    got = amount(f"{units}*{cents:02d}")
    if units + cents / 100 <= 1_000_000:
        assert got == f"{units}.{cents:02d}"
    else:
        assert got is None
