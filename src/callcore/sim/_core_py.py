"""Pure-Python twin of ``callcore.sim._core``: the simulator's event loop.

Bit-exact with the Cython module: same event order (time, then insertion
sequence), same floating-point expressions, same consumption of the variate
blocks. The driver (:mod:`callcore.sim.engine`) calls :meth:`Core.run_until`
once per decision tick, asks for a :meth:`Core.snapshot`, lets the pacing
policy decide, and launches the calls with :meth:`Core.dial`.
"""

from __future__ import annotations

import heapq

import numpy as np

from callcore.pacing.state import PacingState

# event kinds
EV_FAIL = 0  # attempt resolved without an answer; payload = outcome | tries << 2 | cb << 10
EV_ANSWER = 1  # payload = slot
EV_AMD = 2  # payload = slot
EV_ABANDON = 3  # payload = slot + gen * SLOTS
EV_TALK_END = 4  # payload = agent
EV_WRAP_END = 5  # payload = agent
EV_AWAY = 6
EV_BACK = 7
EV_ARRIVAL = 8  # payload = inbound index

SLOTS = 1 << 17
NCOUNT = 33
NIV = 10
OUT_BINS = 20  # outbound wait-for-agent histogram: 0.1 s bins
IN_BINS = 600  # inbound wait histogram: 1 s bins

# counter indices
C_DIALS, C_DIALS_RETRY, C_DIALS_CB, C_BUSY, C_INVALID, C_NOANSWER = 0, 1, 2, 3, 4, 5
C_ANSWERS, C_ANSWER_DELAY, C_LIVE, C_MACHINES, C_ROUTED, C_CONNECTS = 6, 7, 8, 9, 10, 11
C_MACHINE_CONNECTS, C_RPC, C_ABANDONS, C_ABANDONS_AMD, C_MACHINE_DROPS = 12, 13, 14, 15, 16
C_MACHINES_HUNGUP, C_IN_ARRIVALS, C_IN_SERVED, C_IN_ABANDONS, C_IN_WAIT = 17, 18, 19, 20, 21
C_TALK, C_MACHINE_TIME, C_WRAP, C_LOGGED, C_CALLBACKS, C_OUT_WAIT, C_IN_SL = (
    22,
    23,
    24,
    25,
    26,
    27,
    28,
)
C_IN_ABANDON_WAIT, C_IN_IMMEDIATE, C_AB_STARTUP, C_MESSAGES = 29, 30, 31, 32

# agent states
A_IDLE, A_TALK, A_WRAP, A_AWAY = 0, 1, 2, 3
# slot kinds
K_HUMAN, K_MACHINE, K_INBOUND = 0, 1, 2
# slot states
S_FREE, S_PENDING, S_WAITING, S_TALKING = 0, 1, 2, 3


class Core:
    """Event-driven state of one simulated campaign floor (outbound, inbound or both)."""

    def __init__(
        self,
        n_agents: int,
        hour_probs,  # (24, 4) human, machine, busy, invalid per hour of day
        fparams,  # float64 parameters, see engine.CORE_FLOATS
        iparams,  # int64 parameters, see engine.CORE_INTS
        schedule_t,  # float64 times of agent AWAY/BACK events (sorted)
        schedule_kind,  # int64: EV_AWAY or EV_BACK
        schedule_agent,  # int64
        in_time,  # float64 inbound inter-arrival gaps (first one from t=0)
        in_talk,
        in_wrap,
        in_patience,
        n_intervals: int,
    ) -> None:
        self.n = int(n_agents)
        self.hp = np.ascontiguousarray(hour_probs, dtype=np.float64).tolist()
        f = [float(x) for x in fparams]
        (
            self.t0,
            self.ring_timeout,
            self.busy_time,
            self.invalid_time,
            self.window,
            self.p_rpc,
            self.p_hm,
            self.p_hn,
            self.p_mh,
            self.p_mn,
            self.machine_handle,
            self.retry_delay,
            self.p_cb,
            self.cb_delay,
            self.p_cb_answer,
            self.interval,
            self.in_target,
            self.startup,
        ) = f[:18]
        i = [int(x) for x in iparams]
        (
            self.amd_on,
            self.machine_action,
            self.notsure_action,
            self.retry_on,
            self.max_tries,
            self.retry_machines,
        ) = i[:6]
        self.n_iv = int(n_intervals)
        self.heap: list = []
        self.seq = 0
        self.now = 0.0
        # agents
        n = self.n
        self.a_state = [A_AWAY] * n
        self.a_phase = [0.0] * n
        self.a_login = [0.0] * n
        self.a_wrap = [0.0] * n
        self.a_pending_away = [0] * n
        self.a_slot_kind = [0] * n
        self.idle: list[int] = []  # FIFO, longest idle first
        self.n_talk = 0
        self.n_wrap = 0
        self.n_away = n
        # slots
        self.s_gen = [0] * SLOTS
        self.s_state = [S_FREE] * SLOTS
        self.s_kind = [0] * SLOTS
        self.s_rpc = [0] * SLOTS
        self.s_talk = [0.0] * SLOTS
        self.s_wrap = [0.0] * SLOTS
        self.s_limit = [0.0] * SLOTS
        self.s_route = [0.0] * SLOTS
        self.s_verdict = [0] * SLOTS  # 0 human, 1 machine, 2 notsure
        self.s_tries = [0] * SLOTS
        self.s_cbu = [0.0] * SLOTS
        self.s_ans = [0.0] * SLOTS
        self.free = list(range(SLOTS - 1, -1, -1))
        # waiting queue (FIFO of slot + gen*SLOTS) and counts
        self.wq: list[int] = []
        self.wq_head = 0
        self.n_wait = 0
        self.n_ring = 0  # dialed and not resolved, or in AMD analysis
        # retry / callback FIFOs: (due, tries)
        self.rq: list = []
        self.rq_head = 0
        self.cq: list = []
        self.cq_head = 0
        # variates
        self.var = np.zeros((10, 0)).tolist()
        self.vpos = 0
        self.vlen = 0
        # stats
        self.c = [0.0] * NCOUNT
        self.iv = np.zeros((max(1, self.n_iv), NIV))
        self.ivl = self.iv.tolist()
        self.out_hist = [0] * OUT_BINS
        self.in_hist = [0] * IN_BINS
        # inbound arrivals
        self.in_time = np.asarray(in_time, dtype=np.float64).tolist()
        self.in_talk = np.asarray(in_talk, dtype=np.float64).tolist()
        self.in_wrap = np.asarray(in_wrap, dtype=np.float64).tolist()
        self.in_pat = np.asarray(in_patience, dtype=np.float64).tolist()
        if self.in_time:
            self._push(self.in_time[0], EV_ARRIVAL, 0)
        st = np.asarray(schedule_t, dtype=np.float64).tolist()
        sk = np.asarray(schedule_kind, dtype=np.int64).tolist()
        sa = np.asarray(schedule_agent, dtype=np.int64).tolist()
        for k in range(len(st)):
            self._push(st[k], sk[k], sa[k])

    # ---------------------------------------------------------------- helpers
    def _push(self, t: float, kind: int, payload: int) -> None:
        heapq.heappush(self.heap, (t, self.seq, kind, payload))
        self.seq += 1

    def _ivi(self, t: float) -> int:
        k = int(t / self.interval)
        if k >= self.n_iv:
            k = self.n_iv - 1
        return k

    def remaining(self) -> int:
        """Variates left for new dial attempts."""
        return self.vlen - self.vpos

    def feed(self, block) -> None:
        """Replace the variate buffer with ``block`` (10 rows), keeping unread values first."""
        old = [row[self.vpos :] for row in self.var]
        b = np.asarray(block, dtype=np.float64).tolist()
        self.var = [old[r] + b[r] for r in range(10)]
        self.vpos = 0
        self.vlen = len(self.var[0])

    # ---------------------------------------------------------------- calls
    def _alloc(self) -> int:
        if not self.free:
            raise RuntimeError("simulator call-slot table is full")
        s = self.free.pop()
        return s

    def _release(self, s: int) -> None:
        self.s_state[s] = S_FREE
        self.s_gen[s] += 1
        self.free.append(s)

    def dial(self, count: int, now: float) -> None:
        """Launch ``count`` attempts at ``now``: due callbacks first, then due retries, then
        fresh records."""
        if count > self.vlen - self.vpos:
            raise RuntimeError("not enough variates fed for this many dials")
        v = self.var
        hp = self.hp[int((self.t0 + now) / 3600.0) % 24]
        ph, pm, pb, pi = hp[0], hp[1], hp[2], hp[3]
        c = self.c
        k_iv = self._ivi(now)
        for _ in range(count):
            p = self.vpos
            self.vpos = p + 1
            cb = 0
            tries = 1
            if self.cq_head < len(self.cq) and self.cq[self.cq_head][0] <= now:
                tries = self.cq[self.cq_head][1]
                self.cq_head += 1
                cb = 1
                c[C_DIALS_CB] += 1
            elif self.rq_head < len(self.rq) and self.rq[self.rq_head][0] <= now:
                tries = self.rq[self.rq_head][1]
                self.rq_head += 1
                c[C_DIALS_RETRY] += 1
            c[C_DIALS] += 1
            self.ivl[k_iv][0] += 1
            self.n_ring += 1
            u = v[0][p]
            t_ans = v[1][p]
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
                if outcome == 4:
                    self.s_kind[s] = K_HUMAN
                    rpc = 1 if (cb or v[8][p] < self.p_rpc) else 0
                    self.s_rpc[s] = rpc
                    self.s_talk[s] = v[2][p] if rpc else v[3][p]
                    pat = v[5][p]
                    self.s_limit[s] = pat if pat < self.window else self.window
                    ua = v[6][p]
                    self.s_verdict[s] = (
                        1 if ua < self.p_hm else (2 if ua < self.p_hm + self.p_hn else 0)
                    )
                else:
                    self.s_kind[s] = K_MACHINE
                    self.s_rpc[s] = 0
                    self.s_talk[s] = self.machine_handle
                    self.s_limit[s] = self.window
                    ua = v[6][p]
                    self.s_verdict[s] = (
                        0 if ua < self.p_mh else (2 if ua < self.p_mh + self.p_mn else 1)
                    )
                self.s_wrap[s] = v[4][p]
                self.s_route[s] = v[7][p]  # AMD delay until routed
                self.s_cbu[s] = v[9][p]
                self.s_ans[s] = t_ans
                self._push(now + t_ans, EV_ANSWER, s)

    def _retry(self, now: float, tries: int) -> None:
        if self.retry_on and tries < self.max_tries:
            self.rq.append((now + self.retry_delay, tries + 1))

    def _route(self, s: int, now: float) -> None:
        """Send an answered call to the longest-idle agent or to the waiting queue."""
        if self.s_kind[s] != K_INBOUND:
            self.c[C_ROUTED] += 1
        self.s_route[s] = now
        if self.idle:
            a = self.idle.pop(0)
            if self.s_kind[s] == K_INBOUND:
                self.c[C_IN_IMMEDIATE] += 1
            self._connect(s, a, now)
        else:
            self.s_state[s] = S_WAITING
            self.wq.append(s + self.s_gen[s] * SLOTS)
            self.n_wait += 1
            self._push(now + self.s_limit[s], EV_ABANDON, s + self.s_gen[s] * SLOTS)

    def _connect(self, s: int, a: int, now: float) -> None:
        c = self.c
        wait = now - self.s_route[s]
        kind = self.s_kind[s]
        self.s_state[s] = S_TALKING
        if kind == K_HUMAN:
            c[C_CONNECTS] += 1
            c[C_OUT_WAIT] += wait
            b = int(wait * 10.0)
            self.out_hist[b if b < OUT_BINS else OUT_BINS - 1] += 1
            k = self._ivi(now)
            self.ivl[k][3] += 1
            if self.s_rpc[s]:
                c[C_RPC] += 1
                self.ivl[k][4] += 1
        elif kind == K_MACHINE:
            c[C_MACHINE_CONNECTS] += 1
        else:
            c[C_IN_SERVED] += 1
            c[C_IN_WAIT] += wait
            if wait <= self.in_target:
                c[C_IN_SL] += 1
            b = int(wait)
            self.in_hist[b if b < IN_BINS else IN_BINS - 1] += 1
        self.a_state[a] = A_TALK
        self.a_phase[a] = now
        self.a_wrap[a] = self.s_wrap[s]
        self.a_slot_kind[a] = kind
        self.n_talk += 1
        talk = self.s_talk[s]
        if kind == K_HUMAN and self.s_rpc[s] and self.s_cbu[s] < self.p_cb:
            c[C_CALLBACKS] += 1
            self.cq.append((now + talk + self.cb_delay, self.s_tries[s] + 1))
        self._release(s)
        self._push(now + talk, EV_TALK_END, a)

    def _agent_free(self, a: int, now: float) -> None:
        """Agent ``a`` becomes idle: serve the oldest waiting call or join the idle FIFO."""
        self.a_state[a] = A_IDLE
        self.a_phase[a] = now
        while self.n_wait:
            e = self.wq[self.wq_head]
            self.wq_head += 1
            s = e % SLOTS
            if self.s_gen[s] == e // SLOTS and self.s_state[s] == S_WAITING:
                self.n_wait -= 1
                self._connect(s, a, now)
                return
        self.idle.append(a)

    # ---------------------------------------------------------------- events
    def run_until(self, t: float) -> None:
        """Process every event at or before ``t``, then sample agent states for ``t``."""
        heap = self.heap
        c = self.c
        while heap and heap[0][0] <= t:
            now, _, kind, p = heapq.heappop(heap)
            self.now = now
            if kind == EV_FAIL:
                self.n_ring -= 1
                out = p & 3
                tries = (p >> 2) & 255
                if out == 0:
                    c[C_NOANSWER] += 1
                    if (p >> 10) & 1:
                        if self.retry_on and tries < self.max_tries:
                            self.cq.append((now + self.retry_delay, tries + 1))
                    else:
                        self._retry(now, tries)
                elif out == 1:
                    c[C_BUSY] += 1
                    self._retry(now, tries)
                else:
                    c[C_INVALID] += 1
            elif kind == EV_ANSWER:
                s = p
                c[C_ANSWERS] += 1
                c[C_ANSWER_DELAY] += self.s_ans[s]
                if self.s_kind[s] == K_HUMAN:
                    c[C_LIVE] += 1
                    self.ivl[self._ivi(now)][1] += 1
                else:
                    c[C_MACHINES] += 1
                if self.amd_on:
                    self._push(now + self.s_route[s], EV_AMD, s)
                else:
                    self.n_ring -= 1
                    self._route(s, now)
            elif kind == EV_AMD:
                s = p
                self.n_ring -= 1
                verdict = self.s_verdict[s]
                action = (
                    1
                    if verdict == 0
                    else (self.machine_action if verdict == 1 else self.notsure_action)
                )
                if action:
                    self._route(s, now)
                else:
                    if self.s_kind[s] == K_HUMAN:
                        c[C_ABANDONS] += 1
                        c[C_ABANDONS_AMD] += 1
                        self.ivl[self._ivi(now)][2] += 1
                        if now < self.startup:
                            c[C_AB_STARTUP] += 1
                    else:
                        c[C_MACHINES_HUNGUP] += 1
                        if self.retry_machines:
                            self._retry(now, self.s_tries[s])
                    self._release(s)
            elif kind == EV_ABANDON:
                s = p % SLOTS
                if self.s_gen[s] == p // SLOTS and self.s_state[s] == S_WAITING:
                    self.n_wait -= 1
                    k = self.s_kind[s]
                    if k == K_HUMAN:
                        c[C_ABANDONS] += 1
                        self.ivl[self._ivi(now)][2] += 1
                        if now < self.startup:
                            c[C_AB_STARTUP] += 1
                        if self.s_limit[s] >= self.window:
                            # still on the line when the connect window closed:
                            # the dialer plays the compliance message
                            c[C_MESSAGES] += 1
                    elif k == K_MACHINE:
                        c[C_MACHINE_DROPS] += 1
                        if self.retry_machines:
                            self._retry(now, self.s_tries[s])
                    else:
                        c[C_IN_ABANDONS] += 1
                        c[C_IN_ABANDON_WAIT] += now - self.s_route[s]
                        self.ivl[self._ivi(now)][9] += 1
                    self._release(s)
            elif kind == EV_TALK_END:
                a = p
                dur = now - self.a_phase[a]
                if self.a_slot_kind[a] == K_MACHINE:
                    c[C_MACHINE_TIME] += dur
                else:
                    c[C_TALK] += dur
                    self.ivl[self._ivi(now)][5] += dur
                self.n_talk -= 1
                self.n_wrap += 1
                self.a_state[a] = A_WRAP
                self.a_phase[a] = now
                self._push(now + self.a_wrap[a], EV_WRAP_END, a)
            elif kind == EV_WRAP_END:
                a = p
                c[C_WRAP] += now - self.a_phase[a]
                self.n_wrap -= 1
                if self.a_pending_away[a]:
                    self.a_pending_away[a] = 0
                    self.a_state[a] = A_AWAY
                    self.n_away += 1
                    c[C_LOGGED] += now - self.a_login[a]
                else:
                    self._agent_free(a, now)
            elif kind == EV_AWAY:
                a = p
                st = self.a_state[a]
                if st == A_IDLE:
                    self.idle.remove(a)
                    self.a_state[a] = A_AWAY
                    self.n_away += 1
                    c[C_LOGGED] += now - self.a_login[a]
                elif st != A_AWAY:
                    self.a_pending_away[a] = 1
            elif kind == EV_BACK:
                a = p
                if self.a_state[a] == A_AWAY:
                    self.n_away -= 1
                    self.a_login[a] = now
                    self._agent_free(a, now)
                else:
                    self.a_pending_away[a] = 0
            else:  # EV_ARRIVAL
                j = p
                if j + 1 < len(self.in_time):
                    self._push(now + self.in_time[j + 1], EV_ARRIVAL, j + 1)
                c[C_IN_ARRIVALS] += 1
                self.ivl[self._ivi(now)][8] += 1
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
        row = self.ivl[self._ivi(t)]
        row[6] += len(self.idle)
        row[7] += self.n_talk + self.n_wrap

    # ---------------------------------------------------------------- outputs
    def snapshot(self, now: float, time_of_day: float, elapsed: bool = True) -> PacingState:
        """The :class:`PacingState` a policy sees at ``now``."""
        talk: list[float] = []
        wrap: list[float] = []
        if elapsed:
            st = self.a_state
            ph = self.a_phase
            for a in range(self.n):
                if st[a] == A_TALK:
                    talk.append(now - ph[a])
                elif st[a] == A_WRAP:
                    wrap.append(now - ph[a])
        c = self.c
        resolved = c[C_NOANSWER] + c[C_BUSY] + c[C_INVALID] + c[C_ANSWERS]
        return PacingState(
            now,
            time_of_day,
            len(self.idle),
            self.n_talk,
            self.n_wrap,
            self.n_away,
            self.n_ring,
            self.n_wait,
            int(c[C_DIALS]),
            int(resolved),
            int(c[C_ANSWERS]),
            c[C_ANSWER_DELAY],
            int(c[C_ROUTED]),
            int(c[C_LIVE]),
            int(c[C_ABANDONS]),
            int(c[C_ABANDONS_AMD]),
            talk,
            wrap,
        )

    def reset_counters(self, now: float) -> None:
        """Zero the statistics at the end of a warm-up, keeping durations exact."""
        c = self.c
        for i in range(NCOUNT):
            c[i] = 0.0
        for a in range(self.n):
            st = self.a_state[a]
            if st == A_TALK:
                if self.a_slot_kind[a] == K_MACHINE:
                    c[C_MACHINE_TIME] -= now - self.a_phase[a]
                else:
                    c[C_TALK] -= now - self.a_phase[a]
            elif st == A_WRAP:
                c[C_WRAP] -= now - self.a_phase[a]
            if st != A_AWAY:
                c[C_LOGGED] -= now - self.a_login[a]
        for i in range(OUT_BINS):
            self.out_hist[i] = 0
        for i in range(IN_BINS):
            self.in_hist[i] = 0

    def finish(self, t_end: float):
        """Close the books at ``t_end``: (counters, per-interval rows, out hist, in hist)."""
        c = self.c
        for a in range(self.n):
            st = self.a_state[a]
            if st == A_TALK:
                if self.a_slot_kind[a] == K_MACHINE:
                    c[C_MACHINE_TIME] += t_end - self.a_phase[a]
                else:
                    c[C_TALK] += t_end - self.a_phase[a]
            elif st == A_WRAP:
                c[C_WRAP] += t_end - self.a_phase[a]
            if st != A_AWAY:
                c[C_LOGGED] += t_end - self.a_login[a]
        return (
            np.array(c, dtype=np.float64),
            np.array(self.ivl, dtype=np.float64),
            np.array(self.out_hist, dtype=np.int64),
            np.array(self.in_hist, dtype=np.int64),
        )
