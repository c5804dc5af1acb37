"""Registrar bindings (RFC 3261 §10.3) and account loading."""

from __future__ import annotations

import sys

import pytest

from callcore.switch.location import (
    Account,
    AccountBook,
    AccountError,
    ContactSpec,
    LocationService,
    RegistrarError,
    default_contact_key,
)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


AOR = "sip:alice@example.org"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def events():
    return []


@pytest.fixture
def loc(clock, events):
    return LocationService(
        clock, min_expires=60, max_expires=3600, default_expires=600, max_contacts=3,
        on_event=events.append,
    )  # fmt: skip


def test_register_and_list_with_source_metadata(loc, events):
    r = loc.register(
        AOR, [ContactSpec("<sip:alice@192.0.2.5:5062;transport=tcp>", expires=120)], "c1", 1,
        source_host="203.0.113.9", source_port=40000, transport="TCP", user_agent="baresip",
    )  # fmt: skip
    [c] = r.contacts
    assert c.uri == "<sip:alice@192.0.2.5:5062;transport=tcp>" and c.expires == 120
    assert (c.source_host, c.source_port, c.transport) == ("203.0.113.9", 40000, "TCP")
    assert c.user_agent == "baresip" and c.q == 1.0
    assert [e.kind for e in events] == ["registered"]
    assert [e.kind for e in r.events] == ["registered"]


def test_expires_header_default_and_clamping(loc):
    loc.register(AOR, [ContactSpec("sip:a@h1")], "c", 1)  # default 600
    loc.register(AOR, [ContactSpec("sip:a@h2")], "c", 2, expires=300)  # header
    loc.register(AOR, [ContactSpec("sip:a@h3", expires=99999)], "c", 3, expires=300)
    got = {c.uri: c.expires for c in loc.contacts(AOR)}
    assert got == {"sip:a@h1": 600, "sip:a@h2": 300, "sip:a@h3": 3600}


def test_interval_too_brief_is_423_with_min_expires_and_atomic(loc):
    with pytest.raises(RegistrarError) as ei:
        loc.register(AOR, [ContactSpec("sip:a@ok", expires=120), ContactSpec("sip:a@x", 30)],
                     "c", 1)  # fmt: skip
    assert ei.value.status == 423 and ei.value.min_expires == 60
    assert loc.contacts(AOR) == []


def test_refresh_same_call_id_higher_cseq(loc, clock, events):
    loc.register(AOR, [ContactSpec("sip:a@h", expires=120, q=0.5)], "c", 1)
    clock.t += 100
    r = loc.register(AOR, [ContactSpec("<SIP:a@H>", expires=300)], "c", 2)  # scheme/host case
    [c] = r.contacts
    assert c.expires == 300 and c.cseq == 2 and c.q == 0.5
    assert [e.kind for e in events] == ["registered", "refreshed"]


@pytest.mark.parametrize("cseq", [1, 5])
def test_out_of_order_same_call_id_is_500(loc, cseq):
    loc.register(AOR, [ContactSpec("sip:a@h", expires=120)], "c", 5)
    with pytest.raises(RegistrarError) as ei:
        loc.register(AOR, [ContactSpec("sip:a@h", expires=300)], "c", cseq)
    assert ei.value.status == 500
    assert loc.contacts(AOR)[0].expires == 120


def test_other_call_id_replaces_binding(loc):
    loc.register(AOR, [ContactSpec("sip:a@h", expires=120)], "c", 5)
    loc.register(AOR, [ContactSpec("sip:a@h", expires=300)], "other", 1)
    [c] = loc.contacts(AOR)
    assert (c.call_id, c.cseq, c.expires) == ("other", 1, 300)


def test_remove_one_contact(loc, events):
    loc.register(AOR, [ContactSpec("sip:a@h1"), ContactSpec("sip:a@h2")], "c", 1)
    r = loc.unregister(AOR, "sip:a@h1", "c", 2)
    assert [c.uri for c in r.contacts] == ["sip:a@h2"]
    assert events[-1].kind == "unregistered" and events[-1].contact.uri == "sip:a@h1"


def test_remove_all_with_star(loc, events):
    loc.register(AOR, [ContactSpec("sip:a@h1"), ContactSpec("sip:a@h2")], "c", 1)
    with pytest.raises(RegistrarError) as ei:
        loc.register(AOR, "*", "c", 2, expires=3600)
    assert ei.value.status == 400
    with pytest.raises(RegistrarError) as ei:
        loc.register(AOR, "*", "c", 1, expires=0)  # same Call-ID, CSeq not higher
    assert ei.value.status == 500
    r = loc.register(AOR, "*", "c", 2, expires=0)
    assert r.contacts == () and loc.aors() == []
    assert [e.kind for e in events[-2:]] == ["unregistered", "unregistered"]


def test_ordering_by_q_then_recency(loc, clock):
    loc.register(AOR, [ContactSpec("sip:a@low", q=0.1)], "c1", 1)
    clock.t += 1
    loc.register(AOR, [ContactSpec("sip:a@old", q=0.9)], "c2", 1)
    clock.t += 1
    loc.register(AOR, [ContactSpec("sip:a@new", q=0.9)], "c3", 1)
    assert [c.uri for c in loc.contacts(AOR)] == ["sip:a@new", "sip:a@old", "sip:a@low"]


def test_expiry_remaining_and_purge_events(loc, clock, events):
    loc.register(AOR, [ContactSpec("sip:a@h1", expires=60)], "c", 1)
    assert loc.next_expiry() == clock.t + 60
    clock.t += 0.5
    loc.register(AOR, [ContactSpec("sip:a@h2", expires=120)], "c", 2)
    clock.t += 59.0
    assert [c.expires for c in loc.contacts(AOR)] == [61, 1]  # most recent first
    clock.t += 0.5
    assert [c.uri for c in loc.contacts(AOR)] == ["sip:a@h2"]  # expired hidden already
    assert len(loc) == 2
    expired = loc.purge_expired()
    assert [(e.kind, e.contact.uri) for e in expired] == [("expired", "sip:a@h1")]
    assert events[-1].kind == "expired" and len(loc) == 1
    clock.t += 60.5
    loc.purge_expired()
    assert loc.aors() == [] and loc.next_expiry() is None


def test_contact_limit_is_503_but_refresh_allowed(loc):
    loc.register(AOR, [ContactSpec(f"sip:a@h{i}") for i in range(3)], "c", 1)
    with pytest.raises(RegistrarError) as ei:
        loc.register(AOR, [ContactSpec("sip:a@h9")], "c", 2)
    assert ei.value.status == 503
    loc.register(AOR, [ContactSpec("sip:a@h0", expires=0), ContactSpec("sip:a@h9")], "c", 3)
    assert sorted(c.uri for c in loc.contacts(AOR)) == ["sip:a@h1", "sip:a@h2", "sip:a@h9"]
    loc.register(AOR, [ContactSpec("sip:a@h1", expires=900)], "c", 4)


def test_outbound_instance_and_reg_id_key(loc):
    inst = "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"
    loc.register(AOR, [ContactSpec("sip:a@10.0.0.1:5060", instance_id=inst, reg_id=1)], "c1", 1)
    # same instance/reg-id from a new address (NAT rebinding) replaces the flow
    loc.register(AOR, [ContactSpec("sip:a@10.0.0.2:5060", instance_id=inst, reg_id=1)], "c2", 1)
    loc.register(AOR, [ContactSpec("sip:a@10.0.0.3:5060", instance_id=inst, reg_id=2)], "c2", 2)
    got = sorted((c.uri, c.reg_id) for c in loc.contacts(AOR))
    assert got == [("sip:a@10.0.0.2:5060", 1), ("sip:a@10.0.0.3:5060", 2)]


def test_query_and_bad_values(loc):
    assert loc.register(AOR, [], "c", 1).contacts == ()
    with pytest.raises(RegistrarError):
        loc.register(AOR, [ContactSpec("sip:a@h", q=1.5)], "c", 2)
    with pytest.raises(RegistrarError):
        loc.register(AOR, [ContactSpec("sip:a@h", expires=-1)], "c", 3)


def test_subscribe_and_unsubscribe(loc):
    seen = []
    off = loc.subscribe(seen.append)
    loc.register(AOR, [ContactSpec("sip:a@h")], "c", 1)
    off()
    loc.register(AOR, [ContactSpec("sip:a@h")], "c", 2)
    assert [e.kind for e in seen] == ["registered"]


def test_default_contact_key():
    assert default_contact_key("<SIP:Alice@Example.ORG:5060;Transport=TCP>") == (
        "sip:Alice@example.org:5060;Transport=TCP"
    )
    assert default_contact_key("sip:example.org") == "sip:example.org"


def test_binding_memory_is_small(loc, clock):
    # __slots__: no per-instance __dict__
    loc.register(AOR, [ContactSpec("sip:a@h")], "c", 1)
    from callcore.switch.location import Binding

    assert not hasattr(Binding, "__dict__") or "__dict__" not in Binding.__slots__
    b = Binding("k", "sip:a@h", 1.0, 1.0, "c", 1, None, None, None, None, None, None, 0.0)
    with pytest.raises(AttributeError):
        b.extra = 1  # type: ignore[attr-defined]
    assert sys.getsizeof(b) < 200


# -- accounts ---------------------------------------------------------------

TOML = """
# agents
[[accounts]]
extension = "1001"
username = "alice"
password = "s3cret"
display_name = "Alice A."

[[accounts]]
extension = "1002"
username = "bob"
password = "pw"
"""


def test_accounts_from_toml_and_file(tmp_path):
    book = AccountBook.from_toml(TOML)
    assert len(book) == 2 and "alice" in book
    assert book.get("alice") == Account("1001", "alice", "s3cret", "Alice A.")
    assert book.by_extension("1002").username == "bob"
    assert book.password("bob") == "pw" and book.password("x") is None
    f = tmp_path / "accounts.toml"
    f.write_text(TOML)
    assert [a.username for a in AccountBook.load(f)] == ["alice", "bob"]


def test_accounts_from_yaml(tmp_path):
    text = "accounts:\n  - extension: 1001\n    username: alice\n    password: x\n"
    f = tmp_path / "a.yaml"
    f.write_text(text)
    assert AccountBook.load(f).by_extension("1001").username == "alice"
    top = AccountBook.from_yaml("- {extension: '7', username: u, password: p}\n")
    assert top.get("u").extension == "7"


def test_accounts_from_strings():
    book = AccountBook.from_strings(["1001:alice:pa:ss", "1002:bob:x"])
    assert book.password("alice") == "pa:ss"
    with pytest.raises(AccountError) as ei:
        AccountBook.from_strings(["1001:alice:x", "oops"])
    assert ei.value.line == 2
    with pytest.raises(AccountError):
        AccountBook.from_strings(["1001::x"])


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (TOML.replace('password = "pw"\n', ""), 9, "missing 'password'"),
        (TOML.replace('username = "bob"', 'username = "alice"'), 9, "duplicate username"),
        (TOML.replace('extension = "1002"', 'extension = "1001"'), 9, "duplicate extension"),
        (TOML.replace('display_name = "Alice A."', "colour = 1"), 3, "unknown field"),
        (TOML.replace('password = "pw"', "password = [1]"), 9, "must be a string"),
        (TOML.replace('username = "bob"', 'username = "bob'), 11, ""),
    ],
)
def test_bad_toml_reports_line(text, line, fragment):
    with pytest.raises(AccountError) as ei:
        AccountBook.from_toml(text, "accounts.toml")
    assert ei.value.line == line
    assert fragment in ei.value.reason
    assert str(ei.value).startswith(f"accounts.toml:{line}:")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("accounts:\n  - extension: '1'\n    username: a\n    password: p\n"
         "  - extension: '2'\n    username: a\n    password: q\n", 5),
        ("accounts:\n  - extension: '1'\n    username: a\n", 2),
        ("accounts:\n  - extension: '1'\n   username: [\n", 3),
    ],
)  # fmt: skip
def test_bad_yaml_reports_line(text, line):
    with pytest.raises(AccountError) as ei:
        AccountBook.from_yaml(text, "a.yaml")
    assert ei.value.line == line


def test_unknown_extension(tmp_path):
    f = tmp_path / "a.ini"
    f.write_text("")
    with pytest.raises(AccountError):
        AccountBook.load(f)
