"""Pure-Python twin of ``callcore.pacing._forecast``: the arithmetic kernels of the
forecasting policies. Bit-exact with the compiled module: same sequential sums,
same libm ``exp``/``erf``. The policies stay plain Python objects; these kernels
only make their per-decision arithmetic cheap enough for a fast simulator."""

from __future__ import annotations

import math

_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _ok(n, flight_mean, flight_var, q, free_mean, free_var, tau):
    ma = flight_mean + n * q
    mu = ma - free_mean
    sd = math.sqrt(flight_var + n * q * (1.0 - q) + free_var)
    if sd < 1e-9:
        over = mu if mu > 0 else 0.0
    else:
        z = mu / sd
        over = sd * _INV_SQRT2PI * math.exp(-0.5 * z * z) + mu * 0.5 * (1.0 + math.erf(z / _SQRT2))
    return over <= tau * ma


def overflow_dials(flight_mean, flight_var, q, free_mean, free_var, tau, max_n):
    """Largest ``n <= max_n`` whose expected overflow stays within ``tau`` of expected answers.

    Calls in flight will still reach the agent queue ``flight_mean`` times (variance
    ``flight_var``); each of ``n`` new calls does with probability ``q``;
    ``free_mean``/``free_var`` describe the agents free by then. With the normal
    approximation ``D = answers - free``, require ``E[D+] <= tau * E[answers]``.
    """
    if q <= 0.0 or max_n <= 0:
        return 0
    args = (flight_mean, flight_var, q, free_mean, free_var, tau)
    g = (free_mean - flight_mean) / q
    g = int(g) if g > 0.0 else 0
    if g > max_n:
        g = max_n
    if _ok(g, *args):
        lo, step = g, 1
        while True:
            hi = lo + step
            if hi > max_n:
                hi = max_n
            if hi == lo:
                return lo
            if not _ok(hi, *args):
                break
            lo, step = hi, step * 2
    else:
        hi, step = g, 1
        while True:
            lo = hi - step
            if lo < 0:
                if not _ok(0, *args):
                    return 0
                lo = 0
                break
            if _ok(lo, *args):
                break
            hi, step = lo, step * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _ok(mid, *args):
            lo = mid
        else:
            hi = mid
    return lo


def expected_free(tab, elapsed, max_e):
    """(sum p, sum p(1-p)) with ``p = tab[min(int(e), max_e)]`` over ``elapsed``."""
    m = 0.0
    v = 0.0
    for e in elapsed:
        i = int(e)
        if i > max_e:
            i = max_e
        p = tab[i]
        m += p
        v += p * (1.0 - p)
    return m, v


def flight(recent, surv, q, now):
    """Expected answers still owed by recent dials: ``recent`` holds (dial time, count)."""
    m = 0.0
    v = 0.0
    for t, k in recent:
        p = q * surv[int(now - t)]
        m += k * p
        v += k * p * (1.0 - p)
    return m, v


class Tracker:
    """Answer yield and calls-in-flight bookkeeping of the forecasting policies.

    ``update(now, dials_total, routed_total) -> (q, flight_mean, flight_var)``:
    ``q`` is measured on dials older than ``resolve_time`` over ``window``
    seconds (with ``prior`` weighted as ``weight`` dials); dials launched at the
    previous update are attributed to its time and still owe ``q * surv[age]``
    answers each.
    """

    def __init__(self, prior, weight, resolve_time, window, surv):
        self.prior = float(prior)
        self.weight = float(weight)
        self.resolve_time = float(resolve_time)
        self.window = float(window)
        self.surv = [float(x) for x in surv]
        self.top = len(self.surv) - 1
        self.reset()

    def reset(self):
        from collections import deque

        self.young = deque()
        self.old = deque()
        self.recent = deque()
        self.last_t = 0.0
        self.last_d = -1

    def update(self, now, d_now, r_now):
        young, old, recent = self.young, self.old, self.recent
        young.append((now, d_now, r_now))
        cut = now - self.resolve_time
        while young[0][0] <= cut:
            old.append(young.popleft())
        if not old:
            old.append(young[0])
        lim = cut - self.window
        while len(old) > 2 and old[1][0] <= lim:
            old.popleft()
        a = old[-1]
        b = old[0]
        w = self.weight
        q = ((r_now - b[2]) + self.prior * w) / ((a[1] - b[1]) + w)
        if q > 1.0:
            q = 1.0
        if q < 1e-4:
            q = 1e-4
        if self.last_d >= 0 and d_now > self.last_d:
            recent.append((self.last_t, d_now - self.last_d))
        self.last_t = now
        self.last_d = d_now
        top = self.top
        while recent and now - recent[0][0] >= top:
            recent.popleft()
        surv = self.surv
        m = 0.0
        v = 0.0
        for t, k in recent:
            p = q * surv[int(now - t)]
            m += k * p
            v += k * p * (1.0 - p)
        return q, m, v
