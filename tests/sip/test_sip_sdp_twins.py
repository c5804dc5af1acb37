"""The compiled SDP scanner and its pure twin: same objects, same errors.

``SessionDescription.parse`` runs ``_sipparse.scan_sdp`` (or ``_sipparse_py.scan_sdp``);
both must return exactly what ``SessionDescription.parse_reference`` returns — every
field, every type — or raise the same :class:`SdpError` (line and reason).

* every test of test_sip_sdp.py runs again against each implementation;
* a differential hypothesis test mutates real bodies (the benchmark INVITE's, the
  offers of test_sip_sdp.py, the RFC 4475 corpus's) and demands identical outcomes
  from the compiled scanner, the twin and the reference;
* hand-picked edge cases sit on every fast-path/fallback border.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcore import fastpath
from callcore.sip import sdp
from callcore.sip.message import parse_message
from callcore.sip.sdp import SdpError, SessionDescription

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
def scanner(request):
    """The module under test: compiled, then pure Python."""
    return _compiled_or_skip() if request.param == "cython" else fastpath.load(pure=True, name=NAME)


@pytest.fixture(scope="module")
def both():
    return _compiled_or_skip(), fastpath.load(pure=True, name=NAME)


# -- the SDP suite, once per implementation --------------------------------------------------
def _load_suite():
    spec = importlib.util.spec_from_file_location("_sip_sdp_suite", HERE / "test_sip_sdp.py")
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
def test_sdp_suite_on_each_implementation(scanner, monkeypatch, case, kwargs):
    monkeypatch.setattr(sdp, "_SCAN", scanner.scan_sdp)
    case(**kwargs)


def test_parse_goes_through_the_selected_scanner(scanner, monkeypatch):
    seen = []

    def spy(text):
        seen.append(text)
        return scanner.scan_sdp(text)

    monkeypatch.setattr(sdp, "_SCAN", spy)
    SessionDescription.parse(b"v=0\r\no=- 1 1 IN IP4 h\r\n")
    assert seen == [b"v=0\r\no=- 1 1 IN IP4 h\r\n"]


def test_selection_follows_the_environment(monkeypatch):
    monkeypatch.setenv("CALLCORE_PURE", "1")
    assert fastpath.load(name=NAME).scan_sdp is fastpath.load(pure=True, name=NAME).scan_sdp


# -- differential ---------------------------------------------------------------------------
def _picture(o):
    """Every field, with its type, down to the leaves."""
    if dataclasses.is_dataclass(o):
        return (
            type(o).__name__,
            tuple((f.name, _picture(getattr(o, f.name))) for f in dataclasses.fields(o)),
        )
    if isinstance(o, (list, tuple)):
        return (type(o).__name__, tuple(_picture(x) for x in o))
    return (type(o).__name__, o)


def _outcome(parse, text):
    try:
        return ("ok", _picture(parse(text)))
    except SdpError as e:
        return ("error", type(e).__name__, e.line, e.reason, str(e))


def _reference(text):
    return SessionDescription.parse_reference(text)


def _seeds() -> list[bytes]:
    spec = importlib.util.spec_from_file_location("_sip_sdp_seeds", HERE / "test_sip_sdp.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    invite = (HERE / "data" / "invite.sip.txt").read_bytes().replace(b"\r\n", b"\n")
    out = [
        invite.split(b"\n\n", 1)[1].replace(b"\n", b"\r\n"),
        mod.BARESIP_OFFER.encode(),
        sdp.make_offer("192.0.2.1", 4000).serialize(),
        sdp.make_offer("2001:db8::1", 4000, codecs=("PCMA", "G722")).serialize(),
        (
            b"v=0\r\no=alice 2890844526 2890844527 IN IP4 host.example.com\r\ns=Talk\r\n"
            b"i=A session\r\nu=http://example.com/s\r\ne=a@example.com\r\np=+1 555 0100\r\n"
            b"c=IN IP4 224.2.17.12/127/3\r\nb=CT:128\r\nt=2873397496 2873404696\r\n"
            b"r=604800 3600 0 90000\r\nz=2882844526 -1h\r\nk=prompt\r\na=recvonly\r\n"
            b"x=unknown\r\nm=audio 49170/2 RTP/AVP 0 31\r\ni=voice\r\nc=IN IP4 10.0.0.1\r\n"
            b"b=AS:64\r\nk=clear:secret\r\na=rtpmap:31 LPC\r\na=maxptime:40\r\nY=odd\r\n"
            b"m=video 0 RTP/AVP 31\r\nm=application 9 UDP/BFCP *\r\n"
        ),
    ]
    torture = SHARED / "sip-torture"
    if torture.is_dir():
        for path in sorted(torture.glob("*.dat")):
            try:
                msg = parse_message(path.read_bytes())
            except ValueError:
                continue
            if msg.body.startswith(b"v="):
                out.append(msg.body)
    return out


SEEDS = _seeds()
ALPHABET = b" \t\r\n=:/.-+0123456789aAvomcbtrskiIPN4\x00\x1c\x7f\xc3\xa9\xff"
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


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(), as_text=st.booleans())
def test_twins_and_reference_agree_on_mutated_bodies(both, data, as_text):
    fast, pure = both
    text: str | bytes = data
    if as_text:
        text = data.decode("utf-8", "replace")
    want = _outcome(_reference, text)
    assert _outcome(fast.scan_sdp, text) == want
    assert _outcome(pure.scan_sdp, text) == want


def test_twins_agree_on_every_seed_with_each_line_dropped_or_doubled(both):
    fast, pure = both
    for seed in SEEDS:
        lines = seed.split(b"\r\n")
        variants = [seed]
        for i in range(len(lines)):
            variants.append(b"\r\n".join(lines[:i] + lines[i + 1 :]))
            variants.append(b"\r\n".join(lines[: i + 1] + lines[i:]))
        for data, as_text in itertools.product(variants, (False, True)):
            text = data.decode("utf-8", "replace") if as_text else data
            want = _outcome(_reference, text)
            assert _outcome(fast.scan_sdp, text) == want, data[:80]
            assert _outcome(pure.scan_sdp, text) == want, data[:80]


HEAD = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
EDGES = [
    "",
    "\r\n\r\n",
    "v=0",
    "o=- 1 1 IN IP4 h\r\n",  # no v= first
    "\r\no=- 1 1 IN IP4 h\r\n",  # a blank first line skips the v= check
    "v=0\no=- 1 1 IN IP4 h\n",
    "v=0\ro=- 1 1 IN IP4 h\rs=x\r",
    "v=0\r\r\no=- 1 1 IN IP4 h\n\r",
    "v=0   \r\no=-   1  1 IN IP4 h   \r\n",
    " v=0\r\no=- 1 1 IN IP4 h\r\n",
    "v= 0 \r\no=- 1 1 IN IP4 h\r\n",
    "v=1\r\no=- 1 1 IN IP4 h\r\n",
    "v=0\r\no=- +1 -1 IN IP4 h\r\n",  # int() takes signs: the reference decides
    "v=0\r\no=- 1_0 1 IN IP4 h\r\n",
    "v=0\r\no=- 123456789012345678901234567890 1 IN IP4 h\r\n",
    "v=0\r\no=- 1 1 IN IP4\r\n",
    "v=0\r\no=- x 1 IN IP4 h\r\n",
    "v=0\r\no=-\t1 1 IN IP4 h\r\n",
    "v=0\r\no=- 1 1 IN IP4 h\x1c\r\n",
    "v=0\r\no=- 1 1 IN IP4 h\r\ns=caf\u00e9\r\n",
    "v=0\r\no=- 1 1 IN IP4 h\r\ns=\x00\x01\r\n",
    HEAD + "c=IN IP4 0.0.0.0\r\n",
    HEAD + "c=IN IP4 255.255.255.255\r\n",
    HEAD + "c=IN IP4 256.1.1.1\r\n",
    HEAD + "c=IN IP4 01.2.3.4\r\n",
    HEAD + "c=IN IP4 0.0.0.00\r\n",
    HEAD + "c=IN IP4 1234.1.1.1\r\n",
    HEAD + "c=IN IP4 1..2.3\r\n",
    HEAD + "c=IN IP4 1.2.3\r\n",
    HEAD + "c=IN IP4 1.2.3.4.5\r\n",
    HEAD + "c=IN IP4 224.2.1.1/127/3\r\n",
    HEAD + "c=IN IP4 999.2.1.1/127\r\n",
    HEAD + "c=IN ip4 host.example.com\r\n",
    HEAD + "c=IN IP6 2001:db8::1\r\n",
    HEAD + "c=IN IP6 2001:db8::zz\r\n",
    HEAD + "c=IN ip6 ff15::101/3\r\n",
    HEAD + "c=IN X25 somewhere/1\r\n",
    HEAD + "c=IN IP4\r\n",
    HEAD + "c=IN IP4 1.2.3.4 extra\r\n",
    HEAD + "t=0 0\r\nr=7d 1h 0 25h\r\nt=1 2\r\nr=x\r\n",
    HEAD + "r=too early\r\n",
    HEAD + "t=0\r\n",
    HEAD + "t=-1 0\r\n",
    HEAD + "m=audio 40000 RTP/AVP 0\r\n",
    HEAD + "m=audio 0000040000 RTP/AVP 0\r\n",
    HEAD + "m=audio 65535 RTP/AVP\r\n",
    HEAD + "m=audio 65536 RTP/AVP 0\r\n",
    HEAD + "m=audio 99999999999999999999 RTP/AVP 0\r\n",
    HEAD + "m=audio 4000/2 RTP/AVP 0\r\n",
    HEAD + "m=audio 4000/ RTP/AVP 0\r\n",
    HEAD + "m=audio 4000/2/3 RTP/AVP 0\r\n",
    HEAD + "m=audio 4000/99999999999999999999999 RTP/AVP 0\r\n",
    HEAD + "m=audio /2 RTP/AVP 0\r\n",
    HEAD + "m=audio x RTP/AVP 0\r\n",
    HEAD + "m=audio 4000\r\n",
    HEAD + "m=audio   4000   RTP/AVP   0   8  \r\n",
    HEAD + "m=audio 4000 RTP/AVP 0\r\no=- 1 1 IN IP4 h\r\n",
    HEAD + "m=audio 4000 RTP/AVP 0\r\nV=upper\r\nM=upper\r\nA=upper\r\n",
    HEAD + "m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 31\r\nc=IN IP4 1.1.1.1\r\n",
    HEAD + "a=\r\n",
    HEAD + "a=:x\r\n",
    HEAD + "a=sendrecv\r\na=label:\r\na=x:y:z\r\n",
    HEAD + "a=rtpmap\r\n",
    HEAD + "a=rtpmap:\r\n",
    HEAD + "a=rtpmap:0\r\n",
    HEAD + "a=rtpmap:0 \r\n",
    HEAD + "a=rtpmap:0 PCMU\r\n",
    HEAD + "a=rtpmap:0 PCMU/\r\n",
    HEAD + "a=rtpmap:0 PCMU/x\r\n",
    HEAD + "a=rtpmap:0 /8000\r\n",
    HEAD + "a=rtpmap:0  PCMU/8000\r\n",
    HEAD + "a=rtpmap:0 PCMU/8000/2/9\r\n",
    HEAD + "a=RTPMAP:x PCMU/8000\r\n",
    HEAD + "a=rtpmap:96 opus/48000/2\r\n",
    HEAD + "a=ptime:20\r\na=maxptime:40\r\n",
    HEAD + "a=ptime\r\n",
    HEAD + "a=ptime:\r\n",
    HEAD + "a=ptime:20.5\r\n",
    HEAD + "a=PTime:1e3\r\n",
    HEAD + "a=ptime:x\r\n",
    HEAD + "a=maxptime: 40\r\n",
    HEAD + "1=x\r\n",
    HEAD + "=x\r\n",
    HEAD + "x\r\n",
    HEAD + "q=\r\n",
    HEAD + "s=second\r\ni=\r\nu=\r\nz=\r\nk=\r\n",
    "v=0\r\ns=no origin\r\n",
]


@pytest.mark.parametrize("text", EDGES, ids=range(len(EDGES)))
def test_edge_cases_agree(both, text):
    fast, pure = both
    for value in (text, text.encode()):
        want = _outcome(_reference, value)
        assert _outcome(fast.scan_sdp, value) == want
        assert _outcome(pure.scan_sdp, value) == want


def test_other_input_types_take_the_reference_path(scanner):
    for value in (bytearray(b"v=0\r\n"), memoryview(b"v=0\r\n"), None, 5):
        try:
            want = ("ok", _picture(_reference(value)))
        except Exception as e:  # whatever the reference raises
            want = ("raise", type(e))
        try:
            got = ("ok", _picture(scanner.scan_sdp(value)))
        except Exception as e:
            got = ("raise", type(e))
        assert got == want


def test_invalid_utf8_is_the_references_error(scanner):
    assert _outcome(scanner.scan_sdp, b"v=0\r\ns=\xff\r\n") == _outcome(
        _reference, b"v=0\r\ns=\xff\r\n"
    )


def test_results_are_fresh_objects(scanner):
    body = SEEDS[0]
    a, b = scanner.scan_sdp(body), scanner.scan_sdp(body)
    assert a == b and a is not b
    a.media[0].attributes.append(sdp.Attribute("x"))
    a.timing[0].repeats.append("1")
    a.media[0].formats.append("9")
    assert b == scanner.scan_sdp(body)


def test_subclasses_parse_with_the_reference():
    class Mine(SessionDescription):
        __slots__ = ()

    assert type(Mine.parse(SEEDS[0])) is Mine
