"""Pacing policies, compliance guard and forecasting kernels, on hand-built states."""

import math

import numpy as np
import pytest

from callcore import fastpath
from callcore.pacing import (
    AbandonBudget,
    AbandonLedger,
    ComplianceGuard,
    ComplianceRules,
    ErlangPredictive,
    HandleTimeModel,
    PacingPolicy,
    PacingState,
    PolicyError,
    Preview,
    Progressive,
    VicidialAdaptive,
)


def st(**kw) -> PacingState:
    base = dict(
        time=0.0, time_of_day=10 * 3600.0, agents_idle=0, agents_talking=0, agents_wrapup=0,
        agents_away=0, calls_ringing=0, calls_waiting=0, dials_total=0, resolved_total=0,
        answers_total=0, answer_delay_total=0.0, routed_total=0, live_total=0,
        abandons_total=0, abandons_amd_total=0,
    )  # fmt: skip
    base.update(kw)
    return PacingState(**base)


@pytest.fixture(params=["cython", "pure"])
def kern(request):
    """The forecasting kernels: compiled, then pure Python."""
    if request.param == "cython":
        try:
            return fastpath.load(pure=False, name="callcore.pacing._forecast")
        except ImportError:
            pytest.skip("compiled kernels not built")
    return fastpath.load(pure=True, name="callcore.pacing._forecast")


def test_all_policies_satisfy_protocol():
    h = HandleTimeModel([50.0] * 10, [5.0])
    for p in (Preview(), Progressive(), VicidialAdaptive(), ErlangPredictive(60.0),
              AbandonBudget(h)):  # fmt: skip
        assert isinstance(p, PacingPolicy)
        p.reset()
        assert isinstance(p.decide(st(agents_idle=5), 0.0), int)


def test_progressive_counts_lines_per_idle_agent():
    assert Progressive().decide(st(agents_idle=10, calls_ringing=3, calls_waiting=1), 0) == 6
    assert Progressive(1.5).decide(st(agents_idle=10, calls_ringing=3), 0) == 12
    assert Progressive().decide(st(agents_idle=2, calls_ringing=5), 0) == 0


def test_preview_waits_preview_time_then_one_call_per_agent():
    p = Preview(preview_time=5)
    assert p.decide(st(agents_idle=3), 0.0) == 0
    assert p.decide(st(agents_idle=3), 4.0) == 0
    assert p.decide(st(agents_idle=3), 5.0) == 3
    # calls now ring for those agents: nothing more
    assert p.decide(st(agents_idle=3, calls_ringing=3), 6.0) == 0


def test_vicidial_start_up_overshoot_and_formula():
    v = VicidialAdaptive(max_level=4.0)
    s = st(agents_idle=50)
    assert v.decide(s, 0.0) == 50  # level 1.0 x 50 agents
    for t in range(1, 15):
        v.decide(st(agents_idle=50, calls_ringing=50), float(t))
    # first recalculation sees every agent idle: the level doubles
    n = v.decide(st(agents_idle=50, calls_ringing=50), 15.0)
    assert v.level == pytest.approx(2.0)
    assert n == 50
    assert v.history == [(15.0, 2.0)]


def test_vicidial_drop_methods():
    over = st(agents_idle=10, live_total=100, abandons_total=5)  # 5 % > 3 %
    for method, expect in (("hard_limit", 1.0), ("average", 1.5), ("halve", 1.5)):
        v = VicidialAdaptive(drop_method=method, start_level=3.0)
        for t in range(16):
            v.decide(st(agents_idle=0, agents_talking=10, live_total=100, abandons_total=5),
                     float(t))  # fmt: skip
        assert v.level == pytest.approx(expect)
    # tapered: early in the day twice the target is tolerated
    v = VicidialAdaptive(drop_method="tapered", start_level=3.0, day_length=1000)
    for t in range(16):
        v.decide(st(agents_talking=10, live_total=100, abandons_total=5), float(t))
    assert v.level == pytest.approx(3.0)
    assert over.agents_active == 10


def _recalc(v: VicidialAdaptive, t0: float, **kw) -> float:
    """Feed one recalculation period of identical samples; the level after it."""
    for t in range(15):
        v.decide(st(**kw), t0 + t)
    return v.level


def test_vicidial_average_cuts_gradually_and_recovers():
    """ADAPT_AVERAGE halves the freshly computed level each recalculation while over the
    target: a step down, not a reset to 1.0 like the hard limit; under the target it
    adapts exactly like the other methods."""
    busy_over = dict(agents_talking=10, live_total=100, abandons_total=5)  # 5 % > 3 %
    idle_under = dict(agents_idle=5, agents_talking=5, live_total=100, abandons_total=1)
    levels = {}
    for method in ("hard_limit", "average", "tapered"):
        v = VicidialAdaptive(drop_method=method, start_level=4.0, max_level=8.0)
        v.decide(st(**idle_under), 0.0)
        under = _recalc(v, 1.0, **idle_under)
        levels[method] = [under]
        for k in range(3):
            levels[method].append(_recalc(v, 16.0 + 15 * k, **busy_over))
    # under the target every method adapts the same way: 4 x (1 + 5/10) = 6
    assert [lv[0] for lv in levels.values()] == pytest.approx([6.0, 6.0, 6.0])
    assert levels["hard_limit"][1:] == [1.0, 1.0, 1.0]
    # average: 6 / 2 = 3, then 1.5, then 0.75 -> clamped to 1.0
    assert levels["average"][1:] == pytest.approx([3.0, 1.5, 1.0])
    # tapered early in an 8 h day tolerates 5 % (< 2 x 3 %): no cut, no adaptation up
    assert levels["tapered"][1:] == pytest.approx([6.0, 6.0, 6.0])
    # back under the target the averaged level climbs again, like the others
    v = VicidialAdaptive(drop_method="average", start_level=2.0, max_level=8.0)
    v.decide(st(**busy_over), 0.0)
    assert _recalc(v, 1.0, **busy_over) == pytest.approx(1.0)
    assert _recalc(v, 16.0, **idle_under) == pytest.approx(1.5)


def test_vicidial_drop_method_validated():
    with pytest.raises(ValueError, match="average"):
        VicidialAdaptive(drop_method="mean")
    assert "average" in VicidialAdaptive.DROP_METHODS
    assert "drop_method='average'" in repr(VicidialAdaptive(drop_method="average"))


def test_guard_calling_hours_and_cap():
    g = ComplianceGuard(Progressive(3.0), ComplianceRules())
    assert g.decide(st(agents_idle=10, time_of_day=7 * 3600.0), 0) == 0
    assert g.decide(st(agents_idle=10, time_of_day=22 * 3600.0), 0) == 0
    assert g.decide(st(agents_idle=10), 0) == 30
    # over the cap: only uncovered idle agents get a call
    s = st(agents_idle=10, calls_ringing=4, live_total=200, abandons_total=7)
    assert g.decide(s, 60.0) == 6
    assert g.limited_decisions == 1


def test_guard_rejects_bad_answers():
    class Bad:
        name = "bad"

        def decide(self, state, now):
            return 2.5

        def reset(self):
            pass

    with pytest.raises(PolicyError):
        ComplianceGuard(Bad()).decide(st(agents_idle=1), 0)


def test_ledger_windows():
    led = AbandonLedger(bucket=60)
    led.record(0, 0, 0)
    led.record(3600, 1000, 10)  # 1 % in the first hour
    led.record(7200, 2000, 60)  # 5 % in the second
    assert led.rate(7200, 2000, 60, math.inf)[0] == pytest.approx(0.03)
    assert led.rate(7200, 2000, 60, 3600)[0] == pytest.approx(0.05)


def test_rules_validation():
    with pytest.raises(ValueError):
        ComplianceRules(abandon_cap=1.5)
    with pytest.raises(ValueError):
        ComplianceRules(calling_hours=((20 * 3600.0, 8 * 3600.0),))


def test_handle_time_model_uniform_talk():
    # talk uniform(40, 60), no wrap-up: given 50 s elapsed, P(done within 5 s) = 0.5
    talk = np.linspace(40, 60, 20001)
    h = HandleTimeModel(talk, [0.0])
    assert h.p_talk(5)[50] == pytest.approx(0.5, abs=1e-3)
    assert h.p_talk(5)[10] == 0.0  # nobody finishes before 40 s
    m, v = h.expected_free([50.0, 10.0], [], 5)
    assert m == pytest.approx(0.5, abs=1e-3) and v == pytest.approx(0.25, abs=1e-3)


def test_kernel_twins_bit_exact(kern):
    pure = fastpath.load(pure=True, name="callcore.pacing._forecast")
    rng = np.random.Generator(np.random.PCG64(7))
    for _ in range(300):
        args = (rng.uniform(0, 80), rng.uniform(0, 40), rng.uniform(0.01, 1),
                rng.uniform(-5, 120), rng.uniform(0, 30), rng.uniform(0, 0.1),
                int(rng.integers(0, 500)))  # fmt: skip
        assert kern.overflow_dials(*args) == pure.overflow_dials(*args)
    tab = rng.random(101)
    el = rng.uniform(0, 150, 77)
    assert kern.expected_free(tab, el, 100) == pure.expected_free(tab, el.tolist(), 100)
    recent = [(float(t), int(k)) for t, k in zip(range(20), rng.integers(0, 9, 20), strict=True)]
    surv = rng.random(40)
    assert kern.flight(recent, surv, 0.3, 25.0) == pure.flight(recent, surv, 0.3, 25.0)


def test_overflow_dials_is_the_largest_feasible(kern):
    pure = fastpath.load(pure=True, name="callcore.pacing._forecast")
    n = kern.overflow_dials(5.0, 2.0, 0.4, 30.0, 4.0, 0.02, 1000)
    ok = pure._ok
    assert ok(n, 5.0, 2.0, 0.4, 30.0, 4.0, 0.02) and not ok(n + 1, 5.0, 2.0, 0.4, 30.0, 4.0, 0.02)
    # more tolerance, more lines; more calls in flight, fewer lines
    assert kern.overflow_dials(5.0, 2.0, 0.4, 30.0, 4.0, 0.10, 1000) > n
    assert kern.overflow_dials(15.0, 6.0, 0.4, 30.0, 4.0, 0.02, 1000) < n
    assert kern.overflow_dials(5.0, 2.0, 0.4, 30.0, 4.0, 0.02, 3) == min(n, 3)


def test_budget_dials_ahead_for_agents_about_to_finish():
    talk = np.linspace(40, 60, 2001)
    mk = lambda: AbandonBudget(HandleTimeModel(talk, [5.0]), route_prior=0.8,  # noqa: E731
                               route_delays=[20.0])  # fmt: skip
    # 20 agents talking: 58 s into 40-60 s calls (about to finish) vs 5 s in
    late = mk().decide(st(agents_talking=20, talk_elapsed=[58.0] * 20), 0.0)
    early = mk().decide(st(agents_talking=20, talk_elapsed=[5.0] * 20), 0.0)
    assert early == 0 and late >= 15
    # the Erlang policy cannot tell them apart
    e = ErlangPredictive(55.0, route_prior=0.8, route_delays=[20.0])
    a = e.decide(st(agents_talking=20, talk_elapsed=[58.0] * 20), 0.0)
    e.reset()
    b = e.decide(st(agents_talking=20, talk_elapsed=[5.0] * 20), 0.0)
    assert a == b


def test_budget_tightens_when_over_budget():
    h = HandleTimeModel(np.linspace(40, 60, 201), [5.0])
    p = AbandonBudget(h, route_prior=0.8, route_delays=[20.0])
    p.decide(st(agents_idle=30, live_total=1000, abandons_total=10), 0.0)
    loose = p.tau
    p.reset()
    p.decide(st(agents_idle=30, live_total=1000, abandons_total=60), 0.0)
    assert p.tau < 0.024 < loose
