"""Erlang B/C/A reproduce the REFERENCE test vectors."""

import math

import pytest

from callcore.sim.erlang import (
    ErlangC,
    agents_for_abandon,
    agents_for_service_level,
    erlang_a,
    erlang_b,
    erlang_c,
)

LAM = 100 / 1800  # 100 calls per 30 min
AHT = 180.0

# n -> P(wait), ASA, SL(20 s)  (REFERENCE.md, workforce math)
ERLANG_C = {
    11: (0.682118, 122.78, 0.3896),
    12: (0.449388, 40.45, 0.6402),
    13: (0.285270, 17.12, 0.7956),
    14: (0.1741319, 7.836, 0.88835),
    15: (0.102042, 3.674, 0.94145),
}
ERLANG_A = {  # (n, patience) -> P(wait), P(abandon), E[Wq]
    (10, 60): (0.4234, 0.1575, 9.45),
    (12, 60): (0.2404, 0.0759, 4.55),
    (14, 60): (0.1115, 0.0303, 1.82),
    (10, 180): (0.5421, 0.1251, None),
}


@pytest.mark.parametrize("n", sorted(ERLANG_C))
def test_erlang_c_vectors(n):
    pw, asa, sl = ERLANG_C[n]
    c = ErlangC.compute(LAM, AHT, n, 20.0)
    assert c.p_wait == pytest.approx(pw, abs=5e-6)
    assert c.asa == pytest.approx(asa, abs=0.006)
    assert c.service_level == pytest.approx(sl, abs=6e-5)
    assert c.occupancy == pytest.approx(10 / n)


def test_erlang_c_occupancy_vector():
    assert ErlangC.compute(LAM, AHT, 14).occupancy == pytest.approx(0.7142857, abs=1e-7)


@pytest.mark.parametrize("key", sorted(ERLANG_A))
def test_erlang_a_vectors(key):
    pw, pab, wq = ERLANG_A[key]
    a = erlang_a(LAM, AHT, key[1], key[0])
    assert a.p_wait == pytest.approx(pw, abs=6e-5)
    assert a.p_abandon == pytest.approx(pab, abs=6e-5)
    if wq is not None:
        assert a.mean_wait == pytest.approx(wq, abs=0.006)
    # Little / balance: abandon rate = theta * E[Q]
    assert a.p_abandon == pytest.approx(a.mean_queue / key[1] / LAM)


def test_erlang_a_tends_to_erlang_c_with_infinite_patience():
    a = erlang_a(LAM, AHT, 1e9, 12)
    assert a.p_wait == pytest.approx(erlang_c(10.0, 12), rel=1e-5)


def test_erlang_a_service_level_between_bounds():
    a = erlang_a(LAM, AHT, 60, 12, target=20.0)
    assert 1 - a.p_wait < a.service_level < 1 - a.p_abandon


def test_erlang_b_recurrence_small_case():
    # B(A=1, n=1) = 1/2 ; B(A=2, n=2) = 2/5
    assert erlang_b(1.0, 1) == pytest.approx(0.5)
    assert erlang_b(2.0, 2) == pytest.approx(0.4)


def test_erlang_c_unstable_and_large():
    assert erlang_c(10.0, 10) == 1.0
    c = ErlangC.compute(LAM, AHT, 9)
    assert math.isinf(c.asa) and c.service_level == 0.0
    assert 0.0 < erlang_c(900.0, 1000) < 1.0  # stable for big floors


def test_staffing_helpers():
    assert agents_for_service_level(LAM, AHT, 20.0, 0.8) == 14
    assert agents_for_abandon(LAM, AHT, 60.0, 0.05) == 13


@pytest.mark.parametrize("bad", [(-1.0, 3), (1.0, -2), (float("inf"), 3), (1.0, 2.5)])
def test_bad_input(bad):
    with pytest.raises(ValueError):
        erlang_b(*bad)
