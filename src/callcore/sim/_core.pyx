# cython: language_level=3
"""Compiled simulator core; bit-exact twin of ``callcore.sim._core_py`` (read that
module for the model). Same event order (time, then insertion sequence), same
floating-point expressions, same use of the variate blocks."""

from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memset
import numpy as np

from callcore.pacing.state import PacingState


DEF SLOTS = 131072
DEF NCOUNT = 33
DEF NIV = 10
DEF OUT_BINS = 20
DEF IN_BINS = 600

DEF EV_FAIL = 0
DEF EV_ANSWER = 1
DEF EV_AMD = 2
DEF EV_ABANDON = 3
DEF EV_TALK_END = 4
DEF EV_WRAP_END = 5
DEF EV_AWAY = 6
DEF EV_BACK = 7
DEF EV_ARRIVAL = 8

DEF C_DIALS = 0
DEF C_DIALS_RETRY = 1
DEF C_DIALS_CB = 2
DEF C_BUSY = 3
DEF C_INVALID = 4
DEF C_NOANSWER = 5
DEF C_ANSWERS = 6
DEF C_ANSWER_DELAY = 7
DEF C_LIVE = 8
DEF C_MACHINES = 9
DEF C_ROUTED = 10
DEF C_CONNECTS = 11
DEF C_MACHINE_CONNECTS = 12
DEF C_RPC = 13
DEF C_ABANDONS = 14
DEF C_ABANDONS_AMD = 15
DEF C_MACHINE_DROPS = 16
DEF C_MACHINES_HUNGUP = 17
DEF C_IN_ARRIVALS = 18
DEF C_IN_SERVED = 19
DEF C_IN_ABANDONS = 20
DEF C_IN_WAIT = 21
DEF C_TALK = 22
DEF C_MACHINE_TIME = 23
DEF C_WRAP = 24
DEF C_LOGGED = 25
DEF C_CALLBACKS = 26
DEF C_OUT_WAIT = 27
DEF C_IN_SL = 28
DEF C_IN_ABANDON_WAIT = 29
DEF C_IN_IMMEDIATE = 30
DEF C_AB_STARTUP = 31
DEF C_MESSAGES = 32

DEF A_IDLE = 0
DEF A_TALK = 1
DEF A_WRAP = 2
DEF A_AWAY = 3
DEF K_HUMAN = 0
DEF K_MACHINE = 1
DEF K_INBOUND = 2
DEF S_FREE = 0
DEF S_PENDING = 1
DEF S_WAITING = 2
DEF S_TALKING = 3


cdef class Core:
    cdef int n, n_iv
    cdef double hp[24][4]
    cdef double t0, ring_timeout, busy_time, invalid_time, window, p_rpc
    cdef double p_hm, p_hn, p_mh, p_mn, machine_handle, retry_delay
    cdef double p_cb, cb_delay, p_cb_answer, interval, in_target, startup
    cdef long amd_on, machine_action, notsure_action, retry_on, max_tries, retry_machines
    cdef public double now
    # heap
    cdef double *h_t
    cdef long long *h_seq
    cdef int *h_kind
    cdef long long *h_pay
    cdef long h_n, h_cap
    cdef long long seq
    # agents
    cdef int *a_state
    cdef double *a_phase
    cdef double *a_login
    cdef double *a_wrap
    cdef int *a_pending
    cdef int *a_kind
    cdef int *idle
    cdef int idle_head, idle_n
    cdef int n_talk, n_wrap, n_away
    # slots
    cdef long long *s_gen
    cdef int *s_state
    cdef int *s_kind
    cdef int *s_rpc
    cdef double *s_talk
    cdef double *s_wrap
    cdef double *s_limit
    cdef double *s_route
    cdef int *s_verdict
    cdef int *s_tries
    cdef double *s_cbu
    cdef double *s_ans
    cdef int *freestk
    cdef int free_top
    # waiting queue ring
    cdef long long *wq
    cdef long wq_head, wq_n, wq_cap
    cdef public int n_wait, n_ring
    # retry / callback rings
    cdef double *rq_t
    cdef int *rq_k
    cdef long rq_head, rq_n, rq_cap
    cdef double *cq_t
    cdef int *cq_k
    cdef long cq_head, cq_n, cq_cap
    # variates
    cdef object var_obj
    cdef double[:, ::1] var
    cdef long vpos, vlen
    # stats
    cdef double c[NCOUNT]
    cdef double *ivl
    cdef long long out_hist[OUT_BINS]
    cdef long long in_hist[IN_BINS]
    # inbound
    cdef double[::1] in_time, in_talk, in_wrap, in_pat
    cdef long in_n
    # scratch for snapshots
    cdef object talk_buf, wrap_buf

    def __cinit__(self):
        self.h_t = NULL

    def __init__(self, n_agents, hour_probs, fparams, iparams, schedule_t, schedule_kind,
                 schedule_agent, in_time, in_talk, in_wrap, in_patience, n_intervals):
        cdef int i, h
        cdef double[:, ::1] hpv = np.ascontiguousarray(hour_probs, dtype=np.float64)
        cdef double[::1] f = np.ascontiguousarray(fparams, dtype=np.float64)
        cdef long long[::1] ip = np.ascontiguousarray(iparams, dtype=np.int64)
        self.n = n_agents
        for h in range(24):
            for i in range(4):
                self.hp[h][i] = hpv[h, i]
        self.t0 = f[0]; self.ring_timeout = f[1]; self.busy_time = f[2]
        self.invalid_time = f[3]; self.window = f[4]; self.p_rpc = f[5]
        self.p_hm = f[6]; self.p_hn = f[7]; self.p_mh = f[8]; self.p_mn = f[9]
        self.machine_handle = f[10]; self.retry_delay = f[11]; self.p_cb = f[12]
        self.cb_delay = f[13]; self.p_cb_answer = f[14]; self.interval = f[15]
        self.in_target = f[16]; self.startup = f[17]
        self.amd_on = ip[0]; self.machine_action = ip[1]; self.notsure_action = ip[2]
        self.retry_on = ip[3]; self.max_tries = ip[4]; self.retry_machines = ip[5]
        self.n_iv = max(1, n_intervals)
        self.now = 0.0
        self.h_cap = 1024
        self.h_n = 0
        self.seq = 0
        self.h_t = <double *>malloc(self.h_cap * sizeof(double))
        self.h_seq = <long long *>malloc(self.h_cap * sizeof(long long))
        self.h_kind = <int *>malloc(self.h_cap * sizeof(int))
        self.h_pay = <long long *>malloc(self.h_cap * sizeof(long long))
        n = self.n if self.n > 0 else 1
        self.a_state = <int *>malloc(n * sizeof(int))
        self.a_phase = <double *>malloc(n * sizeof(double))
        self.a_login = <double *>malloc(n * sizeof(double))
        self.a_wrap = <double *>malloc(n * sizeof(double))
        self.a_pending = <int *>malloc(n * sizeof(int))
        self.a_kind = <int *>malloc(n * sizeof(int))
        self.idle = <int *>malloc(n * sizeof(int))
        for i in range(self.n):
            self.a_state[i] = A_AWAY
            self.a_phase[i] = 0.0
            self.a_login[i] = 0.0
            self.a_wrap[i] = 0.0
            self.a_pending[i] = 0
            self.a_kind[i] = 0
        self.idle_head = 0
        self.idle_n = 0
        self.n_talk = 0
        self.n_wrap = 0
        self.n_away = self.n
        self.s_gen = <long long *>malloc(SLOTS * sizeof(long long))
        self.s_state = <int *>malloc(SLOTS * sizeof(int))
        self.s_kind = <int *>malloc(SLOTS * sizeof(int))
        self.s_rpc = <int *>malloc(SLOTS * sizeof(int))
        self.s_talk = <double *>malloc(SLOTS * sizeof(double))
        self.s_wrap = <double *>malloc(SLOTS * sizeof(double))
        self.s_limit = <double *>malloc(SLOTS * sizeof(double))
        self.s_route = <double *>malloc(SLOTS * sizeof(double))
        self.s_verdict = <int *>malloc(SLOTS * sizeof(int))
        self.s_tries = <int *>malloc(SLOTS * sizeof(int))
        self.s_cbu = <double *>malloc(SLOTS * sizeof(double))
        self.s_ans = <double *>malloc(SLOTS * sizeof(double))
        self.freestk = <int *>malloc(SLOTS * sizeof(int))
        for i in range(SLOTS):
            self.s_gen[i] = 0
            self.s_state[i] = S_FREE
            self.freestk[i] = SLOTS - 1 - i
        self.free_top = SLOTS
        self.wq_cap = 1024
        self.wq = <long long *>malloc(self.wq_cap * sizeof(long long))
        self.wq_head = 0
        self.wq_n = 0
        self.n_wait = 0
        self.n_ring = 0
        self.rq_cap = 1024
        self.rq_t = <double *>malloc(self.rq_cap * sizeof(double))
        self.rq_k = <int *>malloc(self.rq_cap * sizeof(int))
        self.rq_head = 0
        self.rq_n = 0
        self.cq_cap = 1024
        self.cq_t = <double *>malloc(self.cq_cap * sizeof(double))
        self.cq_k = <int *>malloc(self.cq_cap * sizeof(int))
        self.cq_head = 0
        self.cq_n = 0
        self.var_obj = np.zeros((10, 0))
        self.var = self.var_obj
        self.vpos = 0
        self.vlen = 0
        for i in range(NCOUNT):
            self.c[i] = 0.0
        self.ivl = <double *>malloc(self.n_iv * NIV * sizeof(double))
        for i in range(self.n_iv * NIV):
            self.ivl[i] = 0.0
        for i in range(OUT_BINS):
            self.out_hist[i] = 0
        for i in range(IN_BINS):
            self.in_hist[i] = 0
        self.in_time = np.ascontiguousarray(in_time, dtype=np.float64)
        self.in_talk = np.ascontiguousarray(in_talk, dtype=np.float64)
        self.in_wrap = np.ascontiguousarray(in_wrap, dtype=np.float64)
        self.in_pat = np.ascontiguousarray(in_patience, dtype=np.float64)
        self.in_n = self.in_time.shape[0]
        if self.in_n:
            self._push(self.in_time[0], EV_ARRIVAL, 0)
        cdef double[::1] st = np.ascontiguousarray(schedule_t, dtype=np.float64)
        cdef long long[::1] sk = np.ascontiguousarray(schedule_kind, dtype=np.int64)
        cdef long long[::1] sa = np.ascontiguousarray(schedule_agent, dtype=np.int64)
        for i in range(st.shape[0]):
            self._push(st[i], <int>sk[i], sa[i])
        self.talk_buf = np.empty(n, dtype=np.float64)
        self.wrap_buf = np.empty(n, dtype=np.float64)

    def __dealloc__(self):
        if self.h_t == NULL:
            return
        free(self.h_t); free(self.h_seq); free(self.h_kind); free(self.h_pay)
        free(self.a_state); free(self.a_phase); free(self.a_login); free(self.a_wrap)
        free(self.a_pending); free(self.a_kind); free(self.idle)
        free(self.s_gen); free(self.s_state); free(self.s_kind); free(self.s_rpc)
        free(self.s_talk); free(self.s_wrap); free(self.s_limit); free(self.s_route)
        free(self.s_verdict); free(self.s_tries); free(self.s_cbu); free(self.s_ans)
        free(self.freestk); free(self.wq); free(self.rq_t); free(self.rq_k)
        free(self.cq_t); free(self.cq_k); free(self.ivl)

    # ------------------------------------------------------------ heap
    cdef inline bint _less(self, long i, long j) nogil:
        return self.h_t[i] < self.h_t[j] or (
            self.h_t[i] == self.h_t[j] and self.h_seq[i] < self.h_seq[j])

    cdef void _push(self, double t, int kind, long long pay) except *:
        cdef long i, p
        if self.h_n == self.h_cap:
            self.h_cap *= 2
            self.h_t = <double *>realloc(self.h_t, self.h_cap * sizeof(double))
            self.h_seq = <long long *>realloc(self.h_seq, self.h_cap * sizeof(long long))
            self.h_kind = <int *>realloc(self.h_kind, self.h_cap * sizeof(int))
            self.h_pay = <long long *>realloc(self.h_pay, self.h_cap * sizeof(long long))
            if self.h_t == NULL or self.h_seq == NULL or self.h_kind == NULL or self.h_pay == NULL:
                raise MemoryError()
        i = self.h_n
        self.h_n += 1
        cdef long long sq = self.seq
        self.seq += 1
        while i > 0:
            p = (i - 1) >> 1
            if t < self.h_t[p] or (t == self.h_t[p] and sq < self.h_seq[p]):
                self.h_t[i] = self.h_t[p]
                self.h_seq[i] = self.h_seq[p]
                self.h_kind[i] = self.h_kind[p]
                self.h_pay[i] = self.h_pay[p]
                i = p
            else:
                break
        self.h_t[i] = t
        self.h_seq[i] = sq
        self.h_kind[i] = kind
        self.h_pay[i] = pay

    cdef void _pop(self) nogil:
        # remove the root (caller has read it)
        cdef long n = self.h_n - 1
        cdef long i = 0, ch
        cdef double t = self.h_t[n]
        cdef long long sq = self.h_seq[n]
        cdef int kd = self.h_kind[n]
        cdef long long py = self.h_pay[n]
        self.h_n = n
        if n == 0:
            return
        while True:
            ch = 2 * i + 1
            if ch >= n:
                break
            if ch + 1 < n and (self.h_t[ch + 1] < self.h_t[ch] or (
                    self.h_t[ch + 1] == self.h_t[ch] and self.h_seq[ch + 1] < self.h_seq[ch])):
                ch += 1
            if self.h_t[ch] < t or (self.h_t[ch] == t and self.h_seq[ch] < sq):
                self.h_t[i] = self.h_t[ch]
                self.h_seq[i] = self.h_seq[ch]
                self.h_kind[i] = self.h_kind[ch]
                self.h_pay[i] = self.h_pay[ch]
                i = ch
            else:
                break
        self.h_t[i] = t
        self.h_seq[i] = sq
        self.h_kind[i] = kd
        self.h_pay[i] = py

    # ------------------------------------------------------------ helpers
    cdef inline long _ivi(self, double t):
        cdef long k = <long>(t / self.interval)
        if k >= self.n_iv:
            k = self.n_iv - 1
        return k

    def remaining(self):
        return self.vlen - self.vpos

    def feed(self, block):
        old = np.asarray(self.var_obj)[:, self.vpos:]
        new = np.ascontiguousarray(np.concatenate([old, np.asarray(block, dtype=np.float64)], axis=1))
        self.var_obj = new
        self.var = new
        self.vpos = 0
        self.vlen = new.shape[1]

    cdef inline int _alloc(self) except -1:
        if self.free_top == 0:
            raise RuntimeError("simulator call-slot table is full")
        self.free_top -= 1
        return self.freestk[self.free_top]

    cdef inline void _release(self, int s):
        self.s_state[s] = S_FREE
        self.s_gen[s] += 1
        self.freestk[self.free_top] = s
        self.free_top += 1

    cdef void _rq_push(self, double due, int tries) except *:
        cdef long i, j
        cdef double *nt
        cdef int *nk
        if self.rq_n == self.rq_cap:
            nt = <double *>malloc(2 * self.rq_cap * sizeof(double))
            nk = <int *>malloc(2 * self.rq_cap * sizeof(int))
            for i in range(self.rq_n):
                j = (self.rq_head + i) % self.rq_cap
                nt[i] = self.rq_t[j]
                nk[i] = self.rq_k[j]
            free(self.rq_t); free(self.rq_k)
            self.rq_t = nt; self.rq_k = nk
            self.rq_head = 0
            self.rq_cap *= 2
        j = (self.rq_head + self.rq_n) % self.rq_cap
        self.rq_t[j] = due
        self.rq_k[j] = tries
        self.rq_n += 1

    cdef void _cq_push(self, double due, int tries) except *:
        cdef long i, j
        cdef double *nt
        cdef int *nk
        if self.cq_n == self.cq_cap:
            nt = <double *>malloc(2 * self.cq_cap * sizeof(double))
            nk = <int *>malloc(2 * self.cq_cap * sizeof(int))
            for i in range(self.cq_n):
                j = (self.cq_head + i) % self.cq_cap
                nt[i] = self.cq_t[j]
                nk[i] = self.cq_k[j]
            free(self.cq_t); free(self.cq_k)
            self.cq_t = nt; self.cq_k = nk
            self.cq_head = 0
            self.cq_cap *= 2
        j = (self.cq_head + self.cq_n) % self.cq_cap
        self.cq_t[j] = due
        self.cq_k[j] = tries
        self.cq_n += 1

    cdef void _wq_push(self, long long e) except *:
        cdef long i, j
        cdef long long *nw
        if self.wq_n == self.wq_cap:
            nw = <long long *>malloc(2 * self.wq_cap * sizeof(long long))
            for i in range(self.wq_n):
                nw[i] = self.wq[(self.wq_head + i) % self.wq_cap]
            free(self.wq)
            self.wq = nw
            self.wq_head = 0
            self.wq_cap *= 2
        self.wq[(self.wq_head + self.wq_n) % self.wq_cap] = e
        self.wq_n += 1

    # ------------------------------------------------------------ calls
    def dial(self, long count, double now):
        if count > self.vlen - self.vpos:
            raise RuntimeError("not enough variates fed for this many dials")
        cdef double[:, ::1] v = self.var
        cdef long hr = (<long>((self.t0 + now) / 3600.0)) % 24
        cdef double ph = self.hp[hr][0], pm = self.hp[hr][1]
        cdef double pb = self.hp[hr][2], pi = self.hp[hr][3]
        cdef long k_iv = self._ivi(now)
        cdef long p, x
        cdef int cb, tries, outcome, s, rpc
        cdef double u, t_ans, pat, ua
        for x in range(count):
            p = self.vpos
            self.vpos = p + 1
            cb = 0
            tries = 1
            if self.cq_n and self.cq_t[self.cq_head] <= now:
                tries = self.cq_k[self.cq_head]
                self.cq_head = (self.cq_head + 1) % self.cq_cap
                self.cq_n -= 1
                cb = 1
                self.c[C_DIALS_CB] += 1
            elif self.rq_n and self.rq_t[self.rq_head] <= now:
                tries = self.rq_k[self.rq_head]
                self.rq_head = (self.rq_head + 1) % self.rq_cap
                self.rq_n -= 1
                self.c[C_DIALS_RETRY] += 1
            self.c[C_DIALS] += 1
            self.ivl[k_iv * NIV + 0] += 1
            self.n_ring += 1
            u = v[0, p]
            t_ans = v[1, p]
            if cb:
                outcome = 4 if u < self.p_cb_answer else 0
            elif u < ph:
                outcome = 4
            elif u < ph + pm:
                outcome = 5
            elif u < ph + pm + pb:
                outcome = 1
            elif u < ph + pm + pb + pi:
                outcome = 2
            else:
                outcome = 0
            if outcome >= 4 and t_ans >= self.ring_timeout:
                outcome = 0
            if outcome == 0:
                self._push(now + self.ring_timeout, EV_FAIL, 0 | (tries << 2) | (cb << 10))
            elif outcome == 1:
                self._push(now + self.busy_time, EV_FAIL, 1 | (tries << 2))
            elif outcome == 2:
                self._push(now + self.invalid_time, EV_FAIL, 2 | (tries << 2))
            else:
                s = self._alloc()
                self.s_state[s] = S_PENDING
                self.s_tries[s] = tries
                ua = v[6, p]
                if outcome == 4:
                    self.s_kind[s] = K_HUMAN
                    rpc = 1 if (cb or v[8, p] < self.p_rpc) else 0
                    self.s_rpc[s] = rpc
                    self.s_talk[s] = v[2, p] if rpc else v[3, p]
                    pat = v[5, p]
                    self.s_limit[s] = pat if pat < self.window else self.window
                    self.s_verdict[s] = 1 if ua < self.p_hm else (2 if ua < self.p_hm + self.p_hn else 0)
                else:
                    self.s_kind[s] = K_MACHINE
                    self.s_rpc[s] = 0
                    self.s_talk[s] = self.machine_handle
                    self.s_limit[s] = self.window
                    self.s_verdict[s] = 0 if ua < self.p_mh else (2 if ua < self.p_mh + self.p_mn else 1)
                self.s_wrap[s] = v[4, p]
                self.s_route[s] = v[7, p]
                self.s_cbu[s] = v[9, p]
                self.s_ans[s] = t_ans
                self._push(now + t_ans, EV_ANSWER, s)

    cdef inline void _retry(self, double now, int tries) except *:
        if self.retry_on and tries < self.max_tries:
            self._rq_push(now + self.retry_delay, tries + 1)

    cdef void _route(self, int s, double now) except *:
        cdef int a
        if self.s_kind[s] != K_INBOUND:
            self.c[C_ROUTED] += 1
        self.s_route[s] = now
        if self.idle_n:
            a = self.idle[self.idle_head]
            self.idle_head = (self.idle_head + 1) % self.n
            self.idle_n -= 1
            if self.s_kind[s] == K_INBOUND:
                self.c[C_IN_IMMEDIATE] += 1
            self._connect(s, a, now)
        else:
            self.s_state[s] = S_WAITING
            self._wq_push(s + self.s_gen[s] * SLOTS)
            self.n_wait += 1
            self._push(now + self.s_limit[s], EV_ABANDON, s + self.s_gen[s] * SLOTS)

    cdef void _connect(self, int s, int a, double now) except *:
        cdef double wait = now - self.s_route[s]
        cdef int kind = self.s_kind[s]
        cdef long b, k
        cdef double talk
        self.s_state[s] = S_TALKING
        if kind == K_HUMAN:
            self.c[C_CONNECTS] += 1
            self.c[C_OUT_WAIT] += wait
            b = <long>(wait * 10.0)
            self.out_hist[b if b < OUT_BINS else OUT_BINS - 1] += 1
            k = self._ivi(now)
            self.ivl[k * NIV + 3] += 1
            if self.s_rpc[s]:
                self.c[C_RPC] += 1
                self.ivl[k * NIV + 4] += 1
        elif kind == K_MACHINE:
            self.c[C_MACHINE_CONNECTS] += 1
        else:
            self.c[C_IN_SERVED] += 1
            self.c[C_IN_WAIT] += wait
            if wait <= self.in_target:
                self.c[C_IN_SL] += 1
            b = <long>wait
            self.in_hist[b if b < IN_BINS else IN_BINS - 1] += 1
        self.a_state[a] = A_TALK
        self.a_phase[a] = now
        self.a_wrap[a] = self.s_wrap[s]
        self.a_kind[a] = kind
        self.n_talk += 1
        talk = self.s_talk[s]
        if kind == K_HUMAN and self.s_rpc[s] and self.s_cbu[s] < self.p_cb:
            self.c[C_CALLBACKS] += 1
            self._cq_push(now + talk + self.cb_delay, self.s_tries[s] + 1)
        self._release(s)
        self._push(now + talk, EV_TALK_END, a)

    cdef void _agent_free(self, int a, double now) except *:
        cdef long long e
        cdef int s
        self.a_state[a] = A_IDLE
        self.a_phase[a] = now
        while self.n_wait:
            e = self.wq[self.wq_head]
            self.wq_head = (self.wq_head + 1) % self.wq_cap
            self.wq_n -= 1
            s = <int>(e % SLOTS)
            if self.s_gen[s] == e // SLOTS and self.s_state[s] == S_WAITING:
                self.n_wait -= 1
                self._connect(s, a, now)
                return
        self.idle[(self.idle_head + self.idle_n) % self.n] = a
        self.idle_n += 1

    cdef void _idle_remove(self, int a):
        cdef int i, j, found = -1
        for i in range(self.idle_n):
            if self.idle[(self.idle_head + i) % self.n] == a:
                found = i
                break
        if found < 0:
            return
        for i in range(found, self.idle_n - 1):
            self.idle[(self.idle_head + i) % self.n] = self.idle[(self.idle_head + i + 1) % self.n]
        self.idle_n -= 1

    # ------------------------------------------------------------ events
    def run_until(self, double t):
        cdef double now
        cdef int kind, s, a, out, tries, verdict, action, k
        cdef long long p
        cdef long j
        cdef double dur
        while self.h_n and self.h_t[0] <= t:
            now = self.h_t[0]
            kind = self.h_kind[0]
            p = self.h_pay[0]
            self._pop()
            self.now = now
            if kind == EV_FAIL:
                self.n_ring -= 1
                out = <int>(p & 3)
                tries = <int>((p >> 2) & 255)
                if out == 0:
                    self.c[C_NOANSWER] += 1
                    if (p >> 10) & 1:
                        if self.retry_on and tries < self.max_tries:
                            self._cq_push(now + self.retry_delay, tries + 1)
                    else:
                        self._retry(now, tries)
                elif out == 1:
                    self.c[C_BUSY] += 1
                    self._retry(now, tries)
                else:
                    self.c[C_INVALID] += 1
            elif kind == EV_ANSWER:
                s = <int>p
                self.c[C_ANSWERS] += 1
                self.c[C_ANSWER_DELAY] += self.s_ans[s]
                if self.s_kind[s] == K_HUMAN:
                    self.c[C_LIVE] += 1
                    self.ivl[self._ivi(now) * NIV + 1] += 1
                else:
                    self.c[C_MACHINES] += 1
                if self.amd_on:
                    self._push(now + self.s_route[s], EV_AMD, s)
                else:
                    self.n_ring -= 1
                    self._route(s, now)
            elif kind == EV_AMD:
                s = <int>p
                self.n_ring -= 1
                verdict = self.s_verdict[s]
                if verdict == 0:
                    action = 1
                elif verdict == 1:
                    action = <int>self.machine_action
                else:
                    action = <int>self.notsure_action
                if action:
                    self._route(s, now)
                else:
                    if self.s_kind[s] == K_HUMAN:
                        self.c[C_ABANDONS] += 1
                        self.c[C_ABANDONS_AMD] += 1
                        self.ivl[self._ivi(now) * NIV + 2] += 1
                        if now < self.startup:
                            self.c[C_AB_STARTUP] += 1
                    else:
                        self.c[C_MACHINES_HUNGUP] += 1
                        if self.retry_machines:
                            self._retry(now, self.s_tries[s])
                    self._release(s)
            elif kind == EV_ABANDON:
                s = <int>(p % SLOTS)
                if self.s_gen[s] == p // SLOTS and self.s_state[s] == S_WAITING:
                    self.n_wait -= 1
                    k = self.s_kind[s]
                    if k == K_HUMAN:
                        self.c[C_ABANDONS] += 1
                        self.ivl[self._ivi(now) * NIV + 2] += 1
                        if now < self.startup:
                            self.c[C_AB_STARTUP] += 1
                        if self.s_limit[s] >= self.window:
                            # still on the line when the connect window closed:
                            # the dialer plays the compliance message
                            self.c[C_MESSAGES] += 1
                    elif k == K_MACHINE:
                        self.c[C_MACHINE_DROPS] += 1
                        if self.retry_machines:
                            self._retry(now, self.s_tries[s])
                    else:
                        self.c[C_IN_ABANDONS] += 1
                        self.c[C_IN_ABANDON_WAIT] += now - self.s_route[s]
                        self.ivl[self._ivi(now) * NIV + 9] += 1
                    self._release(s)
            elif kind == EV_TALK_END:
                a = <int>p
                dur = now - self.a_phase[a]
                if self.a_kind[a] == K_MACHINE:
                    self.c[C_MACHINE_TIME] += dur
                else:
                    self.c[C_TALK] += dur
                    self.ivl[self._ivi(now) * NIV + 5] += dur
                self.n_talk -= 1
                self.n_wrap += 1
                self.a_state[a] = A_WRAP
                self.a_phase[a] = now
                self._push(now + self.a_wrap[a], EV_WRAP_END, a)
            elif kind == EV_WRAP_END:
                a = <int>p
                self.c[C_WRAP] += now - self.a_phase[a]
                self.n_wrap -= 1
                if self.a_pending[a]:
                    self.a_pending[a] = 0
                    self.a_state[a] = A_AWAY
                    self.n_away += 1
                    self.c[C_LOGGED] += now - self.a_login[a]
                else:
                    self._agent_free(a, now)
            elif kind == EV_AWAY:
                a = <int>p
                if self.a_state[a] == A_IDLE:
                    self._idle_remove(a)
                    self.a_state[a] = A_AWAY
                    self.n_away += 1
                    self.c[C_LOGGED] += now - self.a_login[a]
                elif self.a_state[a] != A_AWAY:
                    self.a_pending[a] = 1
            elif kind == EV_BACK:
                a = <int>p
                if self.a_state[a] == A_AWAY:
                    self.n_away -= 1
                    self.a_login[a] = now
                    self._agent_free(a, now)
                else:
                    self.a_pending[a] = 0
            else:
                j = <long>p
                if j + 1 < self.in_n:
                    self._push(now + self.in_time[j + 1], EV_ARRIVAL, j + 1)
                self.c[C_IN_ARRIVALS] += 1
                self.ivl[self._ivi(now) * NIV + 8] += 1
                s = self._alloc()
                self.s_kind[s] = K_INBOUND
                self.s_rpc[s] = 0
                self.s_talk[s] = self.in_talk[j]
                self.s_wrap[s] = self.in_wrap[j]
                self.s_limit[s] = self.in_pat[j]
                self.s_tries[s] = 0
                self.s_cbu[s] = 1.0
                self._route(s, now)
        self.now = t
        cdef long row = self._ivi(t) * NIV
        self.ivl[row + 6] += self.idle_n
        self.ivl[row + 7] += self.n_talk + self.n_wrap

    # ------------------------------------------------------------ outputs
    def snapshot(self, double now, double time_of_day, bint elapsed=True):
        cdef double[::1] tb = self.talk_buf
        cdef double[::1] wb = self.wrap_buf
        cdef int a, nt = 0, nw = 0
        if elapsed:
            for a in range(self.n):
                if self.a_state[a] == A_TALK:
                    tb[nt] = now - self.a_phase[a]
                    nt += 1
                elif self.a_state[a] == A_WRAP:
                    wb[nw] = now - self.a_phase[a]
                    nw += 1
        cdef double resolved = self.c[C_NOANSWER] + self.c[C_BUSY] + self.c[C_INVALID] + self.c[C_ANSWERS]
        return PacingState(
            now, time_of_day, self.idle_n, self.n_talk, self.n_wrap, self.n_away,
            self.n_ring, self.n_wait, int(self.c[C_DIALS]), int(resolved),
            int(self.c[C_ANSWERS]), self.c[C_ANSWER_DELAY], int(self.c[C_ROUTED]),
            int(self.c[C_LIVE]), int(self.c[C_ABANDONS]), int(self.c[C_ABANDONS_AMD]),
            self.talk_buf[:nt], self.wrap_buf[:nw],
        )

    def reset_counters(self, double now):
        cdef int i, a, st
        for i in range(NCOUNT):
            self.c[i] = 0.0
        for a in range(self.n):
            st = self.a_state[a]
            if st == A_TALK:
                if self.a_kind[a] == K_MACHINE:
                    self.c[C_MACHINE_TIME] -= now - self.a_phase[a]
                else:
                    self.c[C_TALK] -= now - self.a_phase[a]
            elif st == A_WRAP:
                self.c[C_WRAP] -= now - self.a_phase[a]
            if st != A_AWAY:
                self.c[C_LOGGED] -= now - self.a_login[a]
        for i in range(OUT_BINS):
            self.out_hist[i] = 0
        for i in range(IN_BINS):
            self.in_hist[i] = 0

    def finish(self, double t_end):
        cdef int a, st, i
        for a in range(self.n):
            st = self.a_state[a]
            if st == A_TALK:
                if self.a_kind[a] == K_MACHINE:
                    self.c[C_MACHINE_TIME] += t_end - self.a_phase[a]
                else:
                    self.c[C_TALK] += t_end - self.a_phase[a]
            elif st == A_WRAP:
                self.c[C_WRAP] += t_end - self.a_phase[a]
            if st != A_AWAY:
                self.c[C_LOGGED] += t_end - self.a_login[a]
        counters = np.array([self.c[i] for i in range(NCOUNT)], dtype=np.float64)
        iv = np.array([self.ivl[i] for i in range(self.n_iv * NIV)], dtype=np.float64)
        oh = np.array([self.out_hist[i] for i in range(OUT_BINS)], dtype=np.int64)
        ih = np.array([self.in_hist[i] for i in range(IN_BINS)], dtype=np.int64)
        return counters, iv.reshape(self.n_iv, NIV), oh, ih
