# cython: language_level=3
"""Compiled twin of ``callcore.pacing._forecast_py`` (see there)."""

from libc.math cimport exp, erf, sqrt
import numpy as np

cdef double _SQRT2 = sqrt(2.0)
cdef double _INV_SQRT2PI = 1.0 / sqrt(2.0 * 3.141592653589793)


cdef inline bint _ok(long n, double flight_mean, double flight_var, double q,
                     double free_mean, double free_var, double tau):
    cdef double ma = flight_mean + n * q
    cdef double mu = ma - free_mean
    cdef double sd = sqrt(flight_var + n * q * (1.0 - q) + free_var)
    cdef double over, z
    if sd < 1e-9:
        over = mu if mu > 0 else 0.0
    else:
        z = mu / sd
        over = sd * _INV_SQRT2PI * exp(-0.5 * z * z) + mu * 0.5 * (1.0 + erf(z / _SQRT2))
    return over <= tau * ma


def overflow_dials(double flight_mean, double flight_var, double q, double free_mean,
                   double free_var, double tau, long max_n):
    cdef long g, lo, hi, step, mid
    cdef double gg
    if q <= 0.0 or max_n <= 0:
        return 0
    gg = (free_mean - flight_mean) / q
    g = <long>gg if gg > 0.0 else 0
    if g > max_n:
        g = max_n
    if _ok(g, flight_mean, flight_var, q, free_mean, free_var, tau):
        lo = g
        step = 1
        while True:
            hi = lo + step
            if hi > max_n:
                hi = max_n
            if hi == lo:
                return lo
            if not _ok(hi, flight_mean, flight_var, q, free_mean, free_var, tau):
                break
            lo = hi
            step *= 2
    else:
        hi = g
        step = 1
        while True:
            lo = hi - step
            if lo < 0:
                if not _ok(0, flight_mean, flight_var, q, free_mean, free_var, tau):
                    return 0
                lo = 0
                break
            if _ok(lo, flight_mean, flight_var, q, free_mean, free_var, tau):
                break
            hi = lo
            step *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _ok(mid, flight_mean, flight_var, q, free_mean, free_var, tau):
            lo = mid
        else:
            hi = mid
    return lo


def expected_free(tab, elapsed, long max_e):
    cdef double[::1] t = np.asarray(tab, dtype=np.float64)
    cdef double[::1] el = np.ascontiguousarray(elapsed, dtype=np.float64)
    cdef double m = 0.0, v = 0.0, p
    cdef long i, j
    for j in range(el.shape[0]):
        i = <long>el[j]
        if i > max_e:
            i = max_e
        p = t[i]
        m += p
        v += p * (1.0 - p)
    return m, v


def flight(recent, surv, double q, double now):
    cdef double[::1] s = np.asarray(surv, dtype=np.float64)
    cdef double m = 0.0, v = 0.0, p, t
    cdef long k
    for t, k in recent:
        p = q * s[<long>(now - t)]
        m += k * p
        v += k * p * (1.0 - p)
    return m, v


from collections import deque


cdef class Tracker:
    """Compiled twin of ``_forecast_py.Tracker``."""

    cdef double prior, weight, resolve_time, window, last_t
    cdef long long last_d
    cdef long top
    cdef object young, old, recent
    cdef double[::1] surv

    def __init__(self, prior, weight, resolve_time, window, surv):
        self.prior = prior
        self.weight = weight
        self.resolve_time = resolve_time
        self.window = window
        self.surv = np.ascontiguousarray(surv, dtype=np.float64)
        self.top = self.surv.shape[0] - 1
        self.reset()

    def reset(self):
        self.young = deque()
        self.old = deque()
        self.recent = deque()
        self.last_t = 0.0
        self.last_d = -1

    def update(self, double now, long long d_now, long long r_now):
        cdef object young = self.young, old = self.old, recent = self.recent
        cdef double cut, lim, q, w, p, m = 0.0, v = 0.0, t
        cdef long long k, a1, b1, b2
        cdef tuple a, b
        young.append((now, d_now, r_now))
        cut = now - self.resolve_time
        while <double>young[0][0] <= cut:
            old.append(young.popleft())
        if not old:
            old.append(young[0])
        lim = cut - self.window
        while len(old) > 2 and <double>old[1][0] <= lim:
            old.popleft()
        a = old[len(old) - 1]  # (wraparound is off in this build)
        b = old[0]
        a1 = a[1]
        b1 = b[1]
        b2 = b[2]
        w = self.weight
        q = (<double>(r_now - b2) + self.prior * w) / (<double>(a1 - b1) + w)
        if q > 1.0:
            q = 1.0
        if q < 1e-4:
            q = 1e-4
        if self.last_d >= 0 and d_now > self.last_d:
            recent.append((self.last_t, d_now - self.last_d))
        self.last_t = now
        self.last_d = d_now
        while recent and now - <double>recent[0][0] >= self.top:
            recent.popleft()
        for t, k in recent:
            p = q * self.surv[<long>(now - t)]
            m += k * p
            v += k * p * (1.0 - p)
        return q, m, v
