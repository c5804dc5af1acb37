"""Result tables (pandas) and plots (matplotlib) for sweeps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .runner import HEADLINE, PointResult, ci

__all__ = ["fmt_ci", "plot_results", "to_frame", "to_summary"]


def fmt_ci(m: float, h: float, pct: bool = False, digits: int = 1) -> str:
    if math.isnan(m):
        return "—"
    if pct:
        m, h = 100 * m, 100 * h
    s = f"{m:.{digits}f}"
    if not math.isnan(h):
        s += f" ± {h:.{digits}f}"
    return s + (" %" if pct else "")


def to_frame(results: Sequence[PointResult]):
    """One row per replication (long format) with scenario, policy and every metric."""
    import pandas as pd

    rows = []
    for r in results:
        if r.error:
            rows.append({"scenario": r.point.scenario, "policy": r.point.label, "error": r.error})
            continue
        for i, m in enumerate(r.metrics):
            rows.append(
                {"scenario": r.point.scenario, "policy": r.point.label, "replication": i, **m}
            )
    return pd.DataFrame(rows)


def to_summary(results: Sequence[PointResult], keys: Sequence[str] = HEADLINE):
    """One row per point: mean and 95 % CI half-width of each metric."""
    import pandas as pd

    rows = []
    for r in results:
        row = {"scenario": r.point.scenario, "policy": r.point.label}
        if r.error:
            row["error"] = r.error
        else:
            row["replications"] = len(r.metrics)
            for k in keys:
                m, h = r.ci(k)
                row[k] = m
                row[k + "_ci"] = h
        rows.append(row)
    return pd.DataFrame(rows)


def plot_results(results: Sequence[PointResult], out_dir: str | Path) -> list[Path]:
    """Abandon-rate vs occupancy frontier and dial level over time, one pair per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    by_sc: dict[str, list[PointResult]] = {}
    for r in results:
        if not r.error:
            by_sc.setdefault(r.point.scenario, []).append(r)
    for sc, rs in by_sc.items():
        stem = Path(sc).stem
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for r in rs:
            om, oh = ci(r.values("occupancy"))
            am, ah = ci(r.values("abandon_rate"))
            ax.errorbar(100 * om, 100 * am, xerr=100 * np.nan_to_num(oh), yerr=100 * np.nan_to_num(ah),
                        fmt="o", capsize=3, label=r.point.label)  # fmt: skip
        ax.axhline(3.0, color="red", lw=0.8, ls="--", label="3 % cap")
        ax.set_xlabel("agent occupancy (%)")
        ax.set_ylabel("abandon rate (% of live answers)")
        ax.set_title(f"{stem}: abandon vs occupancy")
        ax.legend(fontsize=7)
        f = out / f"{stem}-frontier.png"
        fig.tight_layout()
        fig.savefig(f, dpi=110)
        plt.close(fig)
        files.append(f)
        fig, ax = plt.subplots(figsize=(7, 4))
        for r in rs:
            if r.level is not None:
                ax.plot(np.arange(r.level.size), r.level, label=r.point.label, lw=1)
        ax.set_xlabel("minute of campaign")
        ax.set_ylabel("dials per active agent per minute")
        ax.set_title(f"{stem}: dial level over time")
        ax.legend(fontsize=7)
        f = out / f"{stem}-dial-level.png"
        fig.tight_layout()
        fig.savefig(f, dpi=110)
        plt.close(fig)
        files.append(f)
    return files
