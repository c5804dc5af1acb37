"""Scenario files: bundled set loads, bad input names file, key and reason."""

from pathlib import Path

import pytest

from callcore.sim.scenario import Scenario, ScenarioError, bundled_scenarios

REQUIRED = {
    "team10",
    "bench50-talk40-60",
    "bench50-talk60-120",
    "bench50-talk500-600",
    "collections200",
    "blended60",
}


def test_bundled_suite_present_and_valid():
    names = set(bundled_scenarios())
    assert names >= REQUIRED
    for n in names:
        sc = Scenario.load(n)
        assert sc.name == n and sc.version >= 1


def test_published_benchmark_parameters():
    sc = Scenario.load("bench50-talk40-60")
    o = sc.data["outbound"]
    assert sc.data["agents"] == 50 and sc.data["duration"] == 58 * 60
    assert o["answer"]["human"] == 0.8
    assert (o["time_to_answer"].a, o["time_to_answer"].b) == (15, 25)
    assert (o["talk"].a, o["talk"].b) == (40, 60)
    assert Scenario.load("bench50-talk500-600").data["outbound"]["talk"].b == 600


def test_collections_floor_has_hour_curve_and_low_rpc():
    sc = Scenario.load("collections200")
    o = sc.data["outbound"]
    assert sc.data["agents"] == 200 and sc.data["duration"] == 8 * 3600
    hours = o["answer_by_hour"]
    assert max(h["human"] for h in hours.values()) > 1.5 * min(h["human"] for h in hours.values())
    assert o["right_party"] < 0.3


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("body", "key", "reason"),
    [
        ("agents: 5\ncolour: blue\n", "colour", "unknown key"),
        ("outbound:\n  answr: {human: 0.2}\n", "outbound.answr", "unknown key"),
        ("inbound:\n  enabled: true\n  rate: -3\n", "inbound.rate", ">= 0"),
        ("outbound:\n  answer: {human: 1.2}\n", "outbound.answer.human", "[0, 1]"),
        ("outbound:\n  answer: {human: 0.7, machine: 0.5}\n", "outbound.answer", "sum"),
        ("outbound:\n  ring_timeout: 10\n", "outbound.ring_timeout", "minimum ring"),
        ("outbound:\n  talk: {dist: lognormal, mean: -1, sd: 3}\n", "outbound.talk.mean", "> 0"),
        ("outbound:\n  talk: {dist: weibull, k: 2}\n", "outbound.talk.dist", "one of"),
        ("outbound:\n  amd: {human_as_machine: 2}\n", "outbound.amd.human_as_machine", "[0, 1]"),
        ("policies:\n  magic: {}\n", "policies.magic", "unknown policy"),
    ],
)
def test_bad_scenarios_report_file_key_reason(tmp_path, body, key, reason):
    p = _write(tmp_path, body)
    with pytest.raises(ScenarioError) as ei:
        Scenario.load(p)
    e = ei.value
    assert e.source == str(p)
    assert e.key == key
    assert reason in e.reason
    assert str(p) in str(e) and key in str(e)


def test_extends_overrides_only_given_keys(tmp_path):
    p = _write(tmp_path, "extends: team10\nname: mine\nagents: 12\n")
    sc = Scenario.load(p)
    base = Scenario.load("team10")
    assert sc.name == "mine" and sc.data["agents"] == 12
    assert sc.data["outbound"]["talk"] == base.data["outbound"]["talk"]


def test_toml_scenario(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('name = "t"\nagents = 3\n[outbound]\nright_party = 0.5\n')
    assert Scenario.load(p).data["outbound"]["right_party"] == 0.5


def test_missing_scenario():
    with pytest.raises(ScenarioError, match="no such file"):
        Scenario.load("no-such-scenario")
