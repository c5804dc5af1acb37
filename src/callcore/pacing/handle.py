"""Handle-time knowledge: how likely a busy agent is to be free within a horizon.

A policy that dials ahead for agents about to finish needs, for each agent, the
probability that the rest of the call plus wrap-up ends within ``h`` seconds given
how long the call has lasted so far. :class:`HandleTimeModel` answers that from
samples of talk and wrap-up times (history of a live campaign, or the scenario's
distributions in the simulator), tabulated per whole second of elapsed time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from callcore import fastpath

_kern = fastpath.load(name="callcore.pacing._forecast")

__all__ = ["HandleTimeModel"]


class HandleTimeModel:
    """Empirical talk/wrap-up model with cached finishing-probability tables.

    ``p_talk(h)[e]`` is P(talk remaining + wrap-up <= h | talk lasted > e seconds);
    ``p_wrap(h)[e]`` is P(wrap-up remaining <= h | wrap-up lasted > e seconds).
    Elapsed times beyond the table use its last entry.
    """

    def __init__(
        self, talk: Sequence[float], wrap: Sequence[float], max_elapsed: int | None = None
    ) -> None:
        self.talk = np.sort(np.asarray(talk, dtype=float))
        self.wrap = np.asarray(wrap, dtype=float)
        if self.talk.size == 0 or self.wrap.size == 0:
            raise ValueError("need at least one talk and one wrap-up sample")
        if max_elapsed is None:
            max_elapsed = int(np.quantile(self.talk, 0.999)) + 2
        self.max_elapsed = max(2, int(max_elapsed))
        self.mean_handle = float(self.talk.mean() + self.wrap.mean())
        self._cache: dict[tuple[str, int], np.ndarray] = {}
        self._last_h = float("nan")
        self._last_tabs: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def exponential(cls, mean_handle: float, n: int = 4000) -> HandleTimeModel:
        """A memoryless model (Erlang's assumption) with the given mean, wrap-up 0."""
        q = (np.arange(n) + 0.5) / n
        return cls(-mean_handle * np.log1p(-q), [0.0])

    def _table(self, kind: str, h: int) -> np.ndarray:
        key = (kind, h)
        tab = self._cache.get(key)
        if tab is not None:
            return tab
        e = np.arange(self.max_elapsed + 1, dtype=float)
        w = self.wrap
        tab = np.empty(e.size)
        if kind == "talk":
            t = self.talk
            for i, ei in enumerate(e):
                alive = t[t > ei]
                if alive.size == 0:
                    tab[i] = 1.0
                    continue
                rem = alive - ei
                # P(rem + W <= h): average over wrap samples of the empirical CDF of rem.
                tab[i] = np.searchsorted(np.sort(rem), h - w, side="right").mean() / rem.size
        else:
            ws = np.sort(w)
            for i, ei in enumerate(e):
                alive = ws[ws > ei]
                tab[i] = 1.0 if alive.size == 0 else float(np.mean(alive - ei <= h))
        self._cache[key] = tab
        return tab

    def p_talk(self, h: float) -> np.ndarray:
        return self._table("talk", round(h))

    def p_wrap(self, h: float) -> np.ndarray:
        return self._table("wrap", round(h))

    def expected_free(
        self, talk_elapsed: Sequence[float], wrap_elapsed: Sequence[float], h: float
    ) -> tuple[float, float]:
        """(mean, variance) of how many of these busy agents are free within ``h`` s."""
        if h != self._last_h:
            self._last_h = h
            self._last_tabs = (self.p_talk(h), self.p_wrap(h))
        tt, tw = self._last_tabs
        m, v = _kern.expected_free(tt, talk_elapsed, self.max_elapsed)
        if len(wrap_elapsed):
            m2, v2 = _kern.expected_free(tw, wrap_elapsed, self.max_elapsed)
            m += m2
            v += v2
        return m, v
