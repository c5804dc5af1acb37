"""Flow files: good ones load, bad ones are refused with file, line and reason."""

import pytest

from callcore.center.ivr import FlowLoadError, load_flow

GOOD_YAML = """\
flow: mini
start: main
fallback_queue: general
nodes:
  main:
    type: menu
    prompt: "Press 1"
    options: {1: card}
  card:
    type: collect
    prompt: "Card?"
    var: card
    validator: card_number
    mask: last4
    next: bye
  bye:
    type: hangup
"""

GOOD_TOML = """\
flow = "mini"
start = "main"
fallback_queue = "general"

[nodes.main]
type = "menu"
prompt = "Press 1"
options = { "1" = "bye" }

[nodes.bye]
type = "hangup"
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def refused(path):
    with pytest.raises(FlowLoadError) as ei:
        load_flow(path)
    return ei.value


def test_good_files_load(tmp_path):
    f = load_flow(write(tmp_path, "a.yaml", GOOD_YAML))
    assert f.name == "mini" and set(f.nodes) == {"main", "card", "bye"}
    assert f.nodes["main"].options == {"1": "card"}
    t = load_flow(write(tmp_path, "a.toml", GOOD_TOML))
    assert t.start == "main" and t.nodes["main"].options == {"1": "bye"}


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ("options: {1: card}", "options: {1: nowhere}", 8, "undefined node 'nowhere'"),
        ("validator: card_number", "validator: cardnum", 13, "unknown validator 'cardnum'"),
        ("mask: last4", "mask: first4", 14, "unknown mask"),
        ("    type: hangup", "    type: hangout", 17, "unknown type 'hangout'"),
        ("    var: card\n", "    var: card\n    colour: red\n", 13, "unknown key 'colour'"),
        ('    prompt: "Card?"\n', "", 9, "missing prompt"),
        ("start: main", "start: mian", 2, "start node 'mian'"),
        ("options: {1: card}", "options: {12: card}", 8, "single DTMF digits"),
        ("    var: card\n", "    var: card\n    max_digits: lots\n", 13, "wrong type"),
        ("options: {1: card}", "options: {1: card", 9, "YAML syntax"),
    ],
)
def test_bad_yaml_refused_with_line(tmp_path, old, new, line, reason):
    assert old in GOOD_YAML
    p = write(tmp_path, "bad.yaml", GOOD_YAML.replace(old, new))
    e = refused(p)
    assert e.file == str(p)
    assert reason in e.reason
    assert e.line == line, str(e)
    assert str(e).startswith(f"{p}:{line}: ")


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ('options = { "1" = "bye" }', 'options = { "1" = "gone" }', 8, "undefined node 'gone'"),
        ('type = "hangup"', 'type = "nap"', 11, "unknown type 'nap'"),
        ('prompt = "Press 1"', 'prompt = "Press 1"\nbogus = 1', 8, "unknown key 'bogus'"),
        ('start = "main"', 'start = "x"', 2, "start node 'x'"),
        ('prompt = "Press 1"', "prompt = Press 1", 7, "TOML syntax"),
    ],
)
def test_bad_toml_refused_with_line(tmp_path, old, new, line, reason):
    assert old in GOOD_TOML
    p = write(tmp_path, "bad.toml", GOOD_TOML.replace(old, new))
    e = refused(p)
    assert reason in e.reason and e.line == line, str(e)


def test_lookup_without_error_branch_refused(tmp_path):
    extra = "  look:\n    type: lookup\n    op: balance\n    next: bye\n"
    e = refused(write(tmp_path, "bad.yaml", GOOD_YAML + extra))
    assert "missing on_error" in e.reason and e.line == 18


def test_unknown_bank_op_and_suffix(tmp_path):
    p = write(
        tmp_path,
        "bad.yaml",
        GOOD_YAML + "  look:\n    type: lookup\n    op: steal\n    on_error: bye\n",
    )
    e = refused(p)
    assert "unknown bank operation 'steal'" in e.reason and e.line == 20
    e = refused(write(tmp_path, "flow.json", "{}"))
    assert ".yaml" in e.reason


def test_sample_flow_loads():
    from importlib import resources

    f = load_flow(resources.files("callcore.center") / "samples" / "bank_hotline.yaml")
    assert {"vip_line", "balance", "block_card", "activate", "collections"} <= set(f.nodes)


def test_duplicate_yaml_key_refused(tmp_path):
    text = GOOD_YAML + "  main:\n    type: hangup\n"
    e = refused(write(tmp_path, "dup.yaml", text))
    assert e.reason == "duplicate key 'main'" and e.line == 18
