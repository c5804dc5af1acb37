"""The empirical duration distribution: sampling, seeding, scenario files, both cores."""

from pathlib import Path

import numpy as np
import pytest

from callcore import fastpath
from callcore.sim.distributions import Distribution, DistributionError, parse_distribution
from callcore.sim.engine import simulate
from callcore.sim.policies import make_policy
from callcore.sim.scenario import Scenario, ScenarioError

#: A skewed, two-humped sample of talk times (seconds), as a floor's history would give.
TALK = [22.0, 25.0, 31.0, 34.0, 38.0, 41.0, 45.0, 47.0, 52.0, 55.0,
        58.0, 64.0, 70.0, 95.0, 180.0, 210.0, 240.0, 260.0, 300.0, 420.0]  # fmt: skip


def _gen(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def test_empirical_draws_reproduce_sample_mean_and_quantiles():
    d = parse_distribution({"dist": "empirical", "values": TALK}, "outbound.talk")
    assert d.kind == "empirical" and d.values == tuple(TALK)
    assert d.mean == pytest.approx(np.mean(TALK))
    x = d.sample(_gen(7), 200_000)
    assert x.shape == (200_000,)
    assert set(np.unique(x)) <= set(TALK)  # resampling: only observed values
    assert x.mean() == pytest.approx(np.mean(TALK), rel=0.01)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        # draws sit on the observed values: compare the inverse empirical CDFs, and
        # check the mass below each quantile (20 values: 5 % each)
        assert np.quantile(x, q + 0.01, method="inverted_cdf") == np.quantile(
            TALK, q + 0.01, method="inverted_cdf"
        )
        below = np.mean(x <= np.quantile(TALK, q, method="inverted_cdf"))
        assert below == pytest.approx(q, abs=0.005)
    # every observed value is drawn about equally often
    counts = np.array([np.count_nonzero(x == v) for v in TALK])
    assert counts.min() > 0.9 * 10_000 and counts.max() < 1.1 * 10_000


def test_empirical_sampling_is_seeded_and_uses_only_the_given_generator():
    d = Distribution("empirical", values=tuple(TALK))
    a = d.sample(_gen(3), 1000)
    np.random.seed(999)  # global state must not matter
    b = d.sample(_gen(3), 1000)
    c = d.sample(_gen(4), 1000)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_single_value_is_a_fixed_duration():
    d = parse_distribution({"dist": "empirical", "values": [42]}, "talk")
    assert np.array_equal(d.sample(_gen(1), 5), np.full(5, 42.0))


@pytest.mark.parametrize(
    ("spec", "key", "reason"),
    [
        ({"dist": "empirical", "values": []}, "talk.values", "non-empty list"),
        ({"dist": "empirical", "values": "30,40"}, "talk.values", "non-empty list"),
        ({"dist": "empirical", "values": [30, -4, 50]}, "talk.values[1]", ">= 0"),
        ({"dist": "empirical", "values": [30, "long"]}, "talk.values[1]", "finite number"),
        ({"dist": "empirical", "values": [30, float("nan")]}, "talk.values[1]", "finite"),
        ({"dist": "empirical", "values": [True]}, "talk.values[0]", "finite number"),
        ({"dist": "empirical"}, "talk.values", "missing"),
        ({"dist": "empirical", "values": [3], "mean": 3}, "talk.mean", "unknown key"),
    ],
)
def test_bad_empirical_specs_name_key_and_reason(spec, key, reason):
    with pytest.raises(DistributionError) as ei:
        parse_distribution(spec, "talk")
    assert ei.value.key == key
    assert reason in ei.value.reason


def _scenario_file(tmp_path: Path, talk: str, name: str = "emp.yaml") -> Path:
    p = tmp_path / name
    p.write_text(
        "extends: bench50-talk40-60\n"
        "name: emp\n"
        "duration: 1800\n"
        "outbound:\n"
        f"  talk: {{dist: empirical, values: {talk}}}\n"
        "  wrap: {dist: empirical, values: [3, 5, 5, 8]}\n"
        "  amd: {enabled: true, delay: {dist: empirical, values: [1.0, 1.5, 2.5]}}\n"
    )
    return p


def test_scenario_key_loads_empirical_and_survives_overrides(tmp_path):
    sc = Scenario.load(_scenario_file(tmp_path, str(TALK)))
    talk = sc.data["outbound"]["talk"]
    assert talk.kind == "empirical" and talk.values == tuple(TALK)
    assert sc.data["outbound"]["amd"]["delay"].values == (1.0, 1.5, 2.5)
    # overriding another key keeps the empirical samples (round trip through YAML-like data)
    sc2 = sc.with_overrides({"agents": 20})
    assert sc2.data["outbound"]["talk"] == talk
    # the forecasting policies' priors are drawn from the same distributions
    e = make_policy("erlang", sc)
    assert e.mean_handle == pytest.approx(np.mean(TALK) + 5.25, rel=0.03)
    make_policy("budget", sc)  # tabulates its handle-time model from the samples


@pytest.mark.parametrize(
    ("talk", "key", "reason"),
    [
        ("[40, 50, -3]", "outbound.talk.values[2]", ">= 0"),
        ("[]", "outbound.talk.values", "non-empty list"),
        ("[40, fifty]", "outbound.talk.values[1]", "finite number"),
    ],
)
def test_scenario_with_bad_empirical_value_names_file_key_reason(tmp_path, talk, key, reason):
    p = _scenario_file(tmp_path, talk, "bad-emp.yaml")
    with pytest.raises(ScenarioError) as ei:
        Scenario.load(p)
    e = ei.value
    assert (e.source, e.key) == (str(p), key)
    assert reason in e.reason
    assert str(p) in str(e) and key in str(e)


def _compiled():
    try:
        return fastpath.load(pure=False, name="callcore.sim._core")
    except ImportError:
        pytest.skip("compiled simulator core not built")


def test_empirical_talk_in_both_cores(tmp_path):
    """Compiled and pure cores give identical results, and the simulated talk time per
    connected call follows the sample's mean (right-party rate 1: every talk is ``talk``)."""
    sc = Scenario.load(_scenario_file(tmp_path, str(TALK)))
    a = simulate(sc, make_policy("progressive", sc), seed=5, core=_compiled())
    b = simulate(sc, make_policy("progressive", sc), seed=5, pure=True)
    assert a.counters == b.counters
    assert np.array_equal(a.intervals, b.intervals)
    assert a.counters["connects"] > 200
    # calls still talking at the end are cut short: bound the mean from both sides
    per_call = a.counters["talk_time"] / a.counters["connects"]
    assert 0.85 * np.mean(TALK) < per_call < 1.1 * np.mean(TALK)
    c = simulate(sc, make_policy("progressive", sc), seed=6, pure=True)
    assert c.counters != b.counters
