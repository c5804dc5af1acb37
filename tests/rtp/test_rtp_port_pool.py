"""RTP port pool."""

from __future__ import annotations

import pytest

from callcore.net.port_pool import PortPool, PortPoolExhausted


def test_even_ports_with_rtcp_room():
    pool = PortPool(10001, 10010)  # even ports 10002..10008 (10010 has no +1 in range)
    assert pool.capacity == 4
    ports = [pool.allocate() for _ in range(4)]
    assert sorted(ports) == [10002, 10004, 10006, 10008]
    assert all(p % 2 == 0 and p + 1 <= 10010 for p in ports)
    assert pool.in_use == 4
    with pytest.raises(PortPoolExhausted):
        pool.allocate()


def test_no_double_allocation_and_release_accounting():
    pool = PortPool(20000, 20100)
    seen = set()
    for _ in range(pool.capacity):
        p = pool.allocate()
        assert p not in seen
        seen.add(p)
    for p in seen:
        pool.release(p)
    assert pool.in_use == 0


def test_release_errors():
    pool = PortPool(20000, 20010)
    p = pool.allocate()
    assert p in pool
    pool.release(p)
    with pytest.raises(ValueError):
        pool.release(p)  # double release
    with pytest.raises(ValueError):
        pool.release(20002)  # never allocated


def test_round_robin_delays_reuse():
    pool = PortPool(20000, 20010)
    a = pool.allocate()
    pool.release(a)
    b = pool.allocate()
    assert b != a


def test_reuse_after_exhaustion_and_release():
    pool = PortPool(20000, 20004)
    a, b = pool.allocate(), pool.allocate()
    with pytest.raises(PortPoolExhausted):
        pool.allocate()
    pool.release(b)
    assert pool.allocate() == b
    assert pool.in_use == 2 and a in pool


@pytest.mark.parametrize("start, end", [(20000, 20000), (20001, 20002), (0, 10), (60000, 70000)])
def test_bad_ranges(start, end):
    with pytest.raises(ValueError):
        PortPool(start, end)
