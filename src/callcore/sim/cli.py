"""``callcore sim``: run pacing policies on scenarios, compare them, report with CIs."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import click
import yaml

from .policies import POLICY_NAMES
from .runner import HEADLINE, Point, sweep
from .scenario import Scenario, ScenarioError, bundled_scenarios

PCT = {"occupancy", "abandon_rate", "amd_abandon_rate", "in_p_abandon", "in_service_level"}


def _value(text: str) -> Any:
    return yaml.safe_load(text)


def _params(specs: tuple[str, ...]) -> dict[str, list[tuple[str, list[Any]]]]:
    """``policy.key=v1,v2`` → {policy: [(key, [v1, v2])]}."""
    out: dict[str, list[tuple[str, list[Any]]]] = {}
    for spec in specs:
        if "=" not in spec or "." not in spec.split("=", 1)[0]:
            raise click.BadParameter(f"{spec!r}: expected POLICY.KEY=V1[,V2...]")
        left, right = spec.split("=", 1)
        pol, key = left.split(".", 1)
        if pol not in POLICY_NAMES:
            raise click.BadParameter(f"{spec!r}: unknown policy {pol!r}")
        out.setdefault(pol, []).append((key, [_value(v) for v in right.split(",")]))
    return out


def _points(scenarios, policies, params, overrides) -> list[Point]:
    pts = []
    for sc in scenarios:
        for pol in policies:
            grid = params.get(pol, [])
            keys = [k for k, _ in grid]
            for combo in itertools.product(*[v for _, v in grid]) if grid else [()]:
                pts.append(Point(sc, pol, tuple(zip(keys, combo, strict=True)), overrides))
    return pts


@click.group(name="sim")
def sim() -> None:
    """Pacing lab: simulate dialer pacing policies on benchmark scenarios."""


@sim.command(name="list")
def list_scenarios() -> None:
    """List the bundled scenarios."""
    for name in bundled_scenarios():
        sc = Scenario.load(name)
        click.echo(f"{name:28s} v{sc.version}  {sc.data['description']}")


@sim.command(name="run")
@click.option(
    "--scenario",
    "-s",
    "scenarios",
    multiple=True,
    default=["bench50-talk40-60"],
    show_default=True,
    help="Bundled scenario name or YAML/TOML file (repeatable).",
)
@click.option(
    "--policy",
    "-p",
    "policies",
    multiple=True,
    help=f"Policy (repeatable; default all): {', '.join(POLICY_NAMES)}.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    help="POLICY.KEY=V1[,V2,...] policy parameter; several values sweep them.",
)
@click.option("--set", "sets", multiple=True, help="Scenario override DOTTED.KEY=VALUE.")
@click.option("--replications", "-n", default=10, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(1),
    help="Parallel workers (Ray, local unless --ray-address).",
)
@click.option("--ray-address", default=None, help="Ray cluster address (e.g. ray://host:10001).")
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False), help="Write per-replication rows."
)
@click.option("--parquet", "pq_path", type=click.Path(dir_okay=False), help="Same, as Parquet.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), help="Write PNG plots here.")
@click.option("--pure", is_flag=True, help="Use the pure-Python core (slow; for checking).")
def run(scenarios, policies, params, sets, replications, seed, workers, ray_address, csv_path,
        pq_path, plot_dir, pure) -> None:  # fmt: skip
    """Run one policy or compare several across scenarios, with 95 % confidence intervals."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from .tables import fmt_ci, plot_results, to_frame

    console = Console()
    for s in scenarios:  # fail early, with file/key/reason
        try:
            Scenario.load(s)
        except ScenarioError as e:
            raise click.ClickException(str(e)) from None
    overrides = []
    for spec in sets:
        if "=" not in spec:
            raise click.BadParameter(f"{spec!r}: expected DOTTED.KEY=VALUE", param_hint="--set")
        k, v = spec.split("=", 1)
        overrides.append((k, _value(v)))
    pts = _points(scenarios, policies or POLICY_NAMES, _params(params), tuple(overrides))
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    ) as prog:  # fmt: skip
        task = prog.add_task("simulating", total=len(pts) * replications)
        results = sweep(
            pts, replications, seed, workers, ray_address,
            progress=lambda d, t: prog.update(task, completed=d), pure=True if pure else None,
        )  # fmt: skip
    table = Table(title=f"{replications} replications, seed {seed}, mean ± 95 % CI")
    table.add_column("scenario", overflow="fold")
    table.add_column("policy", overflow="fold")
    ok = [r for r in results if not r.error]
    keys = [
        k
        for k in HEADLINE
        if k not in ("rpc", "dials")
        and not (k.startswith("in_") and all(math.isnan(r.ci(k)[0]) for r in ok))
        and not (k == "amd_abandon_rate" and all(r.ci(k)[0] == 0 for r in ok))
    ]
    for k in keys:
        table.add_column(k.replace("_", " "), justify="right")
    failed = 0
    for r in results:
        if r.error:
            failed += 1
            table.add_row(Path(r.point.scenario).stem, r.point.label, f"[red]FAILED: {r.error}")
            continue
        cells = []
        for k in keys:
            m, h = r.ci(k)
            cells.append(fmt_ci(m, h, pct=k in PCT, digits=2 if k in PCT else 1))
        table.add_row(Path(r.point.scenario).stem, r.point.label, *cells)
    console.print(table)
    if csv_path or pq_path:
        df = to_frame(results)
        if csv_path:
            df.to_csv(csv_path, index=False)
        if pq_path:
            df.to_parquet(pq_path, index=False)
    if plot_dir:
        for f in plot_results(results, plot_dir):
            console.print(f"plot: {f}")
    if failed:
        raise SystemExit(1 if failed == len(results) else 2)


@sim.command(name="erlang")
@click.option("--calls", type=float, required=True, help="Calls per interval.")
@click.option("--interval", type=float, default=1800, show_default=True, help="Seconds.")
@click.option("--aht", type=float, required=True, help="Mean handle time, seconds.")
@click.option("--agents", type=int, multiple=True, required=True)
@click.option("--target", type=float, default=20, show_default=True, help="Service-level seconds.")
@click.option("--patience", type=float, default=None, help="Mean patience (Erlang A), seconds.")
def erlang_cmd(calls, interval, aht, agents, target, patience) -> None:
    """Erlang C (and Erlang A with --patience) figures for a load."""
    from .erlang import ErlangC, erlang_a

    lam = calls / interval
    for n in agents:
        c = ErlangC.compute(lam, aht, n, target)
        line = (f"n={n:4d}  Erlang C: P(wait)={c.p_wait:.6f} ASA={c.asa:.3f}s "
                f"SL({target:g}s)={c.service_level:.4f} occupancy={c.occupancy:.4f}")  # fmt: skip
        if patience:
            a = erlang_a(lam, aht, patience, n)
            line += f"  | Erlang A: P(wait)={a.p_wait:.4f} P(ab)={a.p_abandon:.4f} E[Wq]={a.mean_wait:.2f}s"
        click.echo(line)


@sim.command(name="report")
@click.option("--replications", "-n", default=30, show_default=True, type=click.IntRange(2))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(1))
@click.option("--out", type=click.Path(dir_okay=False), default="docs/pacing-results.md",
              show_default=True)  # fmt: skip
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None)
def report(replications, seed, workers, out, plot_dir) -> None:
    """Run the whole suite and write the results page (docs/pacing-results.md)."""
    from .report import write_report

    text = write_report(replications, seed, workers, plot_dir)
    Path(out).write_text(text)
    click.echo(f"wrote {out}")


__all__ = ["sim"]
