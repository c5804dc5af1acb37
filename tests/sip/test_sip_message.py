"""SIP message model: parsing, validation, byte-exact serialization, framing."""

from __future__ import annotations

import csv

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcore.sip.errors import SipParseError
from callcore.sip.headers import Address, Via, split_commas
from callcore.sip.message import (
    Headers,
    Request,
    Response,
    StreamFramer,
    error_response,
    make_response,
    parse_message,
)
from callcore.sip.uri import AbsoluteURI, SipURI, TelURI, parse_uri

INVITE = (
    b"INVITE sip:1001@127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n"
    b"v: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK-2, SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bK-3\r\n"
    b"Max-Forwards: 70\r\n"
    b'f: "Alice \\"A\\"" <sip:alice@example.com>;tag=ab\r\n'
    b"t: sip:1001@127.0.0.1\r\n"
    b"i: call-1@host\r\n"
    b"CSeq: 7 INVITE\r\n"
    b"Contact: <sip:alice@127.0.0.1:5070;transport=udp>;expires=60\r\n"
    b"Subject: folded\r\n  value\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n\r\nv=0\n"
)


def test_parse_fields_and_compact_forms():
    m = parse_message(INVITE)
    assert isinstance(m, Request) and m.method == "INVITE"
    assert isinstance(m.uri, SipURI) and m.uri.user == "1001" and m.uri.port == 5060
    assert [v.branch for v in m.vias] == ["z9hG4bK-1", "z9hG4bK-2", "z9hG4bK-3"]
    assert m.vias[2].host == "[2001:db8::1]" and m.vias[2].port == 5062
    assert m.via.rport == "" and m.via.transport == "UDP"
    assert m.from_.display_name == 'Alice "A"' and m.from_.tag == "ab"
    assert m.to.tag is None and str(m.to.uri) == "sip:1001@127.0.0.1"
    assert m.call_id == "call-1@host" and (m.cseq.number, m.cseq.method) == (7, "INVITE")
    assert m.headers.get("subject") == "folded value"
    assert m.content_type == "application/sdp" and m.body == b"v=0\n"
    assert m.contacts[0].param("expires") == "60"
    assert m.max_forwards == 70


def test_unchanged_message_serializes_byte_exactly():
    assert parse_message(INVITE).serialize() == INVITE


def test_changed_header_is_rewritten_canonically_others_untouched():
    m = parse_message(INVITE)
    m.headers.set("max-forwards", "69")
    out = m.serialize()
    assert (
        b"Max-Forwards: 69\r\n" in out
        and b'f: "Alice' in out
        and b"Subject: folded\r\n  value" in out
    )


# Every way of changing a parsed message must show in its bytes: serialize() may only
# hand back the octets it parsed while the start line and the header lines are as
# parsed. The reference parser's message, changed the same way, says what to expect.
RESPONSE = b"SIP/2.0 180 Ringing\r\n" + INVITE.split(b"\r\n", 1)[1]
CHANGES = {
    "add": lambda m: m.headers.add("X-New", "1"),
    "prepend": lambda m: m.headers.prepend("Via", "SIP/2.0/UDP h;branch=z9hG4bK-0"),
    "set": lambda m: m.headers.set("Subject", "folded value"),
    "set-same-value": lambda m: m.headers.set("Max-Forwards", "70"),
    "remove": lambda m: m.headers.remove("subject"),
    "remove-absent": lambda m: m.headers.remove("x-absent"),
    "remove_first": lambda m: m.headers.remove_first("via"),
    "set_body": lambda m: m.set_body(b"v=1\r\n", "application/sdp"),
    "set_body-empty": lambda m: m.set_body(b""),
    "body": lambda m: setattr(m, "body", b"new"),
    "headers-replaced": lambda m: setattr(m, "headers", Headers([("Call-ID", "x")])),
    "headers-copied": lambda m: setattr(m, "headers", m.headers.copy()),
    "copy-then-changed": lambda m: (
        setattr(m, "headers", m.headers.copy()),
        m.headers.add("X-New", "1"),
    ),
}
REQUEST_CHANGES = {
    "method": lambda m: setattr(m, "method", "OPTIONS"),
    "uri": lambda m: setattr(m, "uri", parse_uri("sip:other@example.com")),
    "uri-same-text": lambda m: setattr(m, "uri", parse_uri("sip:1001@127.0.0.1:5060")),
    "uri-edited": lambda m: (setattr(m.uri, "port", 5080), setattr(m.uri, "_raw", None)),
}
RESPONSE_CHANGES = {
    "status": lambda m: setattr(m, "status", 183),
    "reason": lambda m: setattr(m, "reason", "Ringing Loudly"),
}


@pytest.mark.parametrize(
    "data,change",
    [(INVITE, c) for c in [*CHANGES, *REQUEST_CHANGES]]
    + [(RESPONSE, c) for c in [*CHANGES, *RESPONSE_CHANGES]],
)
def test_every_change_shows_in_the_serialized_bytes(data, change):
    from callcore.sip.message import parse_message_reference

    changes = {**CHANGES, **REQUEST_CHANGES, **RESPONSE_CHANGES}
    m, expected = parse_message(data), parse_message_reference(data)
    assert m.serialize() == expected.serialize() == data
    changes[change](m)
    changes[change](expected)
    assert m.serialize() == expected.serialize()
    if change not in ("remove-absent", "headers-copied", "uri-same-text", "set-same-value"):
        assert m.serialize() != data


def test_headers_moved_to_another_message_keep_only_their_lines():
    m = parse_message(INVITE)
    other = Request("BYE", "sip:1001@127.0.0.1:5060", m.headers, m.body)
    assert other.serialize() == b"BYE" + INVITE[len(b"INVITE") :]
    same = Request("INVITE", "sip:1001@127.0.0.1:5060", m.headers, m.body)
    assert same.serialize() == INVITE


def test_headers_case_insensitive_multi_valued():
    h = Headers([("Route", "<sip:a;lr>, <sip:b;lr>"), ("route", "<sip:c;lr>")])
    assert h.values("ROUTE") == ["<sip:a;lr>", "<sip:b;lr>", "<sip:c;lr>"]
    h.remove_first("Route")
    assert h.values("route") == ["<sip:b;lr>", "<sip:c;lr>"]
    with pytest.raises(ValueError):
        h.add("X-Evil", "a\r\nInjected: 1")


def test_split_commas_respects_quotes_and_brackets():
    assert split_commas('"a,b" <sip:x,y@h>;p=1, <sip:z@h>') == [
        '"a,b" <sip:x,y@h>;p=1',
        "<sip:z@h>",
    ]
    with pytest.raises(SipParseError):
        split_commas("a,,b")


@pytest.mark.parametrize(
    ("text", "kind", "user", "host", "port"),
    [
        ("sip:alice@example.com", SipURI, "alice", "example.com", None),
        ("sips:bob:pw@[::1]:5061;transport=tls", SipURI, "bob", "[::1]", 5061),
        ("sip:%61lice@h;lr", SipURI, "%61lice", "h", None),
        ("tel:+8613800138000;phone-context=+86", TelURI, "+8613800138000", None, None),
        ("http://example.com/x", AbsoluteURI, None, None, None),
    ],
)
def test_uri_parse_and_round_trip(text, kind, user, host, port):
    uri = parse_uri(text)
    assert isinstance(uri, kind) and str(uri) == text
    if kind is SipURI:
        assert (uri.user, uri.host, uri.port) == (user, host, port)
    if kind is TelURI:
        assert uri.number == user


def test_uri_helpers():
    uri = parse_uri("sip:%61lice@Example.COM:5070;transport=TCP;lr")
    assert uri.user_unescaped == "alice" and uri.aor == "sip:alice@example.com"
    assert uri.transport == "tcp" and uri.lr
    assert (
        str(uri.with_param("transport", "udp")) == "sip:%61lice@Example.COM:5070;lr;transport=udp"
    )
    assert uri.same_target(parse_uri("sip:alice@example.com:5070;transport=tcp"))
    assert not uri.same_target(parse_uri("sip:alice@example.com:5071;transport=tcp"))


@pytest.mark.parametrize(
    "bad", ["sip:a b@c", "sip:@", "sip:h:99999", "sip:h;=x", "nocolon", "sip:h?x y"]
)
def test_bad_uris_rejected(bad):
    with pytest.raises(SipParseError):
        parse_uri(bad)


def test_address_forms():
    a = Address.parse("Bob <sip:bob@h>;tag=1")
    assert a.display_name == "Bob" and a.tag == "1"
    # addr-spec: ';x' is a header parameter, not a URI parameter
    b = Address.parse("sip:bob@h;x=1")
    assert b.param("x") == "1" and b.uri.params == ()
    with pytest.raises(SipParseError):
        Address.parse('"unterminated <sip:bob@h>')
    with pytest.raises(SipParseError):
        Address.parse("sip:bob@h?Route=x")


def test_via_parse():
    v = Via.parse("SIP / 2.0 / UDP  host.example.com : 5070 ; branch = z9hG4bKx ; received=1.2.3.4")
    assert (v.transport, v.host, v.port, v.branch, v.received) == (
        "UDP",
        "host.example.com",
        5070,
        "z9hG4bKx",
        "1.2.3.4",
    )
    assert str(v.with_params(rport="5070")).endswith(";rport=5070")


def _mutate(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "status", "reason_part"),
    [
        (b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia", 505, "Version"),
        (b"INVITE sip:1001", b"INVITE  sip:1001", 400, "Request-Line"),
        (b"CSeq: 7 INVITE", b"CSeq: 7 BYE", 400, "CSeq"),
        (b"CSeq: 7 INVITE", b"CSeq: 4294967296 INVITE", 400, "CSeq"),
        (b"Max-Forwards: 70", b"Max-Forwards: 256", 400, "Max-Forwards"),
        (b"i: call-1@host\r\n", b"", 400, "Call-ID"),
        (b"i: call-1@host\r\n", b"i: call-1@host\r\ni: call-2@host\r\n", 400, "Duplicate"),
        (b"l: 4", b"l: 40", 400, "Content-Length"),
        (b"l: 4", b"l: -4", 400, "Content-Length"),
        (b"sip:1001@127.0.0.1:5060", b"mailto:x@y", 416, "Scheme"),
        (b"branch=z9hG4bK-1;", b"branch=z9hG4bK;", 400, "branch"),
        (b"t: sip:1001@127.0.0.1", b"t: <sip:1001@127.0.0.1", 400, "To"),
    ],
)
def test_malformed_requests_get_the_right_status(old, new, status, reason_part):
    with pytest.raises(SipParseError) as exc:
        parse_message(_mutate(INVITE, old, new))
    assert exc.value.status == status and reason_part.lower() in exc.value.reason.lower()
    resp = error_response(exc.value)
    if "Call-ID" not in reason_part or status != 400:
        assert resp is not None and resp.status == status


def test_oversized_message_gets_513():
    with pytest.raises(SipParseError) as exc:
        parse_message(INVITE, max_size=100)
    assert exc.value.status == 513


def test_response_parse_and_unparseable_response_is_not_answered():
    resp = parse_message(b"SIP/2.0 180 Ringing\r\n" + INVITE.split(b"\r\n", 1)[1])
    assert isinstance(resp, Response) and resp.status == 180 and resp.method == "INVITE"
    with pytest.raises(SipParseError) as exc:
        parse_message(b"SIP/2.0 1800 Huh\r\n" + INVITE.split(b"\r\n", 1)[1])
    assert error_response(exc.value) is None


def test_make_response_copies_and_tags():
    req = parse_message(INVITE)
    resp = make_response(req, 200, to_tag="xyz", extra=[("Contact", "<sip:me@h>")])
    assert resp.to.tag == "xyz" and resp.call_id == req.call_id and len(resp.vias) == 3
    again = parse_message(resp.serialize())
    assert again.status == 200 and again.headers.get("content-length") == "0"


def test_stream_framer_cuts_messages_and_counts_pings():
    f = StreamFramer()
    stream = b"\r\n\r\n" + INVITE + INVITE
    out = []
    for i in range(0, len(stream), 7):
        out += f.feed(stream[i : i + 7])
    assert out == [INVITE, INVITE] and f.pings == 1 and f.pending == 0
    assert parse_message(out[0], stream=True).body == b"v=0\n"


def test_stream_framer_waits_for_body_then_rejects_oversize():
    f = StreamFramer()
    big = INVITE.replace(b"l: 4", b"l: 9999")
    assert f.feed(big) == [] and f.pending == len(big)  # waits (RFC 4475 clerr over TCP)
    with pytest.raises(SipParseError) as exc:
        StreamFramer(max_size=2000).feed(big)  # would never fit: refused at once
    assert exc.value.status == 513
    with pytest.raises(SipParseError) as exc:
        StreamFramer(max_size=300).feed(INVITE)
    assert exc.value.status == 513


def _manifest(shared_dir):
    with open(shared_dir / "sip-torture" / "MANIFEST.tsv", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


# What the parser itself must do with each RFC 4475 message; the UAS-level
# answers (501, 415, 420 …) are checked against a running server in
# tests/switch/test_torture_server.py.
PARSER_REJECTS = {
    "badinv01": 400, "clerr": 400, "ncl": 400, "scalar02": 400, "scalarlg": 400,
    "quotbal": 400, "ltgtruri": 400, "lwsruri": 400, "lwsstart": 400, "trws": 400,
    "escruri": 400, "regbadct": 400, "baddn": 400, "badvers": 505, "mismatch01": 400,
    "mismatch02": 400, "bigcode": 400, "badbranch": 400, "insuf": 400, "unkscm": 416,
    "novelsc": 416, "multi01": 400, "mcl01": 400,
}  # fmt: skip


def test_torture_corpus_parser_verdicts(shared_dir):
    for row in _manifest(shared_dir):
        name = row["name"]
        data = (shared_dir / "sip-torture" / f"{name}.dat").read_bytes()
        if name in PARSER_REJECTS:
            with pytest.raises(SipParseError) as exc:
                parse_message(data)
            assert exc.value.status == PARSER_REJECTS[name], name
        else:
            msg = parse_message(data)
            if name != "dblreq":  # its trailing junk octets are dropped
                assert msg.serialize() == data, name


@given(st.binary(max_size=600))
def test_parser_never_crashes_on_garbage(data):
    try:
        parse_message(data)
    except SipParseError:
        pass


@given(st.integers(0, len(INVITE)), st.binary(min_size=1, max_size=3))
def test_parser_never_crashes_on_corrupted_invite(pos, junk):
    try:
        m = parse_message(INVITE[:pos] + junk + INVITE[pos + len(junk) :])
        m.serialize()
    except SipParseError:
        pass
