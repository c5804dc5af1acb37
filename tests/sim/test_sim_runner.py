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


def test_failing_point_reported_others_complete(tmp_path):
    good = _tiny(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: bench50-talk40-60\nagents: -4\n")
    pts = [Point(good, "progressive"), Point(str(bad), "budget"),
           Point(good, "budget", (("aim", 7.0),))]  # fmt: skip
    res = sweep(pts, replications=2, seed=3)
    assert res[0].error is None and len(res[0].metrics) == 2
    assert "agents" in res[1].error and "bad.yaml" in res[1].error
    assert "policies.budget" in res[2].error and "aim" in res[2].error


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


@pytest.mark.slow
def test_ray_matches_serial(tmp_path):
    pts = [Point(_tiny(tmp_path), p) for p in ("progressive", "budget")]
    serial = sweep(pts, replications=2, seed=9)
    par = sweep(pts, replications=2, seed=9, workers=2)
    for a, b in zip(serial, par, strict=True):
        assert a.error is None and b.error is None
        np.testing.assert_equal(a.metrics, b.metrics)  # NaN-aware, exact
        assert np.array_equal(a.level, b.level)


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
