"""A plain SimPy model of the same floor, used as the speed baseline and as an
independent check of the event core: same inputs (variates, arrivals, schedule)
and the same rules give the same statistics, bit for bit.

Processes, not tables: every dial attempt is a SimPy process, idle agents are
items of a :class:`simpy.Store` (longest idle first), a waiting call is a pending
``get`` raced against its patience timeout, the dialer is a process that wakes
every tick *after* the other events of that instant (priority 2) and calls the
same pacing policy through the same :class:`ComplianceGuard`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import simpy

from callcore.pacing import ComplianceGuard, PacingState

from . import _core_py as K
from .engine import (
    BLOCK,
    COUNTERS,
    DAY,
    RunResult,
    Variates,
    agent_schedule,
    core_params,
    inbound_arrivals,
    metrics_from,
    rules_for,
    seeds_for,
)
from .scenario import Scenario

__all__ = ["simulate_simpy"]

_LATE = 2  # event priority after simpy's URGENT (0) and NORMAL (1)


class _Floor:
    def __init__(self, env: simpy.Environment, sc: Scenario) -> None:
        self.env = env
        d = sc.data
        hp, f, ip = core_params(sc)
        self.hp = hp.tolist()
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
        ) = f.tolist()
        (
            self.amd_on,
            self.machine_action,
            self.notsure_action,
            self.retry_on,
            self.max_tries,
            self.retry_machines,
        ) = ip.tolist()
        self.n = d["agents"]
        self.n_iv = max(1, int(np.ceil(d["duration"] / d["interval"])))
        self.agents = simpy.Store(env)
        self.state = [K.A_AWAY] * self.n
        self.phase = [0.0] * self.n
        self.login = [0.0] * self.n
        self.pending_away = [False] * self.n
        self.akind = [0] * self.n
        self.n_talk = self.n_wrap = 0
        self.n_away = self.n
        self.n_ring = self.n_wait = 0
        self.rq: list[tuple[float, int]] = []
        self.rq_head = 0
        self.cq: list[tuple[float, int]] = []
        self.cq_head = 0
        self.c = [0.0] * K.NCOUNT
        self.iv = [[0.0] * K.NIV for _ in range(self.n_iv)]
        self.out_hist = [0] * K.OUT_BINS
        self.in_hist = [0] * K.IN_BINS
        self.var = np.zeros((10, 0))
        self.vpos = 0

    def ivi(self, t: float) -> int:
        k = int(t / self.interval)
        return k if k < self.n_iv else self.n_iv - 1

    # ----------------------------------------------------------- agents
    def agent_free(self, a: int) -> None:
        self.state[a] = K.A_IDLE
        self.phase[a] = self.env.now
        self.agents.put(a)  # a waiting get (oldest first) takes it at once

    def on_away(self, a: int) -> None:
        if self.state[a] == K.A_IDLE:
            self.agents.items.remove(a)
            self.state[a] = K.A_AWAY
            self.n_away += 1
            self.c[K.C_LOGGED] += self.env.now - self.login[a]
        elif self.state[a] != K.A_AWAY:
            self.pending_away[a] = True

    def on_back(self, a: int) -> None:
        if self.state[a] == K.A_AWAY:
            self.n_away -= 1
            self.login[a] = self.env.now
            self.agent_free(a)
        else:
            self.pending_away[a] = False

    def retry(self, tries: int, queue: list) -> None:
        if self.retry_on and tries < self.max_tries:
            queue.append((self.env.now + self.retry_delay, tries + 1))

    # ----------------------------------------------------------- calls
    def serve(self, kind, rpc, talk, wrap, limit, tries, cbu):
        """Route an answered call: an idle agent now, or wait up to ``limit``."""
        env, c = self.env, self.c
        if kind != K.K_INBOUND:
            c[K.C_ROUTED] += 1
        routed = env.now
        immediate = bool(self.agents.items)
        req = self.agents.get()
        if immediate:
            if kind == K.K_INBOUND:
                c[K.C_IN_IMMEDIATE] += 1
            a = req.value
        else:
            self.n_wait += 1
            res = yield req | env.timeout(limit)
            if req not in res:
                req.cancel()
                self.n_wait -= 1
                now = env.now
                if kind == K.K_HUMAN:
                    c[K.C_ABANDONS] += 1
                    self.iv[self.ivi(now)][2] += 1
                    if now < self.startup:
                        c[K.C_AB_STARTUP] += 1
                    if limit >= self.window:  # still on the line: compliance message
                        c[K.C_MESSAGES] += 1
                elif kind == K.K_MACHINE:
                    c[K.C_MACHINE_DROPS] += 1
                    if self.retry_machines:
                        self.retry(tries, self.rq)
                else:
                    c[K.C_IN_ABANDONS] += 1
                    c[K.C_IN_ABANDON_WAIT] += now - routed
                    self.iv[self.ivi(now)][9] += 1
                return
            self.n_wait -= 1
            a = req.value
        now = env.now
        wait = now - routed
        if kind == K.K_HUMAN:
            c[K.C_CONNECTS] += 1
            c[K.C_OUT_WAIT] += wait
            b = int(wait * 10.0)
            self.out_hist[b if b < K.OUT_BINS else K.OUT_BINS - 1] += 1
            k = self.ivi(now)
            self.iv[k][3] += 1
            if rpc:
                c[K.C_RPC] += 1
                self.iv[k][4] += 1
        elif kind == K.K_MACHINE:
            c[K.C_MACHINE_CONNECTS] += 1
        else:
            c[K.C_IN_SERVED] += 1
            c[K.C_IN_WAIT] += wait
            if wait <= self.in_target:
                c[K.C_IN_SL] += 1
            b = int(wait)
            self.in_hist[b if b < K.IN_BINS else K.IN_BINS - 1] += 1
        self.state[a] = K.A_TALK
        self.phase[a] = now
        self.akind[a] = kind
        self.n_talk += 1
        if kind == K.K_HUMAN and rpc and cbu < self.p_cb:
            c[K.C_CALLBACKS] += 1
            self.cq.append((now + talk + self.cb_delay, tries + 1))
        yield env.timeout(talk)
        now = env.now
        dur = now - self.phase[a]
        if kind == K.K_MACHINE:
            c[K.C_MACHINE_TIME] += dur
        else:
            c[K.C_TALK] += dur
            self.iv[self.ivi(now)][5] += dur
        self.n_talk -= 1
        self.n_wrap += 1
        self.state[a] = K.A_WRAP
        self.phase[a] = now
        yield env.timeout(wrap)
        now = env.now
        c[K.C_WRAP] += now - self.phase[a]
        self.n_wrap -= 1
        if self.pending_away[a]:
            self.pending_away[a] = False
            self.state[a] = K.A_AWAY
            self.n_away += 1
            c[K.C_LOGGED] += now - self.login[a]
        else:
            self.agent_free(a)

    def attempt(self, outcome, tries, cb, t_ans, kind, rpc, talk, wrap, limit, verdict, amd_d, cbu):
        env, c = self.env, self.c
        if outcome == 0:
            yield env.timeout(self.ring_timeout)
            self.n_ring -= 1
            c[K.C_NOANSWER] += 1
            self.retry(tries, self.cq if cb else self.rq)
            return
        if outcome == 1:
            yield env.timeout(self.busy_time)
            self.n_ring -= 1
            c[K.C_BUSY] += 1
            self.retry(tries, self.rq)
            return
        if outcome == 2:
            yield env.timeout(self.invalid_time)
            self.n_ring -= 1
            c[K.C_INVALID] += 1
            return
        yield env.timeout(t_ans)
        c[K.C_ANSWERS] += 1
        c[K.C_ANSWER_DELAY] += t_ans
        if kind == K.K_HUMAN:
            c[K.C_LIVE] += 1
            self.iv[self.ivi(env.now)][1] += 1
        else:
            c[K.C_MACHINES] += 1
        if self.amd_on:
            yield env.timeout(amd_d)
            self.n_ring -= 1
            action = (
                1
                if verdict == 0
                else (self.machine_action if verdict == 1 else self.notsure_action)
            )
            if not action:
                now = env.now
                if kind == K.K_HUMAN:
                    c[K.C_ABANDONS] += 1
                    c[K.C_ABANDONS_AMD] += 1
                    self.iv[self.ivi(now)][2] += 1
                    if now < self.startup:
                        c[K.C_AB_STARTUP] += 1
                else:
                    c[K.C_MACHINES_HUNGUP] += 1
                    if self.retry_machines:
                        self.retry(tries, self.rq)
                return
        else:
            self.n_ring -= 1
        yield from self.serve(kind, rpc, talk, wrap, limit, tries, cbu)

    def dial(self, count: int, now: float) -> None:
        v = self.var
        hp = self.hp[int((self.t0 + now) / 3600.0) % 24]
        ph, pm, pb, pi = hp
        c = self.c
        k_iv = self.ivi(now)
        for _ in range(count):
            p = self.vpos
            self.vpos = p + 1
            cb, tries = 0, 1
            if self.cq_head < len(self.cq) and self.cq[self.cq_head][0] <= now:
                tries = self.cq[self.cq_head][1]
                self.cq_head += 1
                cb = 1
                c[K.C_DIALS_CB] += 1
            elif self.rq_head < len(self.rq) and self.rq[self.rq_head][0] <= now:
                tries = self.rq[self.rq_head][1]
                self.rq_head += 1
                c[K.C_DIALS_RETRY] += 1
            c[K.C_DIALS] += 1
            self.iv[k_iv][0] += 1
            self.n_ring += 1
            u, t_ans = v[0, p], v[1, p]
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
            kind = rpc = verdict = 0
            talk = limit = 0.0
            ua = v[6, p]
            if outcome == 4:
                kind = K.K_HUMAN
                rpc = 1 if (cb or v[8, p] < self.p_rpc) else 0
                talk = v[2, p] if rpc else v[3, p]
                pat = v[5, p]
                limit = pat if pat < self.window else self.window
                verdict = 1 if ua < self.p_hm else (2 if ua < self.p_hm + self.p_hn else 0)
            elif outcome == 5:
                kind = K.K_MACHINE
                talk = self.machine_handle
                limit = self.window
                verdict = 0 if ua < self.p_mh else (2 if ua < self.p_mh + self.p_mn else 1)
            self.env.process(
                self.attempt(
                    outcome, tries, cb, float(t_ans), kind, rpc, float(talk), float(v[4, p]),
                    float(limit), verdict, float(v[7, p]), float(v[9, p]),
                )
            )  # fmt: skip

    def inbound(self, gaps, talk, wrap, pat):
        env, c = self.env, self.c
        for j in range(len(gaps)):
            yield env.timeout(gaps[j])
            c[K.C_IN_ARRIVALS] += 1
            self.iv[self.ivi(env.now)][8] += 1
            env.process(self.serve(K.K_INBOUND, 0, talk[j], wrap[j], pat[j], 0, 1.0))

    def snapshot(self, now: float, tod: float, elapsed: bool) -> PacingState:
        talk, wrap = [], []
        if elapsed:
            for a in range(self.n):
                if self.state[a] == K.A_TALK:
                    talk.append(now - self.phase[a])
                elif self.state[a] == K.A_WRAP:
                    wrap.append(now - self.phase[a])
        c = self.c
        resolved = c[K.C_NOANSWER] + c[K.C_BUSY] + c[K.C_INVALID] + c[K.C_ANSWERS]
        return PacingState(
            now, tod, len(self.agents.items), self.n_talk, self.n_wrap, self.n_away,
            self.n_ring, self.n_wait, int(c[K.C_DIALS]), int(resolved), int(c[K.C_ANSWERS]),
            c[K.C_ANSWER_DELAY], int(c[K.C_ROUTED]), int(c[K.C_LIVE]), int(c[K.C_ABANDONS]),
            int(c[K.C_ABANDONS_AMD]), talk, wrap,
        )  # fmt: skip


def simulate_simpy(sc: Scenario, policy: Any | None, seed: int = 0, replication: int = 0):
    """The SimPy twin of :func:`callcore.sim.engine.simulate` (same result for same inputs)."""
    d = sc.data
    env = simpy.Environment()
    fl = _Floor(env, sc)
    rng_out, rng_in = seeds_for(seed, replication)
    gaps, italk, iwrap, ipat = inbound_arrivals(sc, rng_in)
    if len(gaps):
        env.process(fl.inbound(gaps.tolist(), italk.tolist(), iwrap.tolist(), ipat.tolist()))
    st, sk, sa = agent_schedule(sc)
    for t, k, a in zip(st.tolist(), sk.tolist(), sa.tolist(), strict=True):
        ev = env.timeout(t)
        ev.callbacks.append(
            (lambda _e, a=a: fl.on_away(a)) if k == K.EV_AWAY else (lambda _e, a=a: fl.on_back(a))
        )
    outbound = d["outbound"]["enabled"] and policy is not None
    pname = getattr(policy, "name", type(policy).__name__) if policy is not None else "none"
    guard = None
    if outbound:
        policy.reset()
        guard = ComplianceGuard(policy, rules_for(sc))
    var = Variates(sc, rng_out)
    wants_elapsed = bool(getattr(policy, "uses_elapsed", True))
    duration, tick, t0 = d["duration"], d["tick"], d["start"]
    n_ticks = int(np.floor(duration / tick + 1e-9))
    minutes = int(np.ceil(duration / 60.0))
    level = np.zeros(minutes)
    active = np.zeros(minutes)

    def dialer():
        for k in range(n_ticks + 1):
            if k:
                ev = simpy.Event(env)
                ev._ok = True
                ev._value = None
                env.schedule(ev, _LATE, tick)
                yield ev
            t = env.now
            row = fl.iv[fl.ivi(t)]
            row[6] += len(fl.agents.items)
            row[7] += fl.n_talk + fl.n_wrap
            if guard is not None and t < duration:
                state = fl.snapshot(t, (t0 + t) % DAY, wants_elapsed)
                n = guard.decide(state, t)
                if n:
                    if fl.var.shape[1] - fl.vpos < n:
                        fl.var = np.concatenate(
                            [fl.var[:, fl.vpos :], var.block(max(BLOCK, n))], axis=1
                        )
                        fl.vpos = 0
                    fl.dial(n, t)
                m = int(t // 60.0)
                level[m] += n
                active[m] += state.agents_idle + state.agents_talking + state.agents_wrapup

    first = simpy.Event(env)
    first._ok = True
    first._value = None

    def start():
        env.schedule(first, _LATE, 0.0)
        yield first
        yield from dialer()

    proc = env.process(start())
    env.run(until=proc)
    # close the books at the end of the campaign (as Core.finish does)
    c = fl.c
    for a in range(fl.n):
        s = fl.state[a]
        if s == K.A_TALK:
            if fl.akind[a] == K.K_MACHINE:
                c[K.C_MACHINE_TIME] += duration - fl.phase[a]
            else:
                c[K.C_TALK] += duration - fl.phase[a]
        elif s == K.A_WRAP:
            c[K.C_WRAP] += duration - fl.phase[a]
        if s != K.A_AWAY:
            c[K.C_LOGGED] += duration - fl.login[a]
    cd = dict(zip(COUNTERS, (float(x) for x in c), strict=True))
    per_min = np.where(active > 0, level / np.maximum(active, 1) * (60.0 / tick), 0.0)
    return RunResult(
        sc.name,
        pname,
        seed,
        replication,
        cd,
        metrics_from(cd, duration),
        np.array(fl.iv, dtype=np.float64),
        np.array(fl.out_hist, dtype=np.int64),
        np.array(fl.in_hist, dtype=np.int64),
        np.column_stack([np.arange(minutes), per_min]),
    )
