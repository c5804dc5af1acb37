"""Sweeps: CIs, failure isolation, Ray == serial, the ``callcore sim`` command."""

import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from callcore.pacing import Progressive
from callcore.sim import engine
from callcore.sim.cli import sim
from callcore.sim.engine import SimulationError, simulate
from callcore.sim.runner import Point, ci, paired_ci, sweep
from callcore.sim.scenario import Scenario


def test_ci_matches_t_formula():
    x = [1.0, 2.0, 3.0, 4.0]
    m, h = ci(x)
    assert m == 2.5
    assert h == pytest.approx(3.182446305284263 * np.std(x, ddof=1) / 2)
    assert math.isnan(ci([1.0])[1])
    d, hd = paired_ci([2, 3, 4], [1, 2, 3])
    assert d == 1.0 and hd == 0.0


def _tiny(tmp_path, name="tiny.yaml", extra=""):
    p = tmp_path / name
    p.write_text(f"extends: bench50-talk40-60\nname: tiny\nduration: 600\n{extra}")
    return str(p)


def _mixed_points(tmp_path) -> list[Point]:
    """A good point, a point with a bad scenario file, a point with a bad policy parameter."""
    good = _tiny(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: bench50-talk40-60\nagents: -4\n")
    return [Point(good, "progressive"), Point(str(bad), "budget"),
            Point(good, "budget", (("aim", 7.0),)), Point(good, "budget")]  # fmt: skip


def _check_mixed(res) -> None:
    assert res[0].error is None and len(res[0].metrics) == 2
    assert "agents" in res[1].error and "bad.yaml" in res[1].error
    assert "policies.budget" in res[2].error and "aim" in res[2].error
    assert res[3].error is None and len(res[3].metrics) == 2


def test_failing_point_reported_others_complete(tmp_path):
    _check_mixed(sweep(_mixed_points(tmp_path), replications=2, seed=3))


class Exploding(Progressive):
    name = "exploding"

    def decide(self, state, now):
        if now >= 30:
            raise ZeroDivisionError("boom")
        return super().decide(state, now)


def test_policy_that_raises_names_file_key_reason():
    sc = Scenario.load("bench50-talk40-60")
    with pytest.raises(SimulationError) as ei:
        simulate(sc, Exploding(), seed=1)
    e = ei.value
    assert e.source.endswith("bench50-talk40-60.yaml")
    assert e.key == "policies.exploding"
    assert "ZeroDivisionError" in e.reason and "t=30s" in e.reason


def test_policy_returning_garbage_is_reported():
    class Bad(Progressive):
        name = "bad"

        def decide(self, state, now):
            return -2

    with pytest.raises(SimulationError, match="negative dial count"):
        simulate(Scenario.load("bench50-talk40-60"), Bad(), seed=1)


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray (2 CPUs) for every Ray test of this module: start-up is slow.
    ``sweep`` reuses an initialized Ray and leaves it running."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.mark.slow
def test_ray_matches_serial(tmp_path, ray_local):
    pts = [Point(_tiny(tmp_path), p) for p in ("progressive", "budget")]
    serial = sweep(pts, replications=2, seed=9)
    par = sweep(pts, replications=2, seed=9, workers=2)
    for a, b in zip(serial, par, strict=True):
        assert a.error is None and b.error is None
        np.testing.assert_equal(a.metrics, b.metrics)  # NaN-aware, exact
        assert np.array_equal(a.level, b.level)


@pytest.mark.slow
def test_ray_failing_point_reported_others_complete(tmp_path, ray_local):
    """On Ray too, a failing point is reported in its result and the others complete,
    with the same errors and the same numbers as the serial sweep."""
    pts = _mixed_points(tmp_path)
    seen = []
    par = sweep(pts, replications=2, seed=3, workers=2, progress=lambda d, t: seen.append((d, t)))
    _check_mixed(par)
    assert seen[-1] == (8, 8)  # every replication ran, the failing ones included
    assert ray_local.is_initialized()  # the module's session was reused, not shut down
    serial = sweep(pts, replications=2, seed=3)
    for a, b in zip(serial, par, strict=True):
        assert a.error == b.error
        np.testing.assert_equal(a.metrics, b.metrics)


def test_cli_run_writes_table_csv_parquet_plots(tmp_path):
    sc = _tiny(tmp_path)
    out = tmp_path / "o"
    r = CliRunner().invoke(
        sim,
        ["run", "-s", sc, "-p", "progressive", "-p", "budget", "-n", "3",
         "--param", "budget.aim=0.5,0.8", "--csv", str(tmp_path / "r.csv"),
         "--parquet", str(tmp_path / "r.parquet"), "--plot", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "±" in r.output and "occupancy" in r.output
    df = pd.read_csv(tmp_path / "r.csv")
    assert len(df) == 9 and set(df["policy"]) == {
        "progressive",
        "budget(aim=0.5)",
        "budget(aim=0.8)",
    }
    assert pd.read_parquet(tmp_path / "r.parquet").shape == df.shape
    assert (out / "tiny-frontier.png").stat().st_size > 1000
    assert (out / "tiny-dial-level.png").stat().st_size > 1000


def test_cli_bad_scenario_message(tmp_path):
    bad = tmp_path / "b.yaml"
    bad.write_text("outbound:\n  answer: {human: 3}\n")
    r = CliRunner().invoke(sim, ["run", "-s", str(bad), "-n", "2"])
    assert r.exit_code != 0
    assert "outbound.answer.human" in r.output and "b.yaml" in r.output


def test_cli_list_and_erlang():
    r = CliRunner().invoke(sim, ["list"])
    assert r.exit_code == 0 and "collections200" in r.output
    r = CliRunner().invoke(sim, ["erlang", "--calls", "100", "--aht", "180", "--agents", "14",
                                 "--patience", "60"])  # fmt: skip
    assert r.exit_code == 0 and "0.174132" in r.output and "P(ab)=0.0303" in r.output


def test_engine_core_selection_env(monkeypatch):
    monkeypatch.setenv("CALLCORE_PURE", "1")
    assert engine.core_module().__name__.endswith("_core_py")
