"""The compiled SIP parser and its pure twin: same objects, same errors.

* every test of test_sip_message.py runs again against each implementation;
* a differential hypothesis test mutates real messages (the RFC 4475 torture
  corpus, the benchmark INVITE) and demands identical results or identical
  errors from both — and the same verdict as the reference parser in message.py.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcore import fastpath
from callcore.sip import message
from callcore.sip.errors import SipParseError
from callcore.sip.headers import Address, CSeq, Via
from callcore.sip.uri import AbsoluteURI, SipURI, TelURI

NAME = "callcore.sip._sipparse"
HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared"


def _compiled_or_skip():
    try:
        return fastpath.load(pure=False, name=NAME)
    except ImportError:
        if os.environ.get("CI") or os.environ.get("CALLCORE_REQUIRE_EXT"):
            raise
        pytest.skip("compiled SIP parser not built")


@pytest.fixture(params=["cython", "pure"])
def sipparse(request):
    """The parser module under test: compiled, then pure Python."""
    return _compiled_or_skip() if request.param == "cython" else fastpath.load(pure=True, name=NAME)


@pytest.fixture
def use_impl(sipparse, monkeypatch):
    """Route callcore.sip.message.parse_message through ``sipparse``."""
    monkeypatch.setattr(message, "_PARSE", sipparse.parse_message)
    return sipparse


def test_selection_follows_the_environment(monkeypatch):
    monkeypatch.setenv("CALLCORE_PURE", "1")
    assert fastpath.load(name=NAME).__name__.endswith("_sipparse_py")
    pure = fastpath.load(pure=True, name=NAME)
    assert pure.parse_message is not None


# -- the message-model suite, once per implementation ---------------------------------------
def _load_suite():
    spec = importlib.util.spec_from_file_location(
        "_sip_message_suite", HERE / "test_sip_message.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cases = []
    for name, fn in vars(mod).items():
        if not name.startswith("test_") or not callable(fn):
            continue
        marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
        if not marks:
            cases.append(pytest.param(fn, {}, id=name))
            continue
        argnames, values = marks[0].args[:2]
        argnames = (
            [a.strip() for a in argnames]
            if not isinstance(argnames, str)
            else [a.strip() for a in argnames.split(",")]
        )
        for i, vals in enumerate(values):
            vals = vals if len(argnames) > 1 else (vals,)
            cases.append(
                pytest.param(fn, dict(zip(argnames, vals, strict=True)), id=f"{name}[{i}]")
            )
    return cases


@pytest.mark.parametrize(("case", "kwargs"), _load_suite())
def test_message_suite_on_each_implementation(use_impl, case, kwargs, shared_dir):
    if "shared_dir" in case.__code__.co_varnames[: case.__code__.co_argcount]:
        kwargs = {**kwargs, "shared_dir": shared_dir}
    case(**kwargs)


# -- differential ---------------------------------------------------------------------------
def _obj(o):
    """A comparable picture of a parsed value, down to every field."""
    if isinstance(o, (SipURI, Address, Via, CSeq, TelURI, AbsoluteURI)):
        return (type(o).__name__, tuple((s, _obj(getattr(o, s))) for s in type(o).__slots__))
    if isinstance(o, (list, tuple)):
        return (type(o).__name__, tuple(_obj(x) for x in o))
    return (type(o).__name__, o)


def _outcome(parse, data: bytes, stream: bool = False):
    try:
        m = (
            parse(data, stream=stream)
            if parse is message.parse_message_reference
            else parse(data, stream, 65535)
        )
    except SipParseError as e:
        h = getattr(e, "headers", None)
        return (
            "error",
            e.status,
            e.reason,
            e.extra_headers,
            e.is_request,
            None if h is None else list(h._items),
            None if h is None else sorted((k, _obj(v)) for k, v in h._cache.items()),
            None if h is None else h._wire,
        )
    head = (
        ("request", m.method, _obj(m.uri))
        if isinstance(m, message.Request)
        else ("response", m.status, m.reason)
    )
    return (
        head,
        m.body,
        list(m.headers._items),
        sorted((k, _obj(v)) for k, v in m.headers._cache.items()),
        m.serialize(),
        m.headers._wire,  # what serialize() hands back while nothing changes
    )


def _verdict(outcome):
    """What the reference parser must agree on: the error, or the items and bytes."""
    if outcome[0] == "error":
        return outcome[:6]
    return outcome[0], outcome[1], outcome[2], outcome[4]


def _seeds() -> list[bytes]:
    out = [
        message.Request("INVITE", "sip:x@y").serialize(),  # incomplete on purpose
    ]
    text = (HERE / "data" / "invite.sip.txt").read_bytes().replace(b"\r\n", b"\n")
    head, _, body = text.replace(b"\n", b"\r\n").partition(b"\r\n\r\n")
    head = b"\r\n".join(
        b"Content-Length: %d" % len(body) if line.startswith(b"Content-Length") else line
        for line in head.split(b"\r\n")
    )
    out.append(head + b"\r\n\r\n" + body)
    rest = out[-1].split(b"\r\n", 1)[1]
    out += [b"SIP/2.0 180 Ringing\r\n" + rest, b"SIP/2.0 486 Busy Here\r\n" + rest]
    torture = SHARED / "sip-torture"
    if torture.is_dir():
        out += [p.read_bytes() for p in sorted(torture.glob("*.dat"))]
    return out


SEEDS = _seeds()
ALPHABET = b" \t\r\n:;,<>\"'@=?&%[]/\\.-_+*~!0123456789aAzZsSiIpP\x00\x7f\xc3\xa9\xff"
junk = st.binary(min_size=0, max_size=4) | st.lists(
    st.sampled_from(list(ALPHABET)), min_size=1, max_size=4
).map(bytes)


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(data)))
        cut = draw(st.integers(0, 3))
        data[pos : pos + cut] = draw(junk)
    return bytes(data)


@pytest.fixture(scope="module")
def both():
    return _compiled_or_skip(), fastpath.load(pure=True, name=NAME)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(), stream=st.booleans())
def test_twins_agree_on_mutated_messages(both, data, stream):
    fast, pure = both
    a = _outcome(fast.parse_message, data, stream)
    b = _outcome(pure.parse_message, data, stream)
    assert a == b
    ref = message.parse_message_reference
    assert _verdict(_outcome(lambda d, s, _m: ref(d, stream=s), data, stream)) == _verdict(b)


def test_twins_agree_on_every_seed_and_every_line_dropped(both):
    fast, pure = both
    for seed in SEEDS:
        lines = seed.split(b"\r\n")
        variants = [seed] + [
            b"\r\n".join(lines[:i] + lines[i + 1 :]) for i in range(min(len(lines), 30))
        ]
        for data, stream in itertools.product(variants, (False, True)):
            assert _outcome(fast.parse_message, data, stream) == _outcome(
                pure.parse_message, data, stream
            ), data[:80]


def test_typed_views_come_back_cached(sipparse):
    data = SEEDS[1]
    msg = sipparse.parse_message(data, False, 65535)
    cache = msg.headers._cache
    assert set(cache) == {"cseq", "contact", "via", "from", "to"}
    assert msg.vias is cache["via"] and msg.from_ is cache["from"] and msg.cseq is cache["cseq"]
    assert msg.from_.display_name == "Alice Caller" and msg.from_.tag == "8a5c3f21"
    assert msg.via.branch.startswith("z9hG4bK") and msg.via.rport == ""
    assert msg.serialize() == data


def test_bytearray_input_is_accepted_like_bytes(sipparse):
    assert (
        _outcome(sipparse.parse_message, bytearray(SEEDS[1]))[2]
        == _outcome(sipparse.parse_message, SEEDS[1])[2]
    )


# -- the value scanners one by one ------------------------------------------------------------
FRAGMENTS = [
    "sip:", "sips:", "SIP:", "sIpS:", "tel:", "mailto:", "alice", "@", "example.com",
    "127.0.0.1", "[2001:db8::1]", "[::1", ":", "5060", "65536", "123456", ";", "transport=udp",
    "lr", "=", "?", "&", "h=v", "%41", "%4", "%zz", " ", "\t", "<", ">", '"', '\\"', "\\",
    "Alice Bob", ",", "-", ".", "_", "SIP/2.0/UDP ", "SIP / 2.0 / TCP ", "sip/2.0/tls ",
    "SIP/2.1/UDP ", "SIP/02.0/UDP ", "branch=z9hG4bK-1", "rport", "tag=x", "1 INVITE",
    "4294967296", "2147483648", "12345678901", "é", "\x00", "\x1c", "[", "]", "/", "host-",
    "-host", ".h", "u:p", "'", "(", "*", "~", "!", "+", "$",
]  # fmt: skip
values = st.lists(st.sampled_from(FRAGMENTS), min_size=0, max_size=10).map("".join) | st.text(
    alphabet=st.sampled_from(sorted(set("".join(FRAGMENTS)))), max_size=30
)


def _scan(fn, *args):
    try:
        return ("ok", _obj(fn(*args)))
    except SipParseError as e:
        return ("error", e.status, e.reason, e.extra_headers)


def _pick(*options):
    return st.sampled_from(options)


def _many(*options):
    return st.lists(st.sampled_from(options), max_size=3).map("".join)


ws = _pick("", "", " ", "\t ", "  ")
uris = st.tuples(
    _pick("sip:", "sips:", "SIP:", "sIpS:", "tel:", "x-y:", "", "sip"),
    _pick("", "", "alice@", "a%41@", "u:p@", "u:p:q@", "@", "a b@", "a;b?c@", "%4@", "\u00e9@"),
    _pick(
        "example.com",
        "h",
        "host-",
        "-host",
        ".h",
        "h.",
        "h-1",
        "1.2.3.4",
        "[::1]",
        "[::1",
        "[]",
        "",
        "h_1",
        "\u00e9",
        "a.b-",
    ),
    _pick("", "", ":5060", ":65535", ":65536", ":123456", ":000080", ":", ":0", ":5a"),
    _many(";lr", ";transport=udp", ";a=", ";=b", ";", ";a=b=c", ";%41=%4", ";x=[::1]", ";a=b"),
    _pick("", "", "?a=b", "?a=b&c", "?", "?a&", "?=b", "?a==b", "?a?b=c&d="),
).map("".join)
params = st.lists(
    st.tuples(
        ws,
        _pick(";", ";", ","),
        ws,
        _pick("tag", "branch", "x", "", "a b", "rport"),
        ws,
        _pick("", "=", "= "),
        _pick("", "v", '"q\\"x"', '"open', "[::1]", "[::1", "a=b", "z9hG4bK", "\u00e9"),
    ).map("".join),
    max_size=3,
).map("".join)
vias = st.tuples(
    _pick("SIP", "sip", "SIP ", "SIX", ""),
    ws,
    _pick("/", "/", ""),
    ws,
    _pick("2.0", "2.0", "2.1", "02.0", "2.", "2.00"),
    ws,
    _pick("/", "/", "//"),
    ws,
    _pick("UDP", "tcp", "tls-x", "", "U/DP"),
    _pick(" ", "\t", "", "  "),
    _pick("h.example", "[2001:db8::1]", "[::1", "-h", "h:1", "\u00e9"),
    _pick("", "", ":5060", " : 5060", ":123456", ":99999", ":", ": x"),
    params,
    ws,
).map("".join)
addresses = st.tuples(
    ws,
    _pick("", "", '"Alice"', '"A \\"B\\""', '"open', "Alice Bob", "A,B", "\u00e9"),
    ws,
    _pick("<", "<", "", "< "),
    uris,
    _pick(">", ">", "", " >"),
    params,
    ws,
).map("".join)
cseqs = st.tuples(
    ws,
    _pick("1", "0", "4294967295", "4294967296", "12345678901", "", "0x1", "\u0661"),
    _pick(" ", "", "\t", "  "),
    _pick("INVITE", "REG ISTER", "", "a.b!", "\u00e9"),
    ws,
).map("".join)


def _scan_both(both, name, *args):
    fast, pure = both
    assert _scan(getattr(fast, name), *args) == _scan(getattr(pure, name), *args), args


@settings(max_examples=1500, deadline=None)
@given(uri=uris, via=vias, addr=addresses, cseq=cseqs, param=params, text=values)
def test_scanners_agree_with_the_reference_parsers(both, uri, via, addr, cseq, param, text):
    for value in (uri, text):
        _scan_both(both, "scan_uri", value)
    for value in (via, text):
        _scan_both(both, "scan_via", value)
    for value in (addr, uri, text):
        _scan_both(both, "scan_address", value, "To")
    for value in (cseq, text):
        _scan_both(both, "scan_cseq", value)
    for value in (param, text):
        _scan_both(both, "scan_params", value, "Via")


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice:secret@example.com:5060;transport=tcp;lr?subject=hi&x",
        "sips:[2001:db8::1]:5061;maddr=10.0.0.1",
        "sip:%61lice@h;a=;b",
    ],
)
def test_scanners_build_real_objects(sipparse, text):
    uri = sipparse.scan_uri(text)
    assert isinstance(uri, SipURI) and str(uri) == text
    via = sipparse.scan_via("SIP / 2.0 / udp h.example:5070 ; branch = z9hG4bK-1 ; rport")
    assert (via.transport, via.host, via.port, via.branch, via.rport) == (
        "UDP",
        "h.example",
        5070,
        "z9hG4bK-1",
        "",
    )
    addr = sipparse.scan_address(f'"Bob \\"B\\"" <{text}> ;tag=9', "From")
    assert addr.uri == uri and addr.tag == "9" and addr.display_name == 'Bob "B"'
    cseq = sipparse.scan_cseq("4294967295 REGISTER")
    assert (cseq.number, cseq.method) == (4294967295, "REGISTER")
